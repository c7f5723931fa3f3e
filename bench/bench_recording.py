"""Concurrent recording: N simulated 1080p 4 Mbps cameras for 10 min (quick: 1 min), lost segments, CPU/stream

`gwanje simulate-cameras` serves the cameras (1080p, 4 Mbps, 1 s GOP, pre-encoded, looping) and
`gwanje recorder` records them with its default 10 s segments, both as child processes on this
machine. The window starts once every camera has delivered its first segment. "lost" counts every
hole in a camera's recording: a missing sequence number, two consecutive segments that do not
touch in stream time, a restarted session, a gap or fault row. "cpu/stream" is the recorder and its
ffmpeg children (utime+stime from /proc) over the window, in % of one core, divided by N; the
simulator's own CPU is shown apart (it shares the 2 cores). Goal: ≥ 100 streams with 0 lost.
Full run: N = 25, 50, 100 (quick: 10, 25); disk: ~300 MB per stream for 10 minutes. Other sizes:
GWANJE_BENCH_RECORDING_STREAMS=25,50,100 and GWANJE_BENCH_RECORDING_MINUTES=10.
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKENDS = ("spatialite", "postgis")
SEGMENT_SECONDS = 10
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int, *, reaped_children: bool = True) -> float:
    """utime + stime (+ cutime + cstime of reaped children) of one process, in seconds."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children (reaped ones are in its cutime/cstime)."""
    return _cpu_seconds(pid) + sum(_cpu_seconds(c) for c in _children(pid))


def _spawn(argv: list[str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )


def _stop(proc: subprocess.Popen, grace: float = 20.0) -> float:
    """SIGTERM, wait; seconds it took (SIGKILL after `grace`)."""
    t0 = time.monotonic()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return time.monotonic() - t0


class Simulator:
    def __init__(self, count: int, workdir: Path) -> None:
        control = importlib.import_module("gwanje.video.simulator.control")

        self.port, self.control_port = _free_port(), _free_port()
        cache = Path(tempfile.gettempdir()) / f"gwanje-simulator-cache-{os.getuid()}"
        self.log = workdir / "simulator.log"
        self.proc = _spawn(
            [sys.executable, "-m", "gwanje.cli", "simulate-cameras", "--count", str(count),
             "--port", str(self.port), "--control-port", str(self.control_port),
             "--loop-seconds", "10", "--cache-dir", str(cache)],
            self.log,
        )  # fmt: skip
        deadline = time.monotonic() + 600  # the first run encodes the 1080p clip
        try:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"simulator exited: {self.log.read_text()[-2000:]}")
                try:
                    control.status(self.control_port)
                    return
                except control.ControlError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("simulator did not start") from None
                    time.sleep(0.5)
        except BaseException:
            self.close()
            raise

    def url(self, n: int) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam/{n}/main"

    def close(self) -> None:
        _stop(self.proc)


def _cameras(n_max: int) -> list:
    from django.contrib.gis.geos import Point

    from gwanje.accounts.models import Organisation
    from gwanje.registry.models import Camera, Site

    org, _ = Organisation.objects.get_or_create(
        code="bench-recording", defaults={"name": "bench", "kind": "department"}
    )
    site, _ = Site.objects.get_or_create(
        code="BENCH-REC", defaults={"point": Point(127.04, 37.55, srid=4326), "department": org}
    )
    cams = []
    for i in range(1, n_max + 1):
        cam, _ = Camera.objects.get_or_create(
            site=site, number=i, defaults={"point": site.point, "primary_purpose": "crime_prevention"}
        )
        cams.append(cam)
    return cams


