"""Retention and destruction of recorded video (PIPA 보관기간·파기), and the disk low-water alarm.

`run_retention()` (`gwanje video retention`, hourly by deploy/gwanje-video-retention.timer):

- For each camera, the segments whose `end` is older than now − the camera's `retention_days` are
  irreversibly deleted — except every segment overlapping an unreleased legal hold of that camera
  (released_at is null, whatever its expires_at: an expired hold is flagged for review, never
  released automatically).
- Per camera and run, in ONE transaction: the camera row is locked (place_hold locks it too), the
  holds are read, one DestructionRecord (period = min start .. max end of what was deleted, segment
  count, bytes, executed_at, executed_by "system job") is written and the Segment rows are deleted,
  with the recording sessions left without segments (and old sessions that never had one).
- The storage objects (segments, and the init segments of deleted sessions) are deleted after the
  rows commit. Their keys are first written to a journal (VIDEO_DIR/retention-pending.txt); a key
  whose object cannot be deleted stays there and is retried on the next run (and reported). A key
  that is still referenced by a row (a transaction that rolled back) is never deleted from the
  journal's side.
- Disk (gwanje.video.disk, re-exported here): before and after, the store's free space is compared
  with DISK_LOW_WATER_PERCENT. Below it, a `disk_low` VideoAlarm is opened (one open at a time;
  cleared when free again). Above the critical mark nothing inside its retention period is deleted
  to make room: if the disk is still low after the expired video is gone, a `retention_blocked`
  alarm is opened and operators must act.
- Disk full (`make_room()`; the recorder calls it every few seconds, the job after its run): below
  DISK_CRITICAL_PERCENT the video whose retention period ends soonest (the oldest, for cameras with
  the same period) is deleted even inside its retention period — never video under a legal hold —
  until free space is back above the mark (+ 1 point), so the newest video keeps being recorded.
  Never silently: each camera's deletion has its DestructionRecord (reason `disk_full`) and the
  `disk_full` alarm is raised (it stays open until the disk is above the low-water mark again). When
  only held video is left, the alarm says so and nothing more is deleted.

One run at a time (a lock file next to the journal).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import heapq
import logging
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from gwanje.video.choices import AlarmKind, DestructionReason
from gwanje.video.disk import (  # noqa: F401 - the disk check is part of this module's interface
    ROOM_HYSTERESIS_PERCENT,
    DiskState,
    check_disk,
    clear_alarm,
    disk_state,
    open_alarm,
    size_text,
)
from gwanje.video.models import DestructionRecord, LegalHold, RecordingSession, Segment
from gwanje.video.storage import SegmentStore, default_store

log = logging.getLogger("gwanje.video.retention")

EXECUTED_BY = "system job"
EXPORT_KEEP = dt.timedelta(hours=1)  # exported clips left behind under VIDEO_DIR/exports are removed
CHUNK = 500  # rows per DELETE … WHERE id IN (…)
ROOM_ROUNDS = 10  # measure, delete, measure again: at most this many times per make_room()


class RetentionBusy(RuntimeError):
    """Another retention run holds the lock."""


# --- the pending-deletion journal -------------------------------------------------------------
def _journal_path() -> Path:
    return Path(settings.VIDEO_DIR) / "retention-pending.txt"


def _read_journal() -> list[str]:
    try:
        text = _journal_path().read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return list(dict.fromkeys(k for k in text.splitlines() if k.strip()))


def _write_journal(keys: list[str]) -> None:
    path = _journal_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not keys:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write("".join(k + "\n" for k in dict.fromkeys(keys)))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def pending_deletions() -> list[str]:
    """Storage keys whose rows are gone but whose objects could not be deleted yet."""
    return _read_journal()


@contextlib.contextmanager
def _run_lock() -> Iterator[None]:
    path = Path(settings.VIDEO_DIR) / "retention.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RetentionBusy("another retention run is in progress") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _referenced(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), CHUNK):
        chunk = keys[i : i + CHUNK]
        found.update(Segment.objects.filter(key__in=chunk).values_list("key", flat=True))
        found.update(RecordingSession.objects.filter(init_key__in=chunk).values_list("init_key", flat=True))
    return found


def _delete_objects(store: SegmentStore, keys: list[str]) -> tuple[int, dict[str, str]]:
    """Delete the objects of `keys` that no row references (a key still referenced comes from a
    transaction that rolled back: it is dropped from the journal, never deleted). The journal keeps
    exactly the keys that failed. Returns (deleted, {key: error})."""
    keys = list(dict.fromkeys(keys))
    live = _referenced(keys)
    deleted, failed, done = 0, {}, set(live)
    for key in keys:
        if key in live:
            continue
        try:
            store.delete(key)
        except Exception as e:  # noqa: BLE001 - any store error: keep the key for the next run
            failed[key] = f"{type(e).__name__}: {e}"
            log.error("retention: cannot delete %s (%s); retried next run", key, failed[key])
        else:
            deleted += 1
            done.add(key)
    _write_journal([k for k in _read_journal() if k not in done])
    return deleted, failed


def sweep_exports() -> int:
    """Remove exported clips (VIDEO_DIR/exports/gwanje-export-*) older than EXPORT_KEEP: a download
    view removes its clip once served; this catches any left behind (exports are personal data)."""
    import shutil

    root = Path(settings.VIDEO_DIR) / "exports"
    if not root.is_dir():
        return 0
    limit = time.time() - EXPORT_KEEP.total_seconds()  # file times: the real clock
    removed = 0
    for folder in root.glob("gwanje-export-*"):
        try:
            if folder.is_dir() and folder.stat().st_mtime < limit:
                shutil.rmtree(folder)
                removed += 1
        except OSError as e:
            log.error("retention: cannot remove the old export %s: %s", folder, e)
    return removed


# --- retention ----------------------------------------------------------------------------------
@dataclass
class CameraResult:
    camera_id: int
    label: str
    retention_days: int
    cutoff: dt.datetime
    segments: int = 0
    bytes: int = 0
    period_start: dt.datetime | None = None
    period_end: dt.datetime | None = None
    held: int = 0  # expired segments kept by a legal hold
    sessions: int = 0  # recording sessions deleted with them
    record_id: int | None = None
    reason: str = DestructionReason.RETENTION_EXPIRED

    def describe(self, dry_run: bool = False) -> str:
        verb = "would delete" if dry_run else "deleted"
        text = f"camera {self.camera_id} {self.label} (retention {self.retention_days} d): "
        if self.segments:
            local = timezone.localtime
            text += (
                f"{verb} {self.segments} segment(s), {self.bytes:,} bytes, "
                f"{local(self.period_start):%Y-%m-%d %H:%M:%S}–{local(self.period_end):%Y-%m-%d %H:%M:%S}"
            )
            if self.reason == DestructionReason.DISK_FULL:
                text += ", INSIDE its retention period (disk full)"
            if self.record_id:
                text += f", destruction record #{self.record_id}"
        else:
            text += f"nothing {verb.split()[-1]}"
        if self.sessions:
            text += f", {self.sessions} recording session(s)"
        if self.held:
            text += f"; {self.held} expired segment(s) kept under legal hold"
        return text


@dataclass
class RetentionReport:
    now: dt.datetime
    dry_run: bool
    cameras: list[CameraResult] = field(default_factory=list)
    disk_before: DiskState | None = None
    disk_after: DiskState | None = None
    blocked_alarm_opened: bool = False
    objects_deleted: int = 0
    exports_removed: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # key -> error (retried next run)
    holds_due: list[LegalHold] = field(default_factory=list)  # expired, unreleased: review them
    room: RoomReport | None = None  # the disk was full: what was deleted inside retention

    @property
    def segments(self) -> int:
        return sum(c.segments for c in self.cameras)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.cameras)

    @property
    def held(self) -> int:
        return sum(c.held for c in self.cameras)


def _hold_overlap(holds: list[LegalHold]) -> Q | None:
    if not holds:
        return None
    overlap = Q()
    for h in holds:
        overlap |= Q(start__lt=h.end, end__gt=h.start)
    return overlap


def _empty_sessions(camera_id: int, cutoff: dt.datetime, touched: set[int]):
    """Sessions with no segment left: those just emptied, and old ones that never had any (an ffmpeg
    run that failed before its first segment) — their init segments go with them."""
    return (
        RecordingSession.objects.filter(camera_id=camera_id)
        .filter(Q(pk__in=touched) | Q(started_at__lt=cutoff))
        .filter(~Exists(Segment.objects.filter(session=OuterRef("pk"))))
    )


def _camera(
    camera_id: int, label: str, days: int, now: dt.datetime, dry_run: bool
) -> tuple[CameraResult, list]:
    """One camera, in one transaction; returns its result and the storage keys to delete."""
    from gwanje.registry.models import Camera

    cutoff = now - dt.timedelta(days=days)
    result = CameraResult(camera_id, label, days, cutoff)
    with transaction.atomic():
        if not dry_run:
            Camera.objects.select_for_update().filter(pk=camera_id).first()  # see gwanje.video.holds
        overlap = _hold_overlap(list(LegalHold.objects.filter(camera_id=camera_id, released_at__isnull=True)))
        expired = Segment.objects.filter(camera_id=camera_id, end__lt=cutoff)
        if overlap is not None:
            result.held = expired.filter(overlap).count()
            expired = expired.exclude(overlap)
        rows = list(expired.order_by("start").values_list("id", "key", "session_id", "start", "end", "bytes"))
        if rows:
            result.segments = len(rows)
            result.period_start = min(r[3] for r in rows)
            result.period_end = max(r[4] for r in rows)
            result.bytes = sum(r[5] for r in rows)
        touched = {r[2] for r in rows}
        if dry_run:
            kept = Q(end__gte=cutoff) if overlap is None else Q(end__gte=cutoff) | overlap
            remaining = Segment.objects.filter(session=OuterRef("pk")).filter(kept)
            result.sessions = (
                RecordingSession.objects.filter(camera_id=camera_id)
                .filter(Q(pk__in=touched) | Q(started_at__lt=cutoff))
                .filter(~Exists(remaining))
                .count()
            )
            return result, []
        if not rows and not _empty_sessions(camera_id, cutoff, set()).exists():
            return result, []
        keys = _destroy(result, rows, _empty_sessions(camera_id, cutoff, touched))
    return result, keys


def _destroy(result: CameraResult, rows: list[tuple], empty_sessions) -> list[str]:
    """Inside the camera's transaction: the destruction record, the Segment rows (`rows`: id, key,
    …), the sessions `empty_sessions` selects once they are gone; the keys journalled and returned."""
    if rows:
        result.record_id = DestructionRecord.objects.create(
            camera_id=result.camera_id,
            period_start=result.period_start,
            period_end=result.period_end,
            segment_count=result.segments,
            bytes=result.bytes,
            executed_at=timezone.now(),
            executed_by=EXECUTED_BY,
            reason=result.reason,
        ).pk
    ids = [r[0] for r in rows]
    for i in range(0, len(ids), CHUNK):
        Segment.objects.filter(pk__in=ids[i : i + CHUNK]).delete()
    empty = list(empty_sessions.values_list("id", "init_key"))
    result.sessions = len(empty)
    for i in range(0, len(empty), CHUNK):
        RecordingSession.objects.filter(pk__in=[s[0] for s in empty[i : i + CHUNK]]).delete()
    keys = [r[1] for r in rows] + [k for _id, k in empty if k]
    # Journal the keys before the rows commit: a crash after the commit leaves them to retry.
    _write_journal(_read_journal() + keys)
    return keys


def run_retention(
    *, now: dt.datetime | None = None, dry_run: bool = False, store: SegmentStore | None = None
) -> RetentionReport:
    """Delete what is past each camera's retention period (see the module docstring)."""
    from gwanje.registry.models import Camera

    store = store or default_store()
    now = now or timezone.now()
    report = RetentionReport(now=now, dry_run=dry_run)
    lock = contextlib.nullcontext() if dry_run else _run_lock()
    with lock:
        report.disk_before = disk_state(store) if dry_run else check_disk(store, now)
        if report.disk_before.low:
            log.warning(
                "retention: recording disk low (%s); only video past its retention period is deleted",
                report.disk_before.describe(),
            )
        if not dry_run and _read_journal():
            deleted, failed = _delete_objects(store, _read_journal())  # earlier runs' leftovers
            report.objects_deleted += deleted
            report.failed.update(failed)
        cameras = Camera.objects.select_related("site").order_by("pk")
        for cam in cameras.only("pk", "number", "retention_days", "site__code"):
            cutoff = now - dt.timedelta(days=cam.retention_days)
            if not (
                Segment.objects.filter(camera_id=cam.pk, end__lt=cutoff).exists()
                or _empty_sessions(cam.pk, cutoff, set()).exists()
            ):
                continue
            result, keys = _camera(cam.pk, f"{cam.site.code}-{cam.number}", cam.retention_days, now, dry_run)
            if result.segments or result.sessions or result.held:
                report.cameras.append(result)
                if not dry_run and result.segments:
                    log.info("retention: %s", result.describe())
            if not dry_run and keys:
                deleted, failed = _delete_objects(store, keys)
                report.objects_deleted += deleted
                report.failed.update(failed)
        if not dry_run:
            report.exports_removed = sweep_exports()
        report.holds_due = list(
            LegalHold.objects.filter(released_at__isnull=True, expires_at__lt=now)
            .select_related("camera__site", "owner")
            .order_by("expires_at")
        )
        for hold in report.holds_due:
            log.warning("legal hold #%s is past its review date %s: review it", hold.pk, hold.expires_at)
        if dry_run:
            report.disk_after = report.disk_before
            return report
        report.room = _make_room(store, now)
        report.cameras += report.room.cameras
        report.objects_deleted += report.room.objects_deleted
        report.failed.update(report.room.failed)
        report.disk_after = check_disk(store)
        if report.disk_after.low:
            detail = (
                "Recording disk still low after retention; video inside its retention period is only "
                "deleted below the critical mark: " + report.disk_after.describe()
            )
            report.blocked_alarm_opened = open_alarm(AlarmKind.RETENTION_BLOCKED, detail)
            log.error("retention: %s", detail)
    return report


