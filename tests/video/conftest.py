"""The camera simulator for the video tests: one real `gwanje simulate-cameras` per test session.

    def test_something(simulator):
        url = simulator.url(1)              # rtsp://cam:cam-pass-1@127.0.0.1:<port>/cam/1/main
        sub = simulator.url(2, "sub", auth=False)
        simulator.stop(3); simulator.resume(3)

Cameras 1 … 4 (H.264) plus the clock camera (`simulator.clock_url`); camera 5
(`simulator.h265_camera`) sends H.265 and camera 6 (`simulator.audio_only_camera`) only audio
(G.711 A-law). RTSP basic authentication with user "cam", password "cam-pass-1". Fault injections
are undone after each test that used the fixture (every camera is resumed), so tests do not leak a
stopped camera into the next one.

`recorder` makes Supervisors recording only the given cameras (2 s segments), `cameras` gives three
centrally recorded cameras, `small_disk(size_mb)` mounts a small tmpfs (root only; skips
otherwise) that `recording.fill()` fills up; helpers are in tests/video/recording.py.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from gwanje.registry.choices import CameraStatus
from gwanje.registry.models import Camera
from gwanje.video.recorder.config import RecorderConfig
from gwanje.video.recorder.supervisor import Supervisor
from gwanje.video.simulator import process
from gwanje.video.simulator.control import control, status
from tests.video.recording import SEGMENT, ffmpeg_children

H265_CAMERA = 5
AUDIO_ONLY_CAMERA = 6
SIMULATOR_CAMERAS = 6  # 1 … 4 H.264, 5 H.265, 6 audio only
SIMULATOR_USER = "cam"
SIMULATOR_PASSWORD = "cam-pass-1"
LOOP_SECONDS = 4  # short clip: the loop point comes quickly; cached across sessions (keyed by parameters)
START_TIMEOUT = 180


class SimulatorHandle:
    host = "127.0.0.1"
    user = SIMULATOR_USER
    password = SIMULATOR_PASSWORD
    count = SIMULATOR_CAMERAS
    h264_cameras = (1, 2, 3, 4)
    h265_camera = H265_CAMERA
    audio_only_camera = AUDIO_ONLY_CAMERA

    def __init__(self, port: int, control_port: int, proc: subprocess.Popen, log_path: Path):
        self.port = port
        self.control_port = control_port
        self.proc = proc
        self.log_path = log_path

    def _base(self, auth: bool) -> str:
        credentials = f"{self.user}:{self.password}@" if auth else ""
        return f"rtsp://{credentials}{self.host}:{self.port}"

    def url(self, n: int, stream: str = "main", auth: bool = True) -> str:
        """RTSP URL of camera n (1-based), stream "main" or "sub"; with credentials when auth."""
        if stream not in ("main", "sub"):
            raise ValueError(stream)
        return f"{self._base(auth)}/cam/{n}/{stream}"

    @property
    def clock_url(self) -> str:
        return f"{self._base(True)}/clock"

    def clock_url_without_auth(self) -> str:
        return f"{self._base(False)}/clock"

    def stop(self, n: int | str) -> dict:
        return control(self.control_port, "stop", n)

    def stall(self, n: int | str) -> dict:
        return control(self.control_port, "stall", n)

    def resume(self, n: int | str) -> dict:
        return control(self.control_port, "resume", n)

    def status(self) -> dict:
        return status(self.control_port)

    def reset(self) -> None:
        """Resume every camera that is stopped or stalled."""
        for camera_id, info in self.status()["cameras"].items():
            if info["state"] != "running":
                self.resume(camera_id)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def _wait_ready(handle: SimulatorHandle) -> None:
    try:
        process.wait_ready(handle.proc, handle.control_port, timeout=START_TIMEOUT)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}:\n{handle.log()}") from None
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-timeout", "10000000", "-show_entries",
         "stream=codec_name", "-of", "csv=p=0", handle.url(1)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if probe.returncode != 0 or "h264" not in probe.stdout:
        raise RuntimeError(f"the camera simulator does not serve camera 1: {probe.stderr}\n{handle.log()}")


@pytest.fixture(scope="session")
def simulator(tmp_path_factory):
    """A running camera simulator (4 H.264 cameras, an H.265 one, an audio-only one and the clock
    camera; basic auth cam/cam-pass-1)."""
    port, control_port = process.free_port(), process.free_port()
    cache = Path(tempfile.gettempdir()) / f"gwanje-simulator-cache-{os.getuid()}"
    log_path = tmp_path_factory.mktemp("simulator") / "simulator.log"
    args = process.argv(
        count=SIMULATOR_CAMERAS,
        port=port,
        control_port=control_port,
        clock=True,
        user=SIMULATOR_USER,
        password=SIMULATOR_PASSWORD,
        loop_seconds=LOOP_SECONDS,
        cache_dir=cache,
        h265_cameras=(H265_CAMERA,),
        audio_only_cameras=(AUDIO_ONLY_CAMERA,),
    )
    handle = SimulatorHandle(port, control_port, process.spawn(args, log_path), log_path)
    try:
        _wait_ready(handle)
        yield handle
    finally:
        process.terminate(handle.proc)


@pytest.fixture(autouse=True)
def _simulator_reset(request):
    """After a test that used the simulator: resume cameras it stopped or stalled."""
    yield
    if "simulator" in request.fixturenames:
        handle = request.getfixturevalue("simulator")
        if handle.proc.poll() is None:
            handle.reset()


@pytest.fixture
def recorder(settings, tmp_path):
    """make(cameras, video_dir=None, **config) → a Supervisor recording only those cameras (2 s
    segments), its store and spool under `video_dir` (default a temporary folder). The disk-full
    policy is off (the test machine's free space must not change the outcome) unless a test turns
    it on. At the end every supervisor is closed and no ffmpeg child may be left."""
    settings.VIDEO_DIR = tmp_path / "video"
    settings.DISK_CRITICAL_PERCENT = 0
    made: list[Supervisor] = []

    def make(cameras, video_dir=None, **kw) -> Supervisor:
        if video_dir is not None:
            settings.VIDEO_DIR = Path(video_dir)
        values = {
            "spool_dir": Path(settings.VIDEO_DIR) / "spool",
            "segment_seconds": SEGMENT,
            "camera_ids": frozenset(c.pk for c in cameras),
            "registry_poll_seconds": 0.5,
            "tick_seconds": 0.1,
        }
        values.update(kw)
        supervisor = Supervisor(RecorderConfig(**values))
        made.append(supervisor)
        return supervisor

    yield make
    for supervisor in made:
        supervisor.close()
    assert ffmpeg_children() == []


@pytest.fixture
def cameras():
    """Three centrally recorded cameras of the Seongdong deployment, none recorded yet."""
    qs = Camera.objects.filter(site__has_onsite_storage=False).exclude(status=CameraStatus.RETIRED)
    return list(qs.order_by("pk")[:3])


@pytest.fixture
def small_disk(tmp_path):
    """mount(size_mb) → a fresh tmpfs of that size, to fill up for real (unmounted after the test;
    request it before `recorder`, so the recorder's ffmpeg children are gone by then). Skips the
    test when tmpfs cannot be mounted (not root)."""
    mounted: list[Path] = []

    def mount(size_mb: int) -> Path:
        where = tmp_path / f"disk{len(mounted)}"
        where.mkdir()
        try:
            out = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "gwanje-test", str(where)],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            problem = (out.stderr.strip() or f"exit status {out.returncode}") if out.returncode else ""
        except OSError as exc:
            problem = str(exc)
        if problem:
            pytest.skip(
                f"cannot mount a {size_mb} MB tmpfs to fill up ({problem}): needs root (CAP_SYS_ADMIN); "
                "the disk-full policy is also tested on a store of fixed capacity in test_retention.py"
            )
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)
