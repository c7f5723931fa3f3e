"""Retention and destruction (PIPA 보관기간·파기): real fMP4 segments made by ffmpeg, indexed into a
temporary segment store; `run_retention` / `gwanje video retention` delete exactly the expired
ones (rows and objects), write one destruction record per camera, spare legal holds, and raise the
disk alarms without deleting video inside its retention period — until the disk is full (below the
critical mark): then `make_room` deletes the video due soonest, never held video, with a
destruction record (reason disk_full) and an alarm. The disk-full policy is tested here on a store
of fixed capacity (runs everywhere) and in test_recorder_faults.py on a real, full tmpfs."""

from __future__ import annotations

import datetime as dt
import io
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from gwanje.accounts.roles import Role
from gwanje.registry import services as registry
from gwanje.registry.models import Camera
from gwanje.video import holds, retention
from gwanje.video.choices import AlarmKind, DestructionReason
from gwanje.video.models import DestructionRecord, LegalHold, RecordingSession, Segment, VideoAlarm
from gwanje.video.storage import LocalStore, default_store
from tests.video.recording import fill
from tests.video.segments import index_clip, shared_clip

DAY = dt.timedelta(days=1)
S = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def video_dir(settings, tmp_path):
    settings.VIDEO_DIR = tmp_path / "video"
    settings.DISK_LOW_WATER_PERCENT = 0  # a full test machine must not change the outcome
    settings.DISK_CRITICAL_PERCENT = 0
    return settings.VIDEO_DIR


@pytest.fixture
def clip():
    return shared_clip()  # 15 segments of 2 s


@pytest.fixture
def cameras(seongdong):
    found = list(
        Camera.objects.filter(site__has_onsite_storage=False).select_related("site").order_by("pk")[:2]
    )
    for cam, days in zip(found, (30, 7), strict=True):
        cam.retention_days = days
        registry.save_camera(cam)
    return found


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


def exists(key: str) -> bool:
    return default_store().local_path(key).exists()


def keys(segments) -> list[str]:
    return [s.key for s in segments]


def test_deletes_exactly_the_expired_segments_and_records_the_destruction(cameras, clip, now):
    cam, short = cameras
    cutoff = now - 30 * DAY
    old_session, old = index_clip(cam, clip, cutoff - 2 * DAY, count=5)  # long expired
    straddle_session, straddle = index_clip(cam, clip, cutoff - 4 * S, count=4)  # 2 expired, 2 not
    recent_session, recent = index_clip(cam, clip, now - DAY, count=3)
    _s, short_old = index_clip(short, clip, now - 8 * DAY, count=2)  # past 7 days
    _s, short_new = index_clip(short, clip, now - 6 * DAY, count=2)
    old_init = old_session.init_key
    assert exists(old_init) and all(exists(k) for k in keys(old))

    report = retention.run_retention(now=now)

    assert straddle[1].end == cutoff  # ends exactly at the cutoff: not older than it, kept
    expired = old + straddle[:1]
    kept = straddle[1:] + recent + short_new
    assert set(Segment.objects.filter(camera__in=cameras).values_list("key", flat=True)) == set(keys(kept))
    assert not any(exists(k) for k in keys(expired + short_old))
    assert all(exists(k) for k in keys(kept))
    # The emptied session goes with its init segment; the others stay.
    assert not RecordingSession.objects.filter(pk=old_session.pk).exists()
    assert not exists(old_init)
    assert RecordingSession.objects.filter(pk__in=[straddle_session.pk, recent_session.pk]).count() == 2

    record = DestructionRecord.objects.get(camera=cam)
    assert record.segment_count == len(expired) == 6
    assert record.bytes == sum(s.bytes for s in expired)
    assert record.period_start == old[0].start
    assert record.period_end == straddle[0].end
    assert record.executed_by == "system job"
    assert abs(record.executed_at - timezone.now()) < dt.timedelta(minutes=5)
    other = DestructionRecord.objects.get(camera=short)
    assert (other.segment_count, other.bytes) == (2, sum(s.bytes for s in short_old))
    assert (other.period_start, other.period_end) == (short_old[0].start, short_old[-1].end)
    assert report.segments == 8 and report.bytes == record.bytes + other.bytes
    assert report.objects_deleted == 8 + 2  # two sessions' init segments (old and short_old's)
    assert not report.failed and not retention.pending_deletions()

    # Nothing more is expired: a second run deletes nothing and writes no record.
    again = retention.run_retention(now=now)
    assert again.segments == 0 and DestructionRecord.objects.filter(camera__in=cameras).count() == 2


