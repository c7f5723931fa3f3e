"""Pre-encode the simulator's streams once with ffmpeg (H.264 or H.265 Annex B elementary streams).

Every camera of a kind serves the same file, looping, without re-encoding. Files are cached under
a directory (default settings.VIDEO_DIR/"simulator") by a key of every parameter that shapes them,
written to a temporary name and renamed, so concurrent simulators share the cache safely.
H.265 (libx265) is only encoded for simulators that serve an H.265 camera (`--h265-camera`).
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
    codec: str = "h264"  # or "h265"


MAIN = StreamSpec("main", 1920, 1080, 4000)
SUB = StreamSpec("sub", 640, 360, 512)
MAIN_H265 = dataclasses.replace(MAIN, codec="h265")
SUB_H265 = dataclasses.replace(SUB, codec="h265")
CODECS = ("h264", "h265")
# The NAL unit that opens every GOP (with repeated headers): H.264 sequence parameter set (type 7,
# in the low 5 bits of the header byte); H.265 video parameter set (type 32, in bits 1-6).
_GOP_START = {"h264": lambda b: b & 0x1F == 7, "h265": lambda b: (b >> 1) & 0x3F == 32}


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
    if spec.codec == "h264":
        del material["codec"]  # the key of H.264 clips cached before H.265 existed stays the same
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def ffmpeg_args(spec: StreamSpec, source: str, seconds: int, output: Path) -> list[str]:
    """argv encoding `seconds` of `source` into a loopable H.264 (or H.265) elementary stream:
    constant frame rate, a key frame (IDR, with SPS/PPS — and VPS for H.265 — repeated) exactly
    every GOP, no B-frames (so presentation order is decoding order and time stamps can be assigned
    from the frame rate), and a whole number of GOPs so the loop point is a key frame."""
    if spec.codec not in CODECS:
        raise EncodeError(f"unknown codec {spec.codec!r}")
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
    if spec.codec == "h265":
        codec = [
            "-c:v", "libx265", "-preset", "ultrafast",
            "-x265-params", "bframes=0:scenecut=0:open-gop=0:repeat-headers=1:log-level=error",
        ]  # fmt: skip
    else:
        codec = ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-sc_threshold", "0",
                 "-x264-params", "repeat-headers=1"]  # fmt: skip
    return [
        "ffmpeg", "-nostdin", "-v", "error", "-y", *inputs,
        "-frames:v", str(frames), "-an", "-vf", vf, *codec,
        "-g", str(gop), "-keyint_min", str(gop),
        "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k",
        "-f", "hevc" if spec.codec == "h265" else "h264", str(output),
    ]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Clip:
    """A cached encoding: one file per GOP (gop-00000.h264 … or .h265), each starting with the
    parameter sets and an IDR frame, so multifilesrc reads one GOP per buffer instead of the whole
    clip."""

    directory: Path
    chunks: int
    codec: str = "h264"

    @property
    def pattern(self) -> Path:
        return self.directory / f"gop-%05d.{self.codec}"

    def chunk(self, index: int) -> Path:
        return self.directory / f"gop-{index:05d}.{self.codec}"


def split_gops(data: bytes, codec: str = "h264") -> list[bytes]:
    """Cut an Annex B stream before every SPS (H.264) or VPS (H.265) — with repeated headers:
    before every IDR."""
    opens_gop = _GOP_START[codec]
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i != -1:
        if i + 3 < len(data) and opens_gop(data[i + 3]):
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
    kind = spec.kind if spec.codec == "h264" else f"{spec.kind}-{spec.codec}"
    directory = cache_dir / f"{kind}-{spec.width}x{spec.height}-{cache_key(spec, source, seconds)}"
    expected = seconds // spec.gop_seconds
    clip = Clip(directory, expected, spec.codec)
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
    gops = split_gops(partial.read_bytes(), spec.codec)
    partial.unlink()
    if len(gops) != expected:
        raise EncodeError(f"expected {expected} key frames in the {spec.kind} clip, found {len(gops)}")
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=cache_dir))
    for i, gop in enumerate(gops):
        (staging / clip.chunk(i).name).write_bytes(gop)
    try:
        staging.rename(directory)
    except OSError:  # another simulator made it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
        if not all(clip.chunk(i).is_file() for i in range(expected)):
            raise EncodeError(f"cannot store the encoded clip in {directory}") from None
    return clip