# --- disk full: room inside the retention period ------------------------------------------------
@dataclass(frozen=True, order=True)
class Candidate:
    """A segment that may be deleted to make room; the one whose retention ends soonest goes first."""

    due: dt.datetime  # end + the camera's retention period
    segment_id: int
    camera_id: int
    bytes: int


_FIRST_PAGE, _PAGE = 20, 500


def _camera_candidates(camera_id: int, days: int, overlap: Q | None) -> Iterator[Candidate]:
    """The camera's segments outside its legal holds, oldest first, read a page at a time."""
    qs = Segment.objects.filter(camera_id=camera_id)
    if overlap is not None:
        qs = qs.exclude(overlap)
    keep = dt.timedelta(days=days)
    after: tuple[dt.datetime, int] | None = None
    while True:
        page = qs if after is None else qs.filter(Q(start__gt=after[0]) | Q(start=after[0], pk__gt=after[1]))
        size = _FIRST_PAGE if after is None else _PAGE  # every camera's first page is read at once
        rows = list(page.order_by("start", "pk").values_list("pk", "start", "end", "bytes")[:size])
        for pk, _start, end, nbytes in rows:
            yield Candidate(end + keep, pk, camera_id, nbytes)
        if len(rows) < size:
            return
        after = (rows[-1][1], rows[-1][0])