def test_dry_run_deletes_nothing(cameras, clip, now):
    cam, _short = cameras
    _s, old = index_clip(cam, clip, now - 40 * DAY, count=3)
    report = retention.run_retention(now=now, dry_run=True)
    assert report.segments == 3 and report.cameras[0].sessions == 1
    assert Segment.objects.filter(camera=cam).count() == 3 and all(exists(k) for k in keys(old))
    assert not DestructionRecord.objects.filter(camera=cam).exists()

    out = io.StringIO()
    call_command("video", "retention", "--dry-run", stdout=out)
    assert "would delete 3 segment(s)" in out.getvalue()
    assert Segment.objects.filter(camera=cam).count() == 3


def test_the_command_deletes_and_reports(cameras, clip, now):
    cam, _short = cameras
    _s, old = index_clip(cam, clip, timezone.now() - 31 * DAY, count=2)
    out = io.StringIO()
    call_command("video", "retention", stdout=out)
    text = out.getvalue()
    assert f"camera {cam.pk} {cam.label} (retention 30 d): deleted 2 segment(s)" in text
    assert "destruction record #" in text
    assert not Segment.objects.filter(camera=cam).exists()


def test_a_legal_hold_protects_its_segments_until_released(cameras, clip, now, make_user):
    cam, _short = cameras
    supervisor = make_user(Role.SUPERVISOR)
    _s, segs = index_clip(cam, clip, now - 40 * DAY, count=10)  # all expired
    # Held: segments overlapping [segs[3].start + 1 s, segs[5].start + 1 s] → 3, 4, 5.
    hold = holds.place_hold(
        supervisor,
        cam,
        segs[3].start + S,
        segs[5].start + S,
        "강도 사건 수사 자료 보존",
        case_number="2026-형제-1234",
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    held = segs[3:6]
    report = retention.run_retention(now=now)
    assert set(Segment.objects.filter(camera=cam).values_list("key", flat=True)) == set(keys(held))
    assert all(exists(k) for k in keys(held))
    assert report.held == 3
    record = DestructionRecord.objects.get(camera=cam)
    assert record.segment_count == 7 and record.bytes == sum(s.bytes for s in segs if s not in held)

    # An expired hold is still in force: flagged for review, never released by the job.
    LegalHold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - S)
    report = retention.run_retention(now=now + DAY)
    assert [h.pk for h in report.holds_due] == [hold.pk]
    assert Segment.objects.filter(camera=cam).count() == 3
    assert DestructionRecord.objects.filter(camera=cam).count() == 1

    holds.release_hold(supervisor, hold)
    report = retention.run_retention(now=now + DAY)
    assert not Segment.objects.filter(camera=cam).exists()
    assert not any(exists(k) for k in keys(held))
    second = DestructionRecord.objects.filter(camera=cam).order_by("-pk").first()
    assert (
        second.segment_count == 3
        and second.period_start == held[0].start
        and second.period_end == held[-1].end
    )
    assert not RecordingSession.objects.filter(camera=cam).exists()


def test_a_hold_of_another_camera_protects_nothing(cameras, clip, now, make_user):
    cam, short = cameras
    supervisor = make_user(Role.SUPERVISOR)
    _s, segs = index_clip(cam, clip, now - 40 * DAY, count=2)
    holds.place_hold(supervisor, short, segs[0].start, segs[-1].end, "다른 카메라 보존")
    retention.run_retention(now=now)
    assert not Segment.objects.filter(camera=cam).exists()


def test_a_file_that_cannot_be_deleted_is_reported_and_retried(cameras, clip, now):
    cam, _short = cameras
    _s, segs = index_clip(cam, clip, now - 40 * DAY, count=3)
    stuck = default_store().local_path(segs[1].key)
    stuck.unlink()
    stuck.mkdir()  # a non-empty directory in its place: unlink() fails, even for root
    (stuck / "x").write_text("x")

    report = retention.run_retention(now=now)
    assert list(report.failed) == [segs[1].key]
    assert retention.pending_deletions() == [segs[1].key]
    assert not Segment.objects.filter(camera=cam).exists()  # the rows and the record are committed
    assert DestructionRecord.objects.get(camera=cam).segment_count == 3
    with pytest.raises(CommandError, match="could not be deleted"):
        call_command("video", "retention", stdout=io.StringIO(), stderr=io.StringIO())

    shutil.rmtree(stuck)
    stuck.write_bytes(b"segment")
    report = retention.run_retention(now=now)
    assert not report.failed and not retention.pending_deletions()
    assert not stuck.exists()


