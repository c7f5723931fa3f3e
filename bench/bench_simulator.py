"""Camera simulator scale: N cameras (1080p main), one ffmpeg reader each, frame rate and simulator CPU

Each camera's main stream is read by `ffmpeg -rtsp_transport tcp -i URL -c copy -f null -` (as a
recorder would) for 60 s (quick: 15 s) after a warm-up. "fps min/median" are the frame rates the
readers received over that window (the streams are 25 fps); "steady" = every reader got ≥ 24 fps.
"sim CPU %" is the simulator process's CPU over the window in % of one core (total and per camera);
"readers CPU %" is all ffmpeg readers together — they share the 2 cores with the simulator, so the
row where "steady" turns to "no" is where the machine (not necessarily the simulator) runs out.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

BACKENDS = ("spatialite",)  # no database involved
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _frames(progress: Path) -> tuple[int, float]:
    """The last frame= count in an ffmpeg -progress file and when it was written (the file is
    rewritten once a second: its mtime, not our clock, dates the count)."""
    try:
        mtime = progress.stat().st_mtime
        text = progress.read_text()
    except OSError:
        return 0, time.time()
    frames = [line[6:] for line in text.splitlines() if line.startswith("frame=")]
    return (int(frames[-1]) if frames and frames[-1].isdigit() else 0), mtime


def measure(count: int, seconds: int, workdir: Path, cache: Path) -> dict:
    from gwanje.video.simulator import process

    port, control_port = process.free_port(), process.free_port()
    sim = process.spawn(
        process.argv(count=count, port=port, control_port=control_port, cache_dir=cache),
        workdir / f"simulator-{count}.log",
    )
    readers: list[subprocess.Popen] = []
    try:
        process.wait_ready(sim, control_port)
        progress = [workdir / f"reader-{count}-{n}.txt" for n in range(1, count + 1)]
        for n, path in enumerate(progress, start=1):
            readers.append(
                subprocess.Popen(
                    [
                        "ffmpeg",
                        "-nostdin",
                        "-v",
                        "error",
                        "-rtsp_transport",
                        "tcp",
                        "-timeout",
                        "10000000",
                        "-i",
                        f"rtsp://127.0.0.1:{port}/cam/{n}/main",
                        "-c",
                        "copy",
                        "-f",
                        "null",
                        "-progress",
                        str(path),
                        "-stats_period",
                        "1",
                        "-",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            )
            time.sleep(0.05)  # stagger the DESCRIBE/SETUP/PLAY
        time.sleep(8)  # warm-up: every reader connected and past its first key frame
        f0 = [_frames(p) for p in progress]
        c0, r0 = _cpu_seconds(sim.pid), sum(_cpu_seconds(r.pid) for r in readers if r.poll() is None)
        t0 = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - t0
        f1 = [_frames(p) for p in progress]
        c1, r1 = _cpu_seconds(sim.pid), sum(_cpu_seconds(r.pid) for r in readers if r.poll() is None)
        rss = _rss_mb(sim.pid)
        connected = sum(1 for r in readers if r.poll() is None)
    finally:
        for r in readers:
            if r.poll() is None:
                r.terminate()
        for r in readers:
            try:
                r.wait(timeout=10)
            except subprocess.TimeoutExpired:
                r.kill()
                r.wait()
        process.terminate(sim)
    fps = sorted((b[0] - a[0]) / max(b[1] - a[1], 1e-3) for a, b in zip(f0, f1, strict=True))
    sim_cpu = (c1 - c0) / elapsed * 100
    return {
        "cameras": count,
        "seconds": seconds,
        "readers alive": f"{connected}/{count}",
        "fps min": f"{fps[0]:.1f}",
        "fps median": f"{statistics.median(fps):.1f}",
        "steady": "yes" if connected == count and fps[0] >= 24 else "no",
        "sim CPU %": f"{sim_cpu:.0f}",
        "sim CPU %/camera": f"{sim_cpu / count:.2f}",
        "readers CPU %": f"{(r1 - r0) / elapsed * 100:.0f}",
        "sim RSS MB": f"{rss:.0f}",
    }


def run(backend: str, quick: bool) -> list[dict]:
    counts, seconds = ((10, 30), 15) if quick else ((10, 50, 100), 60)
    cache = Path(tempfile.gettempdir()) / f"gwanje-simulator-cache-{os.getuid()}"
    rows = []
    with tempfile.TemporaryDirectory(prefix="gwanje-bench-sim-") as tmp:
        for count in counts:
            rows.append(measure(count, seconds, Path(tmp), cache))
    return rows