def _evaluate(cameras, t_window: float) -> dict:
    from gwanje.video.models import CameraFault, RecordingGap, RecordingSession, Segment
    from gwanje.video.recorder.ingest import seq_of

    segments = lost = expected = short = 0
    for cam in cameras:
        segs = list(Segment.objects.filter(camera=cam).order_by("start", "id"))
        sessions = RecordingSession.objects.filter(camera=cam).count()
        lost += max(0, sessions - 1)
        lost += RecordingGap.objects.filter(camera=cam).count()
        lost += CameraFault.objects.filter(camera=cam).count()
        if not segs:
            lost += 1
            continue
        segments += len(segs)
        span = (segs[-1].end - segs[0].start).total_seconds()
        expected += -(-round(span, 3) // SEGMENT_SECONDS)  # ceil
        if span < t_window:
            short += 1
        for a, b in zip(segs, segs[1:], strict=False):
            hole = a.session_id == b.session_id and seq_of(b.key) != seq_of(a.key) + 1
            if hole or abs((b.start - a.end).total_seconds()) > 0.001:
                lost += 1
    return {"segments": segments, "expected": int(expected), "lost": lost, "short": short}


def _round(n: int, minutes: float, sim: Simulator, cameras, workdir: Path) -> dict:
    from django.conf import settings

    from gwanje.video.models import CameraFault, RecordingGap, RecordingSession, Segment

    for i, cam in enumerate(cameras):
        cam.main_stream_url = sim.url(i + 1) if i < n else ""
        cam.save(update_fields=["main_stream_url", "updated_at"])
    active = cameras[:n]
    log = workdir / f"recorder-{n}.log"
    argv = [sys.executable, "-m", "gwanje.cli", "recorder", "--segment-seconds", str(SEGMENT_SECONDS)]
    rec = _spawn(argv, log)
    try:
        deadline = time.monotonic() + 120
        while Segment.objects.filter(camera__in=active).values("camera").distinct().count() < n:
            if time.monotonic() > deadline or rec.poll() is not None:
                raise RuntimeError(f"not every camera started recording: {log.read_text()[-2000:]}")
            time.sleep(1)
        t1, cpu1, sim1 = time.monotonic(), _tree_cpu(rec.pid), _tree_cpu(sim.proc.pid)
        time.sleep(minutes * 60)
        t2, cpu2, sim2 = time.monotonic(), _tree_cpu(rec.pid), _tree_cpu(sim.proc.pid)
    finally:
        stop_s = _stop(rec)
    window = t2 - t1
    result = _evaluate(active, window)
    cpu = (cpu2 - cpu1) / window * 100
    recorded = Segment.objects.filter(camera__in=active)
    disk = sum(recorded.values_list("bytes", flat=True))
    seconds = sum((s.end - s.start).total_seconds() for s in recorded.only("start", "end"))
    lines = log.read_text(errors="replace").splitlines()
    warnings = sum(1 for line in lines if " WARNING " in line or " ERROR " in line)
    # next round starts clean: no files, no rows (else its first segments would follow a "gap")
    shutil.rmtree(Path(settings.VIDEO_DIR) / "segments", ignore_errors=True)
    Segment.objects.filter(camera__in=active).delete()
    RecordingSession.objects.filter(camera__in=active).delete()
    RecordingGap.objects.filter(camera__in=active).delete()
    CameraFault.objects.filter(camera__in=active).delete()
    return {
        "streams": n,
        "minutes": f"{window / 60:.1f}",
        "segments": result["segments"],
        "expected": result["expected"],
        "lost": result["lost"],
        "cut short": result["short"],
        "recorder cpu %": f"{cpu:.1f}",
        "cpu/stream %": f"{cpu / n:.2f}",
        "simulator cpu %": f"{(sim2 - sim1) / window * 100:.1f}",
        "Mbit/s/stream": f"{disk * 8 / seconds / 1e6:.2f}" if seconds else "",
        "stop s": f"{stop_s:.1f}",
        "warnings": warnings,
        "0 lost": "yes" if result["lost"] == 0 and result["short"] == 0 else "NO",
    }


def run(backend: str, quick: bool) -> list[dict]:
    sizes = (10, 25) if quick else (25, 50, 100)
    minutes = 1.0 if quick else 10.0
    if os.environ.get("GWANJE_BENCH_RECORDING_STREAMS"):  # e.g. "100" or "25,50,100"
        sizes = tuple(int(n) for n in os.environ["GWANJE_BENCH_RECORDING_STREAMS"].split(","))
    if os.environ.get("GWANJE_BENCH_RECORDING_MINUTES"):
        minutes = float(os.environ["GWANJE_BENCH_RECORDING_MINUTES"])
    cameras = _cameras(max(sizes))
    rows = []
    with tempfile.TemporaryDirectory(prefix="gwanje-bench-recording-") as tmp:
        workdir = Path(tmp)
        sim = Simulator(max(sizes), workdir)
        try:
            for n in sizes:
                rows.append({"backend": backend, **_round(n, minutes, sim, cameras, workdir)})
        finally:
            sim.close()
    return rows
