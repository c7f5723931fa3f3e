"""Live view latency: the simulator's burnt-in clock → the frame shown in headless Chromium (fMP4 over MSE)

`gwanje simulate-cameras --clock` serves a live-encoded camera whose every frame carries the wall
clock (epoch ms) as a bar code (gwanje/video/simulator/barcode.py). A camera is pointed at it, a
uvicorn server on a free port serves gwanje.asgi (the relay: ffmpeg stream copy → fMP4 fragments →
WebSocket), and a supervisor signed in with password + TOTP opens /video/live/<camera>/ in Chromium.
In the page, every presented video frame (requestVideoFrameCallback) is drawn into a canvas, the
bar code decoded, and latency = Date.now() − decoded ms (same machine, same clock): glass-to-glass
minus the camera's own capture. The first 2 s after the first frame are left out (the player's
jump to the live edge). "open → first frame": navigation start → first decoded frame (new page,
new socket; the upstream already runs after the first load). Goal: p50 ≤ 1,000 ms, p99 ≤ 2,000 ms.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import percentile, stop_group, wait_serving

BACKENDS = ("spatialite", "postgis")
CHROMIUM = os.environ.get("GWANJE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
USERNAME = "bench-supervisor"
PASSWORD = "Bench-live-pass-2026"  # noqa: S105

# In the page: decode the clock bar code of each presented frame (layout: gwanje.video.simulator.barcode).
MEASURE_JS = """async ({frames, warmupMs, layout}) => {
  const v = document.querySelector('#live-video');
  const c = document.createElement('canvas');
  c.width = layout.width; c.height = layout.band;
  const g = c.getContext('2d', {willReadFrequently: true});
  const luma = (d, x0, y0) => {
    let sum = 0, n = 0;
    for (let y = y0 + layout.inset; y < y0 + layout.block - layout.inset; y++) {
      for (let x = x0 + layout.inset; x < x0 + layout.block - layout.inset; x++) {
        const i = (y * layout.width + x) * 4;
        sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]; n++;
      }
    }
    return sum / n;
  };
  const decode = () => {
    const sy = v.videoHeight / layout.height;
    g.drawImage(v, 0, 0, v.videoWidth, layout.band * sy, 0, 0, layout.width, layout.band);
    const d = g.getImageData(0, 0, layout.width, layout.band).data;
    const origin = k => [layout.left + layout.block * (k % layout.columns),
                         layout.top + layout.block * Math.floor(k / layout.columns)];
    const white = luma(d, ...origin(0)), black = luma(d, ...origin(1));
    if (white - black < 64) return null;
    const threshold = (white + black) / 2;
    let ms = 0;
    for (let i = 0; i < layout.bits; i++) {
      if (luma(d, ...origin(2 + i)) > threshold) ms += 2 ** i;
    }
    return ms;
  };
  const samples = [], failures = [];
  let first = null, last = -1;
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${samples.length} frames in time`)), 120000);
    const onFrame = () => {
      const now = Date.now();
      if (v.videoWidth > 0) {
        const ms = decode();
        if (ms === null || Math.abs(now - ms) > 60000) failures.push(now);
        else if (ms !== last) {
          last = ms;
          if (first === null) first = now;
          if (now - first >= warmupMs) samples.push(now - ms);
        }
      }
      if (samples.length >= frames) {
        clearTimeout(timer);
        resolve({samples, failures: failures.length});
      } else if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
      else requestAnimationFrame(onFrame);
    };
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
    else requestAnimationFrame(onFrame);
  });
}"""

# The player marks its first playing frame (performance mark, ms since navigation start).
FIRST_FRAME_JS = """() => {
  const mark = performance.getEntriesByName('gwanje:live-playing')[0];
  return mark ? mark.startTime : null;
}"""


def _layout() -> dict:
    from gwanje.video.simulator import barcode as b

    return {
        "width": b.WIDTH,
        "height": b.HEIGHT,
        "band": b.BAND_HEIGHT,
        "block": b.BLOCK,
        "columns": b.COLUMNS,
        "left": b.LEFT,
        "top": b.TOP,
        "bits": b.BITS,
        "inset": 6,
    }


def _prepare(clock_url: str) -> tuple[int, bytes]:
    """Seongdong, a supervisor with a confirmed TOTP device, one camera pointed at the clock camera."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from gwanje import deployments
    from gwanje.accounts import services as accounts
    from gwanje.accounts.models import Organisation
    from gwanje.accounts.roles import Role
    from gwanje.registry import services as registry
    from gwanje.registry.models import Camera

    deployments.load("seongdong", log=lambda *a: None)
    user = accounts.create_user(
        username=USERNAME,
        organisation=Organisation.objects.get(code="seongdong-it"),
        roles=[Role.SUPERVISOR],
        name="벤치 관제팀장",
        password=PASSWORD,
    )
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    camera = Camera.objects.select_related("site").order_by("pk").first()
    camera.main_stream_url = camera.sub_stream_url = clock_url
    registry.save_camera(camera)
    return camera.pk, device.bin_key


def _start_simulator(tmp: Path):
    from gwanje.video.simulator import process

    port, control_port = process.free_port(), process.free_port()
    cache = Path(tempfile.gettempdir()) / f"gwanje-simulator-cache-{os.getuid()}"
    args = process.argv(
        count=1, port=port, control_port=control_port, clock=True, loop_seconds=4, cache_dir=cache
    )
    proc = process.spawn(args, tmp / "simulator.log")
    try:
        process.wait_ready(proc, control_port, timeout=300)
    except RuntimeError:
        process.terminate(proc)
        raise
    return proc, f"rtsp://127.0.0.1:{port}/clock"


def _start_server(port: int, tmp: Path) -> subprocess.Popen:
    log = (tmp / "uvicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gwanje.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--lifespan", "on", "--log-level", "warning"],
        env=dict(os.environ), start_new_session=True, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return wait_serving(proc, port, "uvicorn")


def _sign_in(page, base: str, key: bytes) -> None:
    from django_otp.oath import totp

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#otp-verify")
    page.fill("input[name=token]", f"{totp(key):06d}")
    page.locator("#otp-verify button[type=submit]").first.click()
    page.wait_for_url(f"{base}/")


def _measure(base: str, camera_id: int, key: bytes, frames: int, reopen: int) -> dict:
    from playwright.sync_api import sync_playwright

    layout = _layout()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
            page = context.new_page()
            _sign_in(page, base, key)
            page.goto(f"{base}/video/live/{camera_id}/")
            steady = page.evaluate(MEASURE_JS, {"frames": frames, "warmupMs": 2000, "layout": layout})
            opens = []
            for _ in range(reopen):
                page.goto(f"{base}/video/live/{camera_id}/")
                deadline = time.monotonic() + 30
                while (ms := page.evaluate(FIRST_FRAME_JS)) is None:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the live page did not start playing within 30 s")
                    page.wait_for_timeout(20)
                opens.append(ms)
        finally:
            browser.close()
    return {"steady": steady, "opens": opens}


def run(backend: str, quick: bool) -> list[dict]:
    frames, reopen = (50, 3) if quick else (250, 10)
    with tempfile.TemporaryDirectory(prefix="gwanje-bench-live-") as tmpdir:
        tmp = Path(tmpdir)
        simulator, clock_url = _start_simulator(tmp)
        server = None
        try:
            camera_id, key = _prepare(clock_url)
            from gwanje.video.simulator import process

            port = process.free_port()
            server = _start_server(port, tmp)
            result = _measure(f"http://127.0.0.1:{port}", camera_id, key, frames, reopen)
        finally:
            if server is not None:
                stop_group(server)
            from gwanje.video.simulator import process

            process.terminate(simulator)
    samples = result["steady"]["samples"]
    opens = result["opens"]
    return [
        {
            "backend": backend,
            "measure": "clock → shown frame",
            "n": len(samples),
            "p50 ms": f"{percentile(samples, 0.5):.0f}",
            "p99 ms": f"{percentile(samples, 0.99):.0f}",
            "min ms": f"{min(samples):.0f}",
            "max ms": f"{max(samples):.0f}",
            "unreadable frames": result["steady"]["failures"],
            "goal": "p50 ≤ 1000, p99 ≤ 2000",
        },
        {
            "backend": backend,
            "measure": "open page → first frame",
            "n": len(opens),
            "p50 ms": f"{percentile(opens, 0.5):.0f}",
            "p99 ms": f"{percentile(opens, 0.99):.0f}",
            "min ms": f"{min(opens):.0f}",
            "max ms": f"{max(opens):.0f}",
            "unreadable frames": "",
            "goal": "",
        },
    ]
