"""Export-ready clip: 5 min of recorded 1080p ~4 Mbps segments cut into one MP4 by stream copy (goal ≤ 1 s)

The recording: a 1080p25 test pattern (testsrc2) encoded once with x264 ultrafast at 4 Mbps (GOP 2 s),
looped by stream copy into 10-second HLS fMP4 segments (the recorder's format) and indexed for one
camera with RecordingSession/Segment rows (tests/video/segments.py). Each row times
gwanje.video.export.cut_clip over a 5-minute range starting inside a segment (index query, the
ffmpeg concat-protocol cut with -ss/-to, -movflags +faststart, the file written to the data dir),
after one untimed warm-up; "identical" checks that every run wrote the same bytes and "duration" is
ffprobe's. The second row spans a recorder restart (two sessions): two parts joined with the
concat demuxer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import time
from pathlib import Path

BACKENDS = ("spatialite", "postgis")
GOAL_MS = 1000
RANGE = dt.timedelta(minutes=5)
SEGMENT_SECONDS = 10


def _camera():
    from django.contrib.gis.geos import Point

    from gwanje.accounts import services as accounts
    from gwanje.registry.choices import Purpose
    from gwanje.registry.models import Camera, Site

    org = accounts.upsert_organisation(code="bench-center", name="통합관제센터", kind="department")
    site = Site.objects.create(code="BENCH-EXPORT", point=Point(127.04, 37.56, srid=4326), department=org)
    return Camera.objects.create(
        site=site, number=1, point=site.point, primary_purpose=Purpose.CRIME_PREVENTION, retention_days=30
    )


def _recording(work: Path, seconds: float):
    import subprocess

    from tests.video.segments import loop_clip

    source = work / "src.mp4"
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25", "-t", "30",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
            "-b:v", "4M", "-maxrate", "4M", "-bufsize", "4M", str(source),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )  # fmt: skip
    return loop_clip(source, work / "rec", seconds=seconds, segment_seconds=SEGMENT_SECONDS)


def _measure(label: str, camera, start, end, runs: int, out: Path) -> dict:
    from bench.common import percentile
    from gwanje.video import export
    from tests.video.segments import probe_duration

    export.cut_clip(camera, start, end, output=out)  # warm-up (page cache, ffmpeg start)
    samples, digests = [], set()
    clip = None
    for _ in range(runs):
        t0 = time.perf_counter()
        clip = export.cut_clip(camera, start, end, output=out)
        samples.append((time.perf_counter() - t0) * 1000)
        digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    return {
        "case": label,
        "segments": str(len(export.covering_segments(camera, start, end))),
        "parts": str(clip.parts),
        "MB": f"{clip.bytes / 1e6:.0f}",
        "duration s": f"{probe_duration(out):.2f}",
        "p50 ms": f"{p50:.0f}",
        "p99 ms": f"{p99:.0f}",
        "n": str(runs),
        "identical": "yes" if len(digests) == 1 else f"NO ({len(digests)} digests)",
        "goal ≤ 1 s": "met" if p99 <= GOAL_MS else "missed",
    }


def run(backend: str, quick: bool) -> list[dict]:
    from django.conf import settings
    from django.utils import timezone

    from tests.video.segments import index_clip

    runs = 5 if quick else 10
    camera = _camera()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-export-", dir=settings.DATA_DIR) as tmp:
        work = Path(tmp)
        recording = _recording(work, seconds=RANGE.total_seconds() + 30)  # 5.5 min: 33 segments
        t0 = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
        index_clip(camera, recording, t0)
        start = t0 + dt.timedelta(seconds=3.7)
        rows.append(_measure("5 min, one session", camera, start, start + RANGE, runs, work / "one.mp4"))
        # A recorder restart 2.5 min in: a second session of the same encoding.
        t1 = t0 + dt.timedelta(hours=1)
        half = len(recording.segments) // 2
        index_clip(camera, recording, t1, count=half)
        index_clip(camera, recording, t1 + dt.timedelta(seconds=SEGMENT_SECONDS * half), first=half)
        start = t1 + dt.timedelta(seconds=3.7)
        rows.append(
            _measure("5 min, across a session break", camera, start, start + RANGE, runs, work / "two.mp4")
        )
    for row in rows:
        row["backend"] = backend
    return rows