def purge_order() -> Iterator[Candidate]:
    """Every segment that is not under an unreleased legal hold, in the order a full disk deletes
    them: the one whose retention period ends soonest first — for cameras with the same retention
    period, simply the oldest; a camera kept 90 days loses its day-89 video when a 30-day camera
    loses its day-29 video, not before the 30-day camera has lost anything."""
    from gwanje.registry.models import Camera

    holds: dict[int, list[LegalHold]] = defaultdict(list)
    for hold in LegalHold.objects.filter(released_at__isnull=True):
        holds[hold.camera_id].append(hold)
    recorded = Camera.objects.filter(Exists(Segment.objects.filter(camera_id=OuterRef("pk"))))
    streams = [
        _camera_candidates(pk, days, _hold_overlap(holds.get(pk, [])))
        for pk, days in recorded.order_by("pk").values_list("pk", "retention_days")
    ]
    return heapq.merge(*streams)


def choose_for_room(candidates: Iterable[Candidate], need: int, limit: int | None = None) -> list[Candidate]:
    """The first candidates (in their order) whose bytes add up to `need`, at most `limit` of them."""
    chosen: list[Candidate] = []
    total = 0
    for candidate in candidates:
        if total >= need or (limit is not None and len(chosen) >= limit):
            break
        chosen.append(candidate)
        total += candidate.bytes
    return chosen


