"""One recording session's spool directory → the segment store and the index.

ffmpeg writes `index.m3u8`, `init.mp4` and `seg-NNNNNN.m4s` into a spool directory of its own
(`<spool>/cam-<id>/<token>/`). For every segment the playlist lists (i.e. finished), in order:
its times from stream time, bytes and SHA-256; the file is moved into the store under
`cam-<id>/<yyyy>/<mm>/<dd>/s<session>-<n>.m4s` and a Segment row written. The first segment also
stores the init segment (`…/s<session>-init.mp4`) and creates the RecordingSession, and settles the
gap before it (an open gap is closed at its start; otherwise a jump past the camera's last segment
by more than the tolerance becomes a RecordingGap).

Times: a session's first segment starts at its EXT-X-PROGRAM-DATE-TIME; every later one starts
where the previous one ended (EXTINF durations, stream time), so wall-clock jumps during a session
do not matter. A session whose first time lies before the camera's last indexed end (the clock went
back between sessions) is shifted to start there: segments stay ordered by stream time.

`session.json` in the spool directory lets a restarted recorder finish a session whose recorder
died (`recover_spool`): listed segments still in the spool are indexed, the rest is discarded.

A segment is indexed only when its file is a complete fragment (top-level boxes whose sizes add up
to the file's size, a moof and an mdat): ffmpeg 5.1 does not stop when it cannot write (a full disk)
but goes on listing truncated or empty segments. Such a segment is deleted, counted in
`IngestResult.broken` (the supervisor then stops that ffmpeg), and its time becomes a gap.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from gwanje.video.choices import FaultReason, Stream
from gwanje.video.models import RecordingGap, RecordingSession, Segment
from gwanje.video.recorder.playlist import Entry, parse_playlist
from gwanje.video.storage import SegmentStore

log = logging.getLogger("gwanje.video.recorder")

PLAYLIST = "index.m3u8"
STATE = "session.json"
_CHUNK = 1 << 20


def new_token(now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def sha256_of(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def avc_codec_string(init: bytes) -> str:
    """The RFC 6381 codec of an fMP4 init segment ("avc1.640028"), "hvc1"/"hev1" for H.265, "" if
    unknown."""
    i = init.find(b"avcC")
    if i >= 0 and len(init) >= i + 8:
        profile, compat, level = init[i + 5], init[i + 6], init[i + 7]
        return f"avc1.{profile:02x}{compat:02x}{level:02x}"
    for tag in (b"hvc1", b"hev1"):
        if init.find(tag) >= 0:
            return tag.decode()
    return ""


def box_types(path: Path) -> list[bytes] | None:
    """The types of an MP4 file's top-level boxes, or None when the file is not whole: a box runs
    past the end of the file (written only in part), a size is impossible, or the file is empty."""
    types: list[bytes] = []
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            pos = 0
            while pos < size:
                f.seek(pos)
                header = f.read(16)
                if len(header) < 8:
                    return None
                length, kind = struct.unpack(">I4s", header[:8])
                if length == 1:  # 64-bit size follows
                    if len(header) < 16:
                        return None
                    length = struct.unpack(">Q", header[8:16])[0]
                elif length == 0:  # to the end of the file
                    length = size - pos
                if length < 8 or pos + length > size:
                    return None
                types.append(kind)
                pos += length
    except OSError:
        return None
    return types or None


def complete_fragment(path: Path) -> bool:
    """A whole fMP4 media segment: every box complete, with a moof and an mdat after it."""
    types = box_types(path)
    return bool(types) and b"moof" in types and b"mdat" in types[types.index(b"moof") :]


def complete_init(path: Path) -> bool:
    """A whole fMP4 init segment: every box complete, with a moov."""
    types = box_types(path)
    return bool(types) and b"moov" in types


def seq_of(key: str) -> int:
    """The sequence number in a segment key (`…/s12-000034.m4s` → 34)."""
    return int(key.rsplit("-", 1)[1].split(".", 1)[0])


def key_prefix(camera_id: int, when: dt.datetime) -> str:
    when = when.astimezone(dt.UTC)
    return f"cam-{camera_id}/{when:%Y/%m/%d}"


@dataclass
class IngestResult:
    segments: int = 0
    first_start: dt.datetime | None = None
    last_end: dt.datetime | None = None
    broken: int = 0  # listed segments dropped because their files are incomplete (write failure)


class UnsupportedStream(Exception):
    """The init segment is not H.264: the session must stop (the supervisor raises the fault)."""

    def __init__(self, codec: str) -> None:
        super().__init__(codec)
        self.codec = codec


class SessionIngest:
    """The spool directory of one ffmpeg run, indexed as its playlist grows."""

    def __init__(
        self,
        *,
        camera_id: int,
        directory: Path,
        store: SegmentStore,
        stream: str = Stream.MAIN,
        gap_tolerance: float = 1.5,
        gap_reason: str = "",
        long_segment: float = 60.0,
    ) -> None:
        self.camera_id = camera_id
        self.directory = Path(directory)
        self.store = store
        self.stream = stream
        self.gap_tolerance = dt.timedelta(seconds=gap_tolerance)
        self.gap_reason = gap_reason  # why the previous session ended (for a gap found at the start)
        self.long_segment = long_segment  # seconds; longer segments are logged
        self.session_id: int | None = None
        self.next_seq = 0
        self.last_end: dt.datetime | None = None
        self.offset = dt.timedelta(0)
        self.segments = 0
        self._mtime: tuple[int, int] | None = None
        self._last_start: dt.datetime | None = None
        self.longest = 0.0  # longest segment so far (a camera's key-frame interval can exceed it)
        self.codec = ""
        self.broken = 0  # incomplete segments dropped
        self.recorded_end: dt.datetime | None = None  # end of the last indexed segment
        self._hole_start: dt.datetime | None = None  # start of the dropped segments not yet a gap

    # --- state file --------------------------------------------------------------------------
    def write_state(self) -> None:
        """Write session.json (for recovery after a crash). A full disk only costs the recovery:
        logged, not raised."""
        state = {"camera_id": self.camera_id, "stream": self.stream, "session_id": self.session_id}
        tmp = self.directory / (STATE + ".tmp")
        try:
            tmp.write_text(json.dumps(state))
            os.replace(tmp, self.directory / STATE)
        except OSError as exc:
            log.warning("camera %s: cannot write %s: %s", self.camera_id, tmp.with_name(STATE), exc)

    @classmethod
    def from_state(cls, directory: Path, store: SegmentStore, **kwargs) -> SessionIngest | None:
        try:
            state = json.loads((directory / STATE).read_text())
            camera_id = int(state["camera_id"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        stream = state.get("stream") or Stream.MAIN
        ingest = cls(camera_id=camera_id, directory=directory, store=store, stream=stream, **kwargs)
        session_id = state.get("session_id")
        if session_id:
            session = RecordingSession.objects.filter(pk=session_id, camera_id=camera_id).first()
            if session is not None:
                ingest.session_id = session.pk
                last = Segment.objects.filter(session=session).order_by("-end").first()
                if last is not None:
                    ingest.last_end = ingest.recorded_end = last.end
                    ingest.next_seq = seq_of(last.key) + 1
        return ingest

    # --- scanning ----------------------------------------------------------------------------
    def playlist_changed(self) -> bool:
        try:
            st = (self.directory / PLAYLIST).stat()
        except FileNotFoundError:
            return False
        sig = (st.st_mtime_ns, st.st_size)
        if sig == self._mtime:
            return False
        self._mtime = sig
        return True

    def scan(self, *, force: bool = False) -> IngestResult:
        """Index every finished segment not indexed yet. Safe to call at any time."""
        result = IngestResult()
        if not force and not self.playlist_changed():
            return result
        try:
            text = (self.directory / PLAYLIST).read_text(errors="replace")
        except FileNotFoundError:
            return result
        playlist = parse_playlist(text)
        try:
            self._scan_entries(playlist.entries, result)
        except BaseException:
            self._mtime = None  # look again next time
            raise
        return result

    def _scan_entries(self, entries, result: IngestResult) -> None:
        for entry in entries:
            if entry.seq < self.next_seq:
                continue
            if entry.seq > self.next_seq and self.segments:
                log.error(
                    "camera %s: segments %s–%s left the playlist before they were indexed",
                    self.camera_id,
                    self.next_seq,
                    entry.seq - 1,
                )
            broken = self.broken
            if self._ingest(entry):
                result.segments += 1
                result.first_start = result.first_start or self._last_start
                result.last_end = self.last_end
            result.broken += self.broken - broken
            self.next_seq = entry.seq + 1

    def _ingest(self, entry: Entry) -> bool:
        if "/" in entry.uri or "\\" in entry.uri or entry.uri.startswith("."):
            log.error("camera %s: unexpected segment name %r ignored", self.camera_id, entry.uri)
            return False
        path = self.directory / entry.uri
        if entry.duration <= 0:
            log.warning("camera %s: segment %s has no duration; discarded", self.camera_id, entry.uri)
            path.unlink(missing_ok=True)
            return False
        if entry.duration > self.long_segment:
            log.warning(
                "camera %s: segment %s lasts %.1f s (a long key-frame interval or a time stamp jump)",
                self.camera_id,
                entry.uri,
                entry.duration,
            )
        start = self._start_of(entry)
        end = start + dt.timedelta(seconds=entry.duration)
        if path.is_file() and not (
            complete_fragment(path)
            and (self.session_id is not None or not (self.directory / "init.mp4").exists()
                 or complete_init(self.directory / "init.mp4"))
        ):  # fmt: skip
            self._drop(entry, path, start, end)
            return False
        if not path.is_file():
            # Recovery: moved into the store, but the recorder died before the row was written.
            if self.session_id is None:
                return False
            key = self._key(entry, start)
            if Segment.objects.filter(key=key).exists() or not self._in_store(key):
                return False
            digest, size = self._hash_stored(key)
        else:
            digest, size = sha256_of(path)
        opened = self.session_id is None
        try:
            with transaction.atomic():
                if opened:
                    self._open_session(start)
                if self._hole_start is not None and not opened:  # dropped segments: a gap
                    # (before a session's first segment, _open_session settles the gap instead)
                    hole = RecordingGap(camera_id=self.camera_id, start=self._hole_start, end=start)
                    hole.reason = FaultReason.DISK_FULL
                    hole.save()
                key = self._key(entry, start)
                if path.is_file():
                    self.store.put(path, key)
                Segment.objects.create(
                    session_id=self.session_id,
                    camera_id=self.camera_id,
                    start=start,
                    end=end,
                    bytes=size,
                    key=key,
                    sha256=digest,
                )
        except BaseException:
            if opened:  # the session row was rolled back with the rest
                self.session_id = None
            raise
        self._hole_start = None
        self._last_start = start
        self.last_end = self.recorded_end = end
        self.segments += 1
        if self.segments > 1:  # the first one also holds what ffmpeg buffered while probing
            self.longest = max(self.longest, entry.duration)
        return True

    def _drop(self, entry: Entry, path: Path, start: dt.datetime, end: dt.datetime) -> None:
        """An incomplete segment (ffmpeg could not write it whole: disk full): never indexed, deleted;
        stream time moves on past it, and its time becomes a gap (closed by the next good segment, or
        covered by the gap the supervisor opens when it stops this ffmpeg)."""
        log.error(
            "camera %s: segment %s is incomplete (%s bytes written; disk full?); dropped",
            self.camera_id,
            entry.uri,
            path.stat().st_size if path.exists() else 0,
        )
        path.unlink(missing_ok=True)
        self.broken += 1
        if self._hole_start is None:
            self._hole_start = start
        if self.session_id is not None:
            self.last_end = end

    def _in_store(self, key: str) -> bool:
        try:
            self.store.size(key)
        except OSError:
            return False
        return True

    def _hash_stored(self, key: str) -> tuple[str, int]:
        h = hashlib.sha256()
        size = 0
        with self.store.open(key) as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                size += len(chunk)
        return h.hexdigest(), size

    def _start_of(self, entry: Entry) -> dt.datetime:
        if self.last_end is not None and (entry.seq == self.next_seq or entry.program_date_time is None):
            return self.last_end
        anchor = entry.program_date_time
        if anchor is None:  # ffmpeg always writes it with program_date_time; be safe anyway
            anchor = timezone.now() - dt.timedelta(seconds=entry.duration)
        if self.session_id is None:  # first segment of the session: never before the camera's last end
            prev_end = Segment.objects.filter(camera_id=self.camera_id).aggregate(m=Max("end"))["m"]
            if prev_end is not None and anchor < prev_end:
                self.offset = prev_end - anchor
                log.warning(
                    "camera %s: session starts %.3f s before the last segment ended (clock went back); "
                    "shifted to keep stream order",
                    self.camera_id,
                    self.offset.total_seconds(),
                )
        return anchor + self.offset

    def _key(self, entry: Entry, start: dt.datetime) -> str:
        return f"{key_prefix(self.camera_id, start)}/s{self.session_id}-{entry.seq:06d}.m4s"

    def _open_session(self, start: dt.datetime) -> None:
        init = self.directory / "init.mp4"
        data = init.read_bytes() if init.is_file() else b""
        codec = avc_codec_string(data)
        if codec.startswith(("hvc1", "hev1")) or (data and not codec.startswith("avc1")):
            raise UnsupportedStream(codec or "unknown")
        self.codec = codec
        session = RecordingSession.objects.create(
            camera_id=self.camera_id, stream=self.stream, started_at=start, codec=codec
        )
        self.session_id = session.pk
        if data:
            init_key = f"{key_prefix(self.camera_id, start)}/s{session.pk}-init.mp4"
            copy = self.directory / "init.stored.mp4"
            try:
                shutil.copyfile(init, copy)  # ffmpeg may rewrite init.mp4; keep the spool's own
            except OSError:  # no room for a copy (disk full): a second name costs no space
                copy.unlink(missing_ok=True)
                os.link(init, copy)
            self.store.put(copy, init_key)
            session.init_key = init_key
            session.save(update_fields=["init_key"])
        self._settle_gap(start)
        self.write_state()

    def _settle_gap(self, start: dt.datetime) -> None:
        gaps = RecordingGap.objects.filter(camera_id=self.camera_id, end__isnull=True)
        gap = gaps.order_by("-start").first()
        if gap is not None:
            gap.end = max(start, gap.start)
            gap.save(update_fields=["end"])
            return
        prev_end = (
            Segment.objects.filter(camera_id=self.camera_id)
            .exclude(session_id=self.session_id)
            .aggregate(m=Max("end"))["m"]
        )
        if prev_end is not None and start - prev_end > self.gap_tolerance:
            RecordingGap.objects.create(
                camera_id=self.camera_id, start=prev_end, end=start, reason=self.gap_reason
            )

    # --- end -----------------------------------------------------------------------------------
    def finish(self) -> IngestResult:
        """After ffmpeg exited: index what it finished, close the session, remove the spool dir."""
        result = self.scan(force=True)
        if self.session_id is not None and self.recorded_end is not None:
            RecordingSession.objects.filter(pk=self.session_id).update(ended_at=self.recorded_end)
        self.discard()
        return result

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.directory.parent.rmdir()  # cam-<id>/ when it was its last session


def recover_spool(spool_dir: Path, store: SegmentStore, *, gap_tolerance: float = 1.5) -> int:
    """Index what sessions of a recorder that died left in the spool; remove their directories.
    Returns the number of segments recovered. Call only when no ffmpeg writes into `spool_dir`."""
    recovered = 0
    if not spool_dir.is_dir():
        return 0
    for directory in sorted(spool_dir.glob("cam-*/*")):
        if not directory.is_dir():
            continue
        ingest = SessionIngest.from_state(directory, store, gap_tolerance=gap_tolerance)
        if ingest is None:
            shutil.rmtree(directory, ignore_errors=True)
            continue
        try:
            recovered += ingest.finish().segments
        except UnsupportedStream:
            ingest.discard()
        except Exception:
            log.exception("recovering %s failed; left in place", directory)
    for cam_dir in spool_dir.glob("cam-*"):
        with contextlib.suppress(OSError):
            cam_dir.rmdir()
    return recovered