def test_a_journal_key_still_referenced_is_never_deleted(cameras, clip, now):
    """A key journalled by a transaction that rolled back still has its row: it must stay."""
    cam, _short = cameras
    _s, segs = index_clip(cam, clip, now - DAY, count=1)
    retention._write_journal([segs[0].key])
    retention.run_retention(now=now)
    assert exists(segs[0].key) and Segment.objects.filter(pk=segs[0].pk).exists()
    assert retention.pending_deletions() == []


def test_an_old_session_without_segments_goes_with_its_init_segment(cameras, clip, now):
    cam, _short = cameras
    session, segs = index_clip(cam, clip, now - 40 * DAY, count=1)
    Segment.objects.filter(pk=segs[0].pk).delete()  # an ffmpeg run that never finished a segment
    default_store().delete(segs[0].key)
    report = retention.run_retention(now=now)
    assert not RecordingSession.objects.filter(pk=session.pk).exists()
    assert not exists(session.init_key)
    assert report.segments == 0 and not DestructionRecord.objects.filter(camera=cam).exists()


def test_disk_low_raises_alarms_and_deletes_nothing_inside_retention(cameras, clip, now, settings):
    cam, _short = cameras
    _s, old = index_clip(cam, clip, now - 31 * DAY, count=2)
    _s, young = index_clip(cam, clip, now - 29 * DAY, count=3)  # inside retention: must survive
    settings.DISK_LOW_WATER_PERCENT = 101  # always "low"

    report = retention.run_retention(now=now)
    assert report.disk_before.low and report.disk_after.low and report.blocked_alarm_opened
    assert set(Segment.objects.filter(camera=cam).values_list("key", flat=True)) == set(keys(young))
    assert all(exists(k) for k in keys(young)) and not any(exists(k) for k in keys(old))
    open_alarms = VideoAlarm.objects.filter(cleared_at__isnull=True)
    assert sorted(open_alarms.values_list("kind", flat=True)) == [
        AlarmKind.DISK_LOW,
        AlarmKind.RETENTION_BLOCKED,
    ]

    # Another run (and the recorder's check) keep one alarm of each kind open, and delete nothing more.
    retention.run_retention(now=now)
    out = io.StringIO()
    call_command("video", "retention", "--check-disk", stdout=out)
    assert out.getvalue().startswith("disk LOW")
    assert open_alarms.count() == 2 and Segment.objects.filter(camera=cam).count() == 3

    settings.DISK_LOW_WATER_PERCENT = 0
    state = retention.check_disk()
    assert not state.low and state.alarm_cleared
    assert not VideoAlarm.objects.filter(cleared_at__isnull=True).exists()
    assert VideoAlarm.objects.filter(kind=AlarmKind.DISK_LOW, cleared_at__isnull=False).count() == 1


def test_old_exports_are_swept(settings, video_dir):
    import os
    import time

    old = video_dir / "exports" / "gwanje-export-old"
    new = video_dir / "exports" / "gwanje-export-new"
    for folder in (old, new):
        folder.mkdir(parents=True)
        (folder / "clip.mp4").write_bytes(b"x")
    past = time.time() - 2 * 3600
    os.utime(old, (past, past))
    assert retention.sweep_exports() == 1
    assert not old.exists() and new.exists()


def test_bad_arguments_are_clear_errors():
    with pytest.raises(CommandError, match="cannot be combined"):
        call_command("video", "retention", "--check-disk", "--dry-run")


