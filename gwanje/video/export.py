"""Export-ready clips: a camera's recorded range cut into one MP4 by stream copy (no re-encoding).

How (see ../../docs/video.md, "Retention, legal holds and export"):

- The segments overlapping [start, end) are split into *runs*: consecutive segments of one
  recording session with no hole between them (a hole: a missing segment, e.g. destroyed around a
  legal hold). Long runs are split further (at most MAX_SEGMENTS_PER_PART segments per ffmpeg input).
- A run is read with ffmpeg's concat **protocol** over its session's init segment and its
  fragments (`concat:init.mp4|a.m4s|b.m4s`), cut with input `-ss`/`-to` (offsets from the run's
  first segment, from the index) and written with `-c copy`. Only the clip's first part starts
  inside a segment; ffmpeg then keeps the frames from the keyframe before the start and hides them
  with an edit list, so the clip starts at the requested time and players show it from there.
- One run: that is the clip (`-movflags +faststart`). Several runs (a session break or a hole):
  each is cut to a temporary MP4 and the parts are joined with the concat **demuxer**, again by
  stream copy. Joining needs the same codec configuration: when the sessions' sample descriptions
  (the `stsd` box of their init segments: codec, size, SPS/PPS) differ — the camera's encoder
  settings changed — the export is refused with a message naming the change time, and the two sides
  can be exported separately.
- Gaps (no recording) inside the range are left out — the clip covers what exists — and are
  reported in `Clip.gaps`.

The output is deterministic: the same range gives a byte-identical file.

`export_for(user, …)` is the user-facing path: it goes through the choke point
`require_video(user, "video.export", camera, start=, end=, request=)` (decision and access log)
before cutting. `cut()` / `cut_clip()` do not check permissions: they are for callers that have.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from gwanje.video.models import RecordingSession, Segment
from gwanje.video.storage import SegmentStore, default_store

log = logging.getLogger("gwanje.video.export")

MAX_EXPORT = dt.timedelta(hours=24)
MAX_SEGMENTS_PER_PART = 400  # keeps the concat: argument well under the kernel's 128 KiB per argument
CONTIGUOUS = dt.timedelta(milliseconds=500)  # a smaller jump between segments is not a hole
FFMPEG_TIMEOUT = 120  # seconds, plus FFMPEG_TIMEOUT_PER_HOUR per hour of video cut
FFMPEG_TIMEOUT_PER_HOUR = 600


class ExportError(ValueError):
    """The range cannot be exported: a message for the user, and the HTTP status that fits it
    (400 bad arguments, 404 nothing recorded, 409 the encoding changed inside the range, 500 ffmpeg
    or storage failed)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Clip:
    """The exported MP4 (os.PathLike: `open(clip, "rb")` works) and what it covers."""

    path: Path
    camera_id: int
    start: dt.datetime  # requested range
    end: dt.datetime
    covered: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)  # recorded, in the clip
    gaps: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)  # not recorded, left out
    parts: int = 1
    bytes: int = 0

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    def open(self, mode: str = "rb"):
        return self.path.open(mode)

    @property
    def seconds(self) -> float:
        return sum((b - a).total_seconds() for a, b in self.covered)

    def remove(self) -> None:
        """Delete the file (and its private temporary folder, if `cut` made one)."""
        self.path.unlink(missing_ok=True)
        parent = self.path.parent
        if parent.name.startswith("gwanje-export-"):
            shutil.rmtree(parent, ignore_errors=True)


@dataclass
class _Run:
    session: RecordingSession
    segments: list[Segment]

    @property
    def start(self) -> dt.datetime:
        return self.segments[0].start

    @property
    def end(self) -> dt.datetime:
        return self.segments[-1].end


def _check_range(start, end) -> None:
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, dt.datetime) or timezone.is_naive(value):
            raise ExportError(_("The %(what)s must be a date and time with a time zone.") % {"what": name})
    if start >= end:
        raise ExportError(_("The range must end after it starts."))
    if end - start > MAX_EXPORT:
        raise ExportError(
            _("A clip is at most %(n)s hours long.") % {"n": f"{MAX_EXPORT.total_seconds() / 3600:g}"}
        )


def _fmt(t: dt.datetime) -> str:
    return timezone.localtime(t).strftime("%Y-%m-%d %H:%M:%S")


def covering_segments(camera, start: dt.datetime, end: dt.datetime) -> list[Segment]:
    return list(
        Segment.objects.filter(camera_id=camera.pk, start__lt=end, end__gt=start)
        .select_related("session")
        .order_by("start", "id")
    )


