"""Real recorded segments without the recorder: encode a short clip with ffmpeg into HLS fMP4
(init.mp4 + .m4s fragments, the recorder's format) and index its segments into the segment store
with RecordingSession/Segment rows at chosen times.

    clip = shared_clip()                                   # 30 s, 320x240, 25 fps, GOP 1 s, 2 s segments
    session, segs = index_clip(camera, clip, start=t0)     # all 15 segments from t0, contiguous
    session, segs = index_clip(camera, clip, start=t1, first=3, count=4)
    index_clip(camera, clip, start=t2, session=session)    # more of the same session (after a hole)

The store is `default_store()` (settings.VIDEO_DIR/segments): point VIDEO_DIR at a temporary
folder in the test (`settings.VIDEO_DIR = tmp_path`). Encoded clips are cached per parameters in a
process-wide temporary folder removed at exit. Also used by bench/bench_export.py.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_CACHE: dict[tuple, EncodedClip] = {}
_CACHE_DIR: Path | None = None


@dataclass(frozen=True)
class EncodedClip:
    directory: Path
    init: Path
    segments: tuple[Path, ...]
    durations: tuple[float, ...]  # seconds, from the playlist's EXTINF

    @property
    def seconds(self) -> float:
        return sum(self.durations)


def _playlist(directory: Path, name: str = "index.m3u8") -> EncodedClip:
    segments, durations, pending = [], [], None
    for line in (directory / name).read_text().splitlines():
        if line.startswith("#EXTINF:"):
            pending = float(line[len("#EXTINF:") :].split(",")[0])
        elif line and not line.startswith("#"):
            segments.append(directory / line)
            durations.append(pending)
    return EncodedClip(directory, directory / "init.mp4", tuple(segments), tuple(durations))


def hls_args(directory: Path, segment_seconds: float) -> list[str]:
    return [
        "-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", f"{segment_seconds:g}",
        "-hls_playlist_type", "vod", "-hls_flags", "independent_segments",
        "-hls_fmp4_init_filename", "init.mp4",
        "-hls_segment_filename", str(directory / "seg-%06d.m4s"), str(directory / "index.m3u8"),
    ]  # fmt: skip


def encode_clip(
    directory: Path,
    *,
    seconds: float = 30,
    size: str = "320x240",
    rate: int = 25,
    gop: int = 25,
    segment_seconds: float = 2,
    bitrate: str | None = None,
    pattern: str = "testsrc",
) -> EncodedClip:
    """Encode a lavfi test pattern with x264 (ultrafast, fixed GOP, no scene cuts) into HLS fMP4."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rc = ["-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate] if bitrate else []
    cmd = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"{pattern}=size={size}:rate={rate}", "-t", f"{seconds:g}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", *rc,
        *hls_args(directory, segment_seconds),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    return _playlist(directory)


def loop_clip(source: Path, directory: Path, *, seconds: float, segment_seconds: float) -> EncodedClip:
    """Loop an encoded MP4 (stream copy, no re-encoding) into `seconds` of HLS fMP4 segments."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cmd = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-stream_loop", "-1", "-i", str(source), "-t", f"{seconds:g}", "-map", "0:v:0", "-c", "copy",
        *hls_args(directory, segment_seconds),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    return _playlist(directory)


def shared_clip(**params) -> EncodedClip:
    """`encode_clip(**params)` once per process (cached in a temporary folder removed at exit)."""
    global _CACHE_DIR
    key = tuple(sorted(params.items()))
    if key not in _CACHE:
        if _CACHE_DIR is None:
            _CACHE_DIR = Path(tempfile.mkdtemp(prefix="gwanje-test-clips-"))
            atexit.register(shutil.rmtree, _CACHE_DIR, True)
        _CACHE[key] = encode_clip(_CACHE_DIR / f"clip{len(_CACHE)}", **params)
    return _CACHE[key]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _put_copy(store, source: Path, key: str) -> None:
    """store.put moves its file: hand it a copy, so the encoded clip can be indexed again."""
    with tempfile.NamedTemporaryFile(dir=source.parent, suffix=source.suffix, delete=False) as tmp:
        pass
    shutil.copyfile(source, tmp.name)
    store.put(Path(tmp.name), key)


def index_clip(
    camera,
    clip: EncodedClip,
    start: dt.datetime,
    *,
    first: int = 0,
    count: int | None = None,
    session=None,
    store=None,
    stream: str = "main",
):
    """Copy segments first..first+count-1 of `clip` into the store and index them for `camera`,
    back to back from `start` (each as long as its EXTINF). A new RecordingSession (with the clip's
    init segment) unless `session` is given. Returns (session, [Segment, ...])."""
    from gwanje.video.models import RecordingSession, Segment
    from gwanje.video.storage import default_store

    store = store or default_store()
    chosen = list(range(first, len(clip.segments) if count is None else first + count))
    if not chosen or chosen[-1] >= len(clip.segments):
        raise ValueError(f"the clip has {len(clip.segments)} segments")
    if session is None:
        session = RecordingSession.objects.create(
            camera=camera, stream=stream, started_at=start, codec="avc1.test"
        )
        session.init_key = f"cam-{camera.pk}/test/s{session.pk}-init.mp4"
        _put_copy(store, clip.init, session.init_key)
        session.save(update_fields=["init_key"])
    number = Segment.objects.filter(session=session).count()
    rows, t = [], start
    for i in chosen:
        end = t + dt.timedelta(seconds=clip.durations[i])
        key = f"cam-{camera.pk}/test/s{session.pk}-{number:06d}.m4s"
        number += 1
        _put_copy(store, clip.segments[i], key)
        rows.append(
            Segment.objects.create(
                session=session,
                camera=camera,
                start=t,
                end=end,
                bytes=clip.segments[i].stat().st_size,
                key=key,
                sha256=_sha256(clip.segments[i]),
            )
        )
        t = end
    last = rows[-1].end
    if session.ended_at is None or session.ended_at < last:
        session.ended_at = last
        session.save(update_fields=["ended_at"])
    return session, rows


def probe_duration(path: Path) -> float:
    """The container duration (s) that ffprobe reports."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return float(out.stdout.strip())