# --- disk full ----------------------------------------------------------------------------------
class FixedSizeDisk(LocalStore):
    """The segment store on a disk of `capacity` bytes: free = capacity − the bytes of the files
    under its root, measured on the real files at every call (where a small file system cannot be
    mounted; test_recorder_faults.py fills a real tmpfs)."""

    def __init__(self, root, capacity: int) -> None:
        super().__init__(root)
        self.capacity = capacity

    def used(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def free_bytes(self) -> int:
        return max(0, self.capacity - self.used())

    def total_bytes(self) -> int:
        return self.capacity


@pytest.fixture
def full_disk(settings):
    """disk(free_percent) → the default store's files on a FixedSizeDisk with that much free;
    low-water mark 50 %, critical mark 30 % (so room is made up to 31 %)."""
    settings.DISK_LOW_WATER_PERCENT = 50
    settings.DISK_CRITICAL_PERCENT = 30

    def disk(free_percent: float) -> FixedSizeDisk:
        store = FixedSizeDisk(default_store().root, 0)
        store.capacity = int(store.used() / (1 - free_percent / 100))
        return store

    return disk


def left(segments) -> list:
    kept = set(Segment.objects.filter(pk__in=[s.pk for s in segments]).values_list("pk", flat=True))
    return [s for s in segments if s.pk in kept]


def test_a_full_disk_deletes_the_video_due_soonest_never_held_video(cameras, clip, now, full_disk, make_user):
    cam, short = cameras  # kept 30 and 7 days
    _s, month = index_clip(cam, clip, now - 20 * DAY)  # 10 days of its retention left
    _s, week = index_clip(short, clip, now - 6 * DAY, count=4)  # 1 day left: due first
    held = week[:2]
    holds.place_hold(make_user(Role.SUPERVISOR), short, held[0].start, held[-1].end, "뺑소니 사건 수사 자료")
    order = week[2:] + month  # the order a full disk deletes in: held video never
    store = full_disk(15)  # making room to 31 % takes the two unheld of week and two of month
    assert retention.disk_state(store).critical

    report = retention.make_room(store, now=now, limit=1)  # the recorder deletes in batches
    assert report.segments == 1 and left(order) == order[1:]
    report = retention.make_room(store, now=now)

    deleted = [s for s in order if s not in left(order)]
    assert len(deleted) >= 3 and deleted == order[: len(deleted)]  # week's unheld, then month's oldest
    assert left(held) == held and all(exists(s.key) for s in held)
    assert not any(exists(s.key) for s in deleted)
    # Back above the mark + 1 point, and no more deleted than that took (the newest video is kept).
    target = store.capacity * 0.31
    assert store.free_bytes() >= target > store.free_bytes() - deleted[-1].bytes
    assert set(DestructionRecord.objects.values_list("reason", flat=True)) == {DestructionReason.DISK_FULL}
    assert [r.segment_count for r in DestructionRecord.objects.filter(camera=short).order_by("pk")] == [1, 1]
    mine = DestructionRecord.objects.get(camera=cam)
    cam_deleted = [s for s in deleted if s.camera_id == cam.pk]
    assert (mine.segment_count, mine.bytes) == (len(cam_deleted), sum(s.bytes for s in cam_deleted))
    assert (mine.period_start, mine.period_end) == (cam_deleted[0].start, cam_deleted[-1].end)
    alarm = VideoAlarm.objects.get(kind=AlarmKind.DISK_FULL, cleared_at__isnull=True)
    assert "deleted inside their retention period" in alarm.detail and f"#{mine.pk}" in alarm.detail
    assert "INSIDE its retention period (disk full)" in report.cameras[-1].describe()
    # Above the mark again: nothing more is deleted; the alarm stays until the disk is above the
    # low-water mark (operators must see that video was lost).
    assert retention.make_room(store, now=now).segments == 0
    retention.check_disk(store)
    assert VideoAlarm.objects.filter(kind=AlarmKind.DISK_FULL, cleared_at__isnull=True).exists()
    store.capacity *= 10
    retention.check_disk(store)
    assert not VideoAlarm.objects.filter(cleared_at__isnull=True).exists()


def test_a_full_disk_with_only_held_video_left_deletes_nothing_more(cameras, clip, now, full_disk, make_user):
    cam, _short = cameras
    _s, segs = index_clip(cam, clip, now - 3 * DAY, count=4)
    holds.place_hold(make_user(Role.SUPERVISOR), cam, segs[0].start, segs[-1].end, "화재 원인 조사 자료")
    store = full_disk(10)
    report = retention.make_room(store, now=now)
    assert report.segments == 0 and report.only_held_left
    assert left(segs) == segs and all(exists(s.key) for s in segs)
    assert not DestructionRecord.objects.exists()
    alarm = VideoAlarm.objects.get(kind=AlarmKind.DISK_FULL, cleared_at__isnull=True)
    assert "only video under legal hold" in alarm.detail
    # The hourly job neither: the alarms stay open, one of each kind.
    report = retention.run_retention(now=now, store=store)
    assert report.segments == 0 and left(segs) == segs
    kinds = VideoAlarm.objects.filter(cleared_at__isnull=True).values_list("kind", flat=True)
    assert sorted(kinds) == sorted([AlarmKind.DISK_FULL, AlarmKind.DISK_LOW, AlarmKind.RETENTION_BLOCKED])


def test_between_the_marks_nothing_inside_retention_is_deleted(cameras, clip, now, full_disk):
    cam, _short = cameras
    _s, segs = index_clip(cam, clip, now - 3 * DAY, count=4)
    store = full_disk(40)  # below the low-water mark (50 %), above the critical one (30 %)
    report = retention.run_retention(now=now, store=store)
    assert report.disk_after.low and not report.disk_after.critical
    assert report.segments == 0 and left(segs) == segs
    assert not VideoAlarm.objects.filter(kind=AlarmKind.DISK_FULL).exists()


def test_the_retention_job_deletes_expired_video_first_then_makes_room(cameras, clip, now, full_disk):
    cam, _short = cameras
    _s, old = index_clip(cam, clip, now - 31 * DAY, count=2)  # expired
    _s, young = index_clip(cam, clip, now - 2 * DAY)
    store = full_disk(5)  # the expired video alone is not enough
    report = retention.run_retention(now=now, store=store)
    assert not left(old) and left(young) and left(young) != young
    expired, full = DestructionRecord.objects.filter(camera=cam).order_by("pk")
    assert (expired.reason, expired.segment_count) == (DestructionReason.RETENTION_EXPIRED, 2)
    assert full.reason == DestructionReason.DISK_FULL
    assert full.segment_count == len(young) - len(left(young)) and full.period_start == young[0].start
    assert store.free_bytes() >= store.capacity * 0.31
    reasons = [c.reason for c in report.cameras]
    assert reasons == [DestructionReason.RETENTION_EXPIRED, DestructionReason.DISK_FULL]


def test_a_hold_placed_after_the_choice_still_wins(cameras, clip, now, make_user):
    cam, _short = cameras
    _s, segs = index_clip(cam, clip, now - 3 * DAY, count=4)
    holds.place_hold(make_user(Role.SUPERVISOR), cam, segs[1].start, segs[1].end, "방금 요청된 보존 조치")
    result, keys = retention._purge_camera(cam.pk, [s.pk for s in segs], now)
    assert result.segments == 3 and left(segs) == [segs[1]] and segs[1].key not in keys


def test_the_command_on_a_really_full_disk(cameras, clip, now, small_disk, settings):
    """The same policy on a real file system (a tmpfs filled by another program), run by the
    hourly command."""
    settings.VIDEO_DIR = small_disk(8)
    settings.DISK_LOW_WATER_PERCENT, settings.DISK_CRITICAL_PERCENT = 50, 30
    cam, _short = cameras
    _s, segs = index_clip(cam, clip, now - 3 * DAY)
    total = retention.disk_state().total
    fill(settings.VIDEO_DIR, leave=int(total * 0.28))
    out, err = io.StringIO(), io.StringIO()
    call_command("video", "retention", stdout=out, stderr=err)
    assert "INSIDE its retention period (disk full)" in out.getvalue()
    assert "ALARM Recording disk full:" in err.getvalue()
    state = retention.disk_state()
    assert state.free >= total * 0.31 and not state.critical
    gone = [s for s in segs if s not in left(segs)]
    assert gone == segs[: len(gone)] and len(gone) < len(segs)  # the oldest, and only as many as needed
    assert not any(exists(s.key) for s in gone)
    assert DestructionRecord.objects.get(camera=cam).reason == DestructionReason.DISK_FULL


def test_the_order_a_full_disk_deletes_in(cameras, clip, now, make_user):
    """Due soonest first (end + the camera's retention period) across cameras, page after page,
    never a segment under a legal hold."""
    cam, short = cameras  # 30 and 7 days
    _s, a = index_clip(cam, clip, now - 20 * DAY)  # due in 10 days
    _s, b = index_clip(cam, clip, now - 19 * DAY)  # due in 11 days (past the first page of 20)
    _s, w = index_clip(short, clip, now - 6 * DAY, count=5)  # due in 1 day
    _s, w2 = index_clip(short, clip, now - 1 * DAY, count=2)  # due in 6 days
    holds.place_hold(
        make_user(Role.SUPERVISOR), cam, a[5].start + S / 4, a[5].end - S / 4, "교통사고 조사 자료"
    )
    expected = w + w2 + a[:5] + a[6:] + b
    assert [c.segment_id for c in retention.purge_order()] == [s.pk for s in expected]
    assert (
        retention.choose_for_room(retention.purge_order(), w[0].bytes + 1, limit=5)
        == list(retention.purge_order())[:2]
    )
