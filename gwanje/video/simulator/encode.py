"""Pre-encode the simulator's streams once with ffmpeg (H.264 Annex B elementary streams).

Every camera of a kind serves the same file, looping, without re-encoding. Files are cached under
a directory (default settings.VIDEO_DIR/"simulator") by a key of every parameter that shapes them,
written to a temporary name and renamed, so concurrent simulators share the cache safely.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

FORMAT_VERSION = 2  # bump when the ffmpeg arguments change meaningfully


class EncodeError(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class StreamSpec:
    kind: str  # "main" or "sub"
    width: int
    height: int
    bitrate_kbps: int
    fps: int = 25
    gop_seconds: int = 1


MAIN = StreamSpec("main", 1920, 1080, 4000)
SUB = StreamSpec("sub", 640, 360, 512)


def source_identity(source: str) -> dict:
    """What identifies a source for the cache key: "pattern", or a file's path, size and mtime."""
    if source == "pattern":
        return {"source": "pattern"}
    path = Path(source).expanduser().resolve()
    if not path.is_file():
        raise EncodeError(f"source file not found: {source}")
    st = path.stat()
    return {"source": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cache_key(spec: StreamSpec, source: str, seconds: int) -> str:
    material = {
        "v": FORMAT_VERSION,
        **dataclasses.asdict(spec),
        "seconds": seconds,
        **source_identity(source),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def ffmpeg_args(spec: StreamSpec, source: str, seconds: int, output: Path) -> list[str]:
    """argv encoding `seconds` of `source` into a loopable H.264 elementary stream:
    constant frame rate, a key frame (IDR, with SPS/PPS repeated) exactly every GOP, no B-frames
    (so presentation order is decoding order and time stamps can be assigned from the frame rate),
    and a whole number of GOPs so the loop point is a key frame."""
    frames = seconds * spec.fps
    gop = spec.gop_seconds * spec.fps
    size = f"{spec.width}x{spec.height}"
    if source == "pattern":
        inputs = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={spec.fps}"]
        vf = "format=yuv420p"
    else:
        inputs = ["-stream_loop", "-1", "-i", str(Path(source).expanduser().resolve())]
        vf = (
            f"scale={spec.width}:{spec.height}:force_original_aspect_ratio=decrease,"
            f"pad={spec.width}:{spec.height}:(ow-iw)/2:(oh-ih)/2,fps={spec.fps},format=yuv420p"
        )
    kbps = spec.bitrate_kbps
    return [
        "ffmpeg", "-nostdin", "-v", "error", "-y", *inputs,
        "-frames:v", str(frames), "-an", "-vf", vf,
        "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k",
        "-x264-params", "repeat-headers=1",
        "-f", "h264", str(output),
    ]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Clip:
    """A cached encoding: one file per GOP (gop-00000.h264 …), each starting with SPS, PPS and an
    IDR frame, so multifilesrc reads one GOP per buffer instead of the whole clip."""

    directory: Path
    chunks: int

    @property
    def pattern(self) -> Path:
        return self.directory / "gop-%05d.h264"

    def chunk(self, index: int) -> Path:
        return self.directory / f"gop-{index:05d}.h264"


def split_gops(data: bytes) -> list[bytes]:
    """Cut an H.264 Annex B stream before every SPS (with repeat-headers: before every IDR)."""
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i != -1:
        if i + 3 < len(data) and data[i + 3] & 0x1F == 7:  # NAL type 7: sequence parameter set
            starts.append(i - 1 if i > 0 and data[i - 1] == 0 else i)  # include a 4-byte start code
        i = data.find(b"\x00\x00\x01", i + 3)
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]


def encoded_stream(spec: StreamSpec, source: str, seconds: int, cache_dir: Path) -> Clip:
    """The cached encoding of `source` for `spec`, made now if missing."""
    if seconds < 1:
        raise EncodeError("the loop must last at least one second")
    cache_dir.mkdir(parents=True, exist_ok=True)
    directory = cache_dir / f"{spec.kind}-{spec.width}x{spec.height}-{cache_key(spec, source, seconds)}"
    expected = seconds // spec.gop_seconds
    clip = Clip(directory, expected)
    if all(clip.chunk(i).is_file() for i in range(expected)):
        return clip
    partial = cache_dir / f".{directory.name}.{os.getpid()}.partial"
    proc = subprocess.Popen(ffmpeg_args(spec, source, seconds, partial), stderr=subprocess.PIPE, text=True)
    try:
        _, err = proc.communicate()
    finally:
        if proc.poll() is None:  # interrupted (SIGINT/SIGTERM): take ffmpeg down with us
            proc.kill()
            proc.wait()
            partial.unlink(missing_ok=True)
    if proc.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise EncodeError(f"ffmpeg could not encode {source!r} ({spec.kind}): {err.strip()[-500:]}")
    gops = split_gops(partial.read_bytes())
    partial.unlink()
    if len(gops) != expected:
        raise EncodeError(f"expected {expected} key frames in the {spec.kind} clip, found {len(gops)}")
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=cache_dir))
    for i, gop in enumerate(gops):
        (staging / f"gop-{i:05d}.h264").write_bytes(gop)
    try:
        staging.rename(directory)
    except OSError:  # another simulator made it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
        if not all(clip.chunk(i).is_file() for i in range(expected)):
            raise EncodeError(f"cannot store the encoded clip in {directory}") from None
    return clip
