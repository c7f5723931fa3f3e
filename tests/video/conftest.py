"""The camera simulator for the video tests: one real `gwanje simulate-cameras` per test session.

    def test_something(simulator):
        url = simulator.url(1)              # rtsp://cam:cam-pass-1@127.0.0.1:<port>/cam/1/main
        sub = simulator.url(2, "sub", auth=False)
        simulator.stop(3); simulator.resume(3)

Cameras 1 … 4 plus the clock camera (`simulator.clock_url`); RTSP basic authentication with
user "cam", password "cam-pass-1". Fault injections are undone after each test that used the
fixture (every camera is resumed), so tests do not leak a stopped camera into the next one.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from gwanje.video.simulator import process
from gwanje.video.simulator.control import control, status

SIMULATOR_CAMERAS = 4
SIMULATOR_USER = "cam"
SIMULATOR_PASSWORD = "cam-pass-1"
LOOP_SECONDS = 4  # short clip: the loop point comes quickly; cached across sessions (keyed by parameters)
START_TIMEOUT = 180


class SimulatorHandle:
    host = "127.0.0.1"
    user = SIMULATOR_USER
    password = SIMULATOR_PASSWORD
    count = SIMULATOR_CAMERAS

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
    """A running camera simulator (4 cameras + clock camera, basic auth cam/cam-pass-1)."""
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