@dataclass
class RoomReport:
    disk_before: DiskState
    disk_after: DiskState | None = None
    cameras: list[CameraResult] = field(default_factory=list)
    objects_deleted: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    only_held_left: bool = False  # still full, and nothing left that may be deleted
    alarm_opened: bool = False

    @property
    def segments(self) -> int:
        return sum(c.segments for c in self.cameras)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.cameras)

    def alarm_detail(self) -> str:
        disk = (self.disk_after or self.disk_before).describe()
        if not self.segments:
            return (
                "Recording disk full and nothing is left that may be deleted (only video under legal "
                f"hold): nothing more is deleted; add space or release holds. {disk}"
            )
        local = timezone.localtime
        first = min(c.period_start for c in self.cameras if c.period_start)
        last = max(c.period_end for c in self.cameras if c.period_end)
        records = sorted(c.record_id for c in self.cameras if c.record_id)
        numbers = f"#{records[0]}" + (f"–#{records[-1]}" if len(records) > 1 else "")
        period = f"{local(first):%Y-%m-%d %H:%M}–{local(last):%Y-%m-%d %H:%M}"
        text = (
            f"Recording disk full: {self.segments} segment(s) ({size_text(self.bytes)}) of "
            f"{len(self.cameras)} camera(s), recorded {period}, deleted inside their retention period "
            f"to keep recording (destruction record {numbers})"
        )
        if self.only_held_left:
            text += "; only video under legal hold is left"
        return f"{text}. {disk}"


