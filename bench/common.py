"""Shared helpers of `make bench`.

Each benchmark is a module bench/bench_<name>.py with
    BACKENDS = ("spatialite", "postgis")       # the backends it runs on
    def run(backend: str, quick: bool) -> list[dict]   # rows of its table
run() executes in a child process whose Django is already set up on a fresh, migrated database
of that backend (see bench/__main__.py), so a benchmark only creates its data and measures.
Figures are printed as tables (p50/p99 or throughput); nothing here is a test.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    """Milliseconds of each of `repeat` calls (after `warmup` untimed calls)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary_ms(samples: list[float]) -> dict[str, str]:
    return {
        "p50 ms": f"{percentile(samples, 0.5):.2f}",
        "p99 ms": f"{percentile(samples, 0.99):.2f}",
        "mean ms": f"{statistics.fmean(samples):.2f}",
        "n": str(len(samples)),
    }


def format_table(title: str, rows: Iterable[dict]) -> str:
    rows = list(rows)
    if not rows:
        return f"## {title}\n(no rows)\n"
    headers: list[str] = []
    for row in rows:
        for key in row:
            if key not in headers:
                headers.append(key)
    widths = {h: max(len(h), *(len(str(r.get(h, ""))) for r in rows)) for h in headers}
    line = "| " + " | ".join(h.ljust(widths[h]) for h in headers) + " |"
    sep = "|-" + "-|-".join("-" * widths[h] for h in headers) + "-|"
    body = ["| " + " | ".join(str(r.get(h, "")).ljust(widths[h]) for h in headers) + " |" for r in rows]
    return "\n".join([f"## {title}", "", line, sep, *body, ""])


def stop_group(proc, timeout: float = 15) -> None:
    """SIGTERM a server started with start_new_session=True (its whole process group), then
    SIGKILL if it does not stop in `timeout` s; always reaped."""
    import os
    import signal
    import subprocess

    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_serving(proc, port: int, what: str, timeout: float = 60):
    """Wait until the server answers its login page; `proc`, or RuntimeError (server stopped)."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2).close()  # noqa: S310
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}") from None
            time.sleep(0.3)
    stop_group(proc)
    raise RuntimeError(f"{what} did not start")