def gaps_in(
    segments: list[Segment], start: dt.datetime, end: dt.datetime
) -> tuple[list[tuple[dt.datetime, dt.datetime]], list[tuple[dt.datetime, dt.datetime]]]:
    """(covered, gaps) of [start, end) by the segments (sorted by start)."""
    covered: list[list[dt.datetime]] = []
    for seg in segments:
        a, b = max(seg.start, start), min(seg.end, end)
        if b <= a:
            continue
        if covered and a - covered[-1][1] <= CONTIGUOUS:
            covered[-1][1] = max(covered[-1][1], b)
        else:
            covered.append([a, b])
    gaps, cursor = [], start
    for a, b in covered:
        if a - cursor > CONTIGUOUS:
            gaps.append((cursor, a))
        cursor = max(cursor, b)
    if end - cursor > CONTIGUOUS:
        gaps.append((cursor, end))
    return [(a, b) for a, b in covered], gaps


def _runs(segments: list[Segment]) -> list[_Run]:
    runs: list[_Run] = []
    for seg in segments:
        last = runs[-1] if runs else None
        if (
            last is not None
            and last.session.pk == seg.session_id
            and abs(seg.start - last.end) <= CONTIGUOUS
            and len(last.segments) < MAX_SEGMENTS_PER_PART
        ):
            last.segments.append(seg)
        elif last is not None and seg.end <= last.end:
            continue  # overlapped by what we have (clock trouble): skip, never duplicate
        else:
            runs.append(_Run(seg.session, [seg]))
    return runs


def sample_description(init: bytes) -> bytes:
    """The `stsd` box of each track of an (fMP4) init segment: codec, dimensions, SPS/PPS."""
    out = []

    def walk(data: bytes, lo: int, hi: int) -> None:
        while lo + 8 <= hi:
            size, kind = struct.unpack(">I4s", data[lo : lo + 8])
            head = 8
            if size == 1:
                size, head = struct.unpack(">Q", data[lo + 8 : lo + 16])[0], 16
            elif size == 0:
                size = hi - lo
            if size < head or lo + size > hi:
                return
            if kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):
                walk(data, lo + head, lo + size)
            elif kind == b"stsd":
                out.append(data[lo : lo + size])
            lo += size

    walk(init, 0, len(init))
    return b"".join(out)


class _Files:
    """Local paths of storage keys: the store's own when it has them, else downloaded copies."""

    def __init__(self, store: SegmentStore, tmp: Path) -> None:
        self.store, self.tmp, self.n = store, tmp, 0

    def path(self, key: str) -> Path:
        local = self.store.local_path(key)
        if local is not None:
            if not local.exists():
                raise ExportError(
                    _("A recorded segment is missing from storage (%(key)s).") % {"key": key}, 500
                )
            return local
        self.n += 1
        dest = self.tmp / f"obj{self.n:05d}{Path(key).suffix}"
        try:
            with self.store.open(key) as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        except OSError as e:
            raise ExportError(
                _("Cannot read %(key)s from storage: %(error)s") % {"key": key, "error": e}, 500
            ) from None
        return dest


def _seconds(td: dt.timedelta) -> str:
    return f"{max(td.total_seconds(), 0):.6f}"


def _timeout(start: dt.datetime, end: dt.datetime) -> float:
    return FFMPEG_TIMEOUT + FFMPEG_TIMEOUT_PER_HOUR * (end - start).total_seconds() / 3600


def _ffmpeg(args: list[str], timeout: float) -> None:
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ExportError(_("ffmpeg took longer than %(n)s s.") % {"n": f"{timeout:.0f}"}, 500) from None
    except FileNotFoundError:
        raise ExportError(_("ffmpeg is not installed."), 500) from None
    if proc.returncode != 0:
        raise ExportError(
            _("ffmpeg failed (exit %(code)s): %(error)s")
            % {"code": proc.returncode, "error": proc.stderr.strip()[-500:]},
            500,
        )


def _cut_run(files: _Files, run: _Run, start: dt.datetime, end: dt.datetime, out: Path, final: bool) -> None:
    if not run.session.init_key:
        raise ExportError(_("Recording session %(id)s has no init segment.") % {"id": run.session.pk}, 500)
    inputs = [files.path(run.session.init_key)] + [files.path(s.key) for s in run.segments]
    ss = start - run.start if start > run.start else dt.timedelta(0)
    to = min(end, run.end) - run.start
    args = []
    if ss > dt.timedelta(0):
        args += ["-ss", _seconds(ss)]
    args += ["-to", _seconds(to), "-i", "concat:" + "|".join(str(p) for p in inputs)]
    args += ["-map", "0", "-c", "copy", "-map_metadata", "-1", "-f", "mp4"]
    if final:
        args += ["-movflags", "+faststart"]
    _ffmpeg([*args, str(out)], _timeout(start, end))