def make_room(
    store: SegmentStore | None = None, *, now: dt.datetime | None = None, limit: int | None = None
) -> RoomReport:
    """The disk-full policy (see the module docstring): below the critical mark, delete the video
    whose retention ends soonest, never under a legal hold, until free space is back above the mark
    + ROOM_HYSTERESIS_PERCENT (or `limit` segments were deleted: the recorder goes on at its next
    check). Each camera gets a DestructionRecord (reason disk_full) and the disk_full alarm is raised.
    Above the mark it does nothing (and takes no lock). RetentionBusy while a retention run holds
    the lock."""
    store = store or default_store()
    state = disk_state(store)
    if not state.critical:
        return RoomReport(disk_before=state, disk_after=state)
    with _run_lock():
        return _make_room(store, now or timezone.now(), limit)


def _make_room(store: SegmentStore, now: dt.datetime, limit: int | None = None) -> RoomReport:
    state = disk_state(store)
    report = RoomReport(disk_before=state)
    if not state.critical:
        return report
    log.error("recording disk full (%s): deleting the oldest video inside its retention", state.describe())
    deleted = 0
    for _round in range(ROOM_ROUNDS):
        budget = None if limit is None else limit - deleted
        if budget is not None and budget <= 0:
            break
        chosen = choose_for_room(purge_order(), state.room_target - state.free, budget)
        if not chosen:
            report.only_held_left = True
            break
        by_camera: dict[int, list[int]] = defaultdict(list)
        for c in chosen:
            by_camera[c.camera_id].append(c.segment_id)
        for camera_id, ids in sorted(by_camera.items()):
            result, keys = _purge_camera(camera_id, ids, now)
            if result.segments:
                report.cameras.append(result)
                deleted += result.segments
                log.error("disk full: %s", result.describe())
            if keys:
                n, failed = _delete_objects(store, keys)
                report.objects_deleted += n
                report.failed.update(failed)
        state = disk_state(store)
        if not state.known or state.free >= state.room_target:
            break
    report.disk_after = state
    if report.segments or (report.only_held_left and state.critical):
        report.alarm_opened = open_alarm(AlarmKind.DISK_FULL, report.alarm_detail(), now)
        if report.only_held_left:
            log.error("disk full: only video under legal hold is left; nothing more is deleted")
    return report


def _purge_camera(camera_id: int, ids: list[int], now: dt.datetime) -> tuple[CameraResult, list[str]]:
    """Delete the camera's segments `ids` (chosen by make_room) in one transaction, except any a
    legal hold placed since then protects; the record's reason is disk_full."""
    from gwanje.registry.models import Camera

    camera = Camera.objects.select_related("site").get(pk=camera_id)
    days = camera.retention_days
    result = CameraResult(
        camera_id, f"{camera.site.code}-{camera.number}", days, now - dt.timedelta(days=days),
        reason=DestructionReason.DISK_FULL,
    )  # fmt: skip
    with transaction.atomic():
        Camera.objects.select_for_update().filter(pk=camera_id).first()  # see gwanje.video.holds
        overlap = _hold_overlap(list(LegalHold.objects.filter(camera_id=camera_id, released_at__isnull=True)))
        rows = []
        for i in range(0, len(ids), CHUNK):
            qs = Segment.objects.filter(camera_id=camera_id, pk__in=ids[i : i + CHUNK])
            if overlap is not None:
                qs = qs.exclude(overlap)
            rows += qs.values_list("id", "key", "session_id", "start", "end", "bytes")
        if not rows:
            return result, []
        rows.sort(key=lambda r: r[3])
        result.segments = len(rows)
        result.period_start, result.period_end = rows[0][3], max(r[4] for r in rows)
        result.bytes = sum(r[5] for r in rows)
        # Sessions emptied by this, unless still being recorded (the recorder adds to them).
        empty = RecordingSession.objects.filter(pk__in={r[2] for r in rows}, ended_at__isnull=False).filter(
            ~Exists(Segment.objects.filter(session=OuterRef("pk")))
        )
        keys = _destroy(result, rows, empty)
    return result, keys
