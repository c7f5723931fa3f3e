"""Run the simulator as a child process (for `gwanje run`, the tests and the benchmarks).

The child gets SIGTERM when its parent dies (PR_SET_PDEATHSIG), so it never outlives whoever
started it; `terminate()` stops it and reaps it (no zombie).
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from gwanje.video.simulator.control import ControlError, status

PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def argv(
    *,
    count: int,
    port: int,
    control_port: int,
    clock: bool = False,
    user: str | None = None,
    password: str | None = None,
    source: str = "pattern",
    loop_seconds: int | None = None,
    cache_dir: Path | None = None,
    h265_cameras: tuple[int, ...] = (),
    audio_only_cameras: tuple[int, ...] = (),
) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "gwanje.cli",
        "simulate-cameras",
        "--count",
        str(count),
        "--port",
        str(port),
    ]
    args += ["--control-port", str(control_port), "--source", source]
    if clock:
        args.append("--clock")
    if user:
        args += ["--user", user, "--password", password or ""]
    if loop_seconds:
        args += ["--loop-seconds", str(loop_seconds)]
    if cache_dir:
        args += ["--cache-dir", str(cache_dir)]
    for n in h265_cameras:
        args += ["--h265-camera", str(n)]
    for n in audio_only_cameras:
        args += ["--audio-only-camera", str(n)]
    return args


def spawn(args: list[str], log_path: Path | None = None, *, inherit_output: bool = False) -> subprocess.Popen:
    """Start the simulator; its output goes to log_path, to our own output (inherit_output) or
    nowhere."""
    common = {"stdin": subprocess.DEVNULL, "preexec_fn": _die_with_parent}
    if inherit_output:
        return subprocess.Popen(args, **common)
    if log_path is None:
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **common)
    with open(log_path, "ab") as log:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **common)


def wait_ready(proc: subprocess.Popen, control_port: int, timeout: float = 180) -> dict:
    """Wait until the simulator answers on its control port; its status. RuntimeError when it
    exits or does not answer in time (the first start encodes the clips: allow a minute)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the camera simulator exited with status {proc.returncode}")
        with contextlib.suppress(ControlError):
            return status(control_port, timeout=2)
        if time.monotonic() > deadline:
            raise RuntimeError(f"the camera simulator did not start in {timeout:.0f} s")
        time.sleep(0.2)


def terminate(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it does not stop in `timeout` s; always reaped."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()