def default_output(camera, start: dt.datetime) -> Path:
    """A new private file under VIDEO_DIR/exports (exports are personal data: not /tmp)."""
    root = Path(settings.VIDEO_DIR) / "exports"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="gwanje-export-", dir=root))
    return folder / filename(camera, start)


def filename(camera, start: dt.datetime) -> str:
    label = f"{camera.site.code}-{camera.number}" if hasattr(camera, "site") else str(camera.pk)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)
    return f"cctv-{safe}-{timezone.localtime(start):%Y%m%d-%H%M%S}.mp4"


def cut_clip(
    camera,
    start: dt.datetime,
    end: dt.datetime,
    *,
    output: Path | None = None,
    store: SegmentStore | None = None,
) -> Clip:
    """Cut [start, end) of `camera`'s recorded video into one MP4 by stream copy (no permission check:
    use `export_for` on a user's behalf). Raises ExportError with a message for the user."""
    _check_range(start, end)
    store = store or default_store()
    segments = covering_segments(camera, start, end)
    if not segments:
        raise ExportError(
            _("No recorded video of camera %(camera)s between %(start)s and %(end)s.")
            % {"camera": camera.pk, "start": _fmt(start), "end": _fmt(end)},
            404,
        )
    covered, gaps = gaps_in(segments, start, end)
    runs = _runs(segments)
    output = Path(output) if output is not None else default_output(camera, start)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cut-", dir=output.parent) as tmp_name:
        tmp = Path(tmp_name)
        files = _Files(store, tmp)
        partial = tmp / "clip.mp4"
        if len(runs) == 1:
            _cut_run(files, runs[0], start, end, partial, final=True)
        else:
            descriptions = {}
            for run in runs:
                if run.session.pk not in descriptions:
                    descriptions[run.session.pk] = sample_description(
                        files.path(run.session.init_key).read_bytes() if run.session.init_key else b""
                    )
            first = descriptions[runs[0].session.pk]
            for run in runs[1:]:
                if descriptions[run.session.pk] != first:
                    raise ExportError(
                        _(
                            "The camera's encoding changed at %(time)s (recording session %(id)s): "
                            "export the video before and after that time separately."
                        )
                        % {"time": _fmt(run.start), "id": run.session.pk},
                        409,
                    )
            listing, done_until = [], start
            for i, run in enumerate(runs):
                part = tmp / f"part{i:04d}.mp4"
                # A run overlapping the previous one by more than a moment (another session's
                # clock): start it where the previous ended, never show the same time twice.
                run_start = done_until if done_until - run.start > CONTIGUOUS else start
                _cut_run(files, run, run_start, end, part, final=False)
                listing.append(f"file '{part.name}'\n")
                done_until = max(done_until, run.end)
            (tmp / "parts.txt").write_text("".join(listing), encoding="utf-8")
            _ffmpeg(
                ["-f", "concat", "-safe", "0", "-i", str(tmp / "parts.txt")]
                + ["-map", "0", "-c", "copy", "-map_metadata", "-1", "-movflags", "+faststart", str(partial)],
                _timeout(start, end),
            )
        os.replace(partial, output)
    if gaps:
        log.info(
            "export of camera %s %s–%s: %d gap(s) left out: %s",
            camera.pk,
            _fmt(start),
            _fmt(end),
            len(gaps),
            ", ".join(f"{_fmt(a)}–{_fmt(b)}" for a, b in gaps),
        )
    return Clip(
        path=output,
        camera_id=camera.pk,
        start=start,
        end=end,
        covered=covered,
        gaps=gaps,
        parts=len(runs),
        bytes=output.stat().st_size,
    )


def cut(camera, start: dt.datetime, end: dt.datetime, output: Path | None = None) -> Path:
    """`cut_clip(...)`'s file (gaps are logged; use `cut_clip` to get them)."""
    return cut_clip(camera, start, end, output=output).path


def export_for(
    user, camera, start: dt.datetime, end: dt.datetime, request=None, *, output: Path | None = None
) -> Clip:
    """The user-facing export: the choke point decides and writes the access log (police only under
    an incident grant covering the period), then the clip is cut. Raises PermissionDenied when refused,
    ExportError for a range that cannot be exported. The caller serves `clip.path` (named
    `clip.path.name`) and then calls `clip.remove()`."""
    from gwanje.core.access import require_video

    _check_range(start, end)
    require_video(user, "video.export", camera, start=start, end=end, request=request)
    return cut_clip(camera, start, end, output=output)
