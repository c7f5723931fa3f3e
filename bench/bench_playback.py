"""Playback seek in headless Chromium: timeline click → first new frame, 1080p ~4 Mbps (goal ≤ 1 s)

The recording: a 1080p25 test pattern (testsrc2) encoded once with x264 ultrafast at 4 Mbps (GOP 2 s),
looped by stream copy into 10 minutes of 10-second HLS fMP4 segments (the recorder's format; cached
between runs under $GWANJE_BENCH_CACHE or the temporary folder) and indexed for one camera
(tests/video/segments.py). A uvicorn server (the ASGI app `gwanje run` serves) runs on a free port;
Chromium opens the playback page with a 10-minute timeline over the recording, signed in as a
monitoring agent. Each seek clicks the timeline at a random time at least 60 s from the playing
position (outside what hls.js has buffered) and takes the page's own measure: the click handler's
performance.now() → the first frame presented after 'seeked' (requestVideoFrameCallback). "open" is
navigation start → the first 'playing' of a fresh page (recordings API, playlist, init and first
segment, decode).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import percentile, stop_group, summary_ms, wait_serving

BACKENDS = ("spatialite", "postgis")
GOAL_MS = 1000
SEGMENT_SECONDS = 10
RECORDING_SECONDS = 600
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
SEOUL = dt.timezone(dt.timedelta(hours=9))


def _cache() -> Path:
    root = Path(os.environ.get("GWANJE_BENCH_CACHE") or Path(tempfile.gettempdir()) / "gwanje-bench-cache")
    path = root / f"playback-1080p-4M-{RECORDING_SECONDS}s-{SEGMENT_SECONDS}s"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def recording():
    """10 min of 1080p ~4 Mbps HLS fMP4 segments (made once, then reused)."""
    from tests.video.segments import _playlist, loop_clip

    out = _cache()
    if (out / "rec" / "index.m3u8").exists():
        return _playlist(out / "rec")
    work = Path(tempfile.mkdtemp(prefix="making-", dir=out.parent))
    source = work / "src.mp4"
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25", "-t", "60",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
            "-b:v", "4M", "-maxrate", "4M", "-bufsize", "4M", str(source),
        ],
        check=True,
        capture_output=True,
        timeout=1200,
    )  # fmt: skip
    loop_clip(source, work / "rec", seconds=RECORDING_SECONDS, segment_seconds=SEGMENT_SECONDS)
    source.unlink()
    if out.exists():  # another run made it meanwhile
        subprocess.run(["rm", "-rf", str(work)], check=False)
    else:
        os.replace(work, out)
    return _playlist(out / "rec")


def _setup():
    """A camera with the recording indexed 30 min ago, and a monitoring agent's signed-in session."""
    from django.contrib.gis.geos import Point
    from django.test import Client
    from django.utils import timezone
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from gwanje.accounts import services as accounts
    from gwanje.accounts.roles import Role
    from gwanje.accounts.security import start_session
    from gwanje.registry.choices import Purpose
    from gwanje.registry.models import Camera, Site
    from tests.video.segments import index_clip

    org = accounts.upsert_organisation(code="bench-center", name="통합관제센터", kind="department")
    site = Site.objects.create(code="BENCH-PLAY", point=Point(127.04, 37.56, srid=4326), department=org)
    camera = Camera.objects.create(
        site=site, number=1, point=site.point, primary_purpose=Purpose.CRIME_PREVENTION, retention_days=30
    )
    user = accounts.create_user(
        username="bench-agent", organisation=org, roles=[Role.MONITORING_AGENT], name="벤치 요원"
    )
    clip = recording()
    t0 = (timezone.now() - dt.timedelta(minutes=30)).replace(microsecond=0)
    _session, segments = index_clip(camera, clip, start=t0)
    client = Client()
    client.force_login(user)
    session = client.session
    start_session(session)
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    bitrate = sum(s.bytes for s in segments) * 8 / sum((s.end - s.start).total_seconds() for s in segments)
    return camera, segments, client.cookies["sessionid"].value, bitrate


def _urlconf() -> str:
    """The project's URLs once the playback routes are merged; the test URLconf until then."""
    from django.urls import NoReverseMatch, reverse

    for name in ("video:playback", "playback"):
        try:
            reverse(name, args=[1])
            return "gwanje.urls"
        except NoReverseMatch:
            pass
    return "tests.video.urls_playback_test"


def serve(port: int, urlconf: str) -> None:
    """The child process: uvicorn serving gwanje.asgi (as `gwanje run` does) with `urlconf`."""
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = urlconf
    import uvicorn

    uvicorn.run("gwanje.asgi:application", host="127.0.0.1", port=port, log_level="warning", lifespan="off")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(port: int, urlconf: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_playback", "serve", str(port), urlconf],
        env=dict(os.environ),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return wait_serving(proc, port, "the server")


def _poll(page, js: str, arg=None, timeout: float = 30.0):
    """Poll a JS function until truthy (wait_for_function evaluates strings, which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(js, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: {js}")
        page.wait_for_timeout(20)


STATE = "() => document.querySelector('#playback').dataset.state"
READY = "() => ['playing', 'error', 'empty'].includes(document.querySelector('#playback').dataset.state)"
OPEN_MS = """() => {
  const mark = performance.getEntriesByName('gwanje:first-frame')[0];
  return mark ? mark.startTime : null;
}"""
SEEKS = "n => Number(document.querySelector('#playback').dataset.seeks || 0) >= n"
SEEK_RESULT = """() => {
  const root = document.querySelector('#playback');
  return {ms: Number(root.dataset.seekMs), playing: gwanjePlayback.currentDate(),
          target: Date.parse(root.dataset.seekTarget)};
}"""


def _browser(base: str, camera_id: int, cookie: str, segments, seeks: int, opens: int) -> dict:
    from playwright.sync_api import sync_playwright

    first, last = segments[0].start, segments[-1].end
    middle = first + (last - first) / 2
    t = middle.astimezone(SEOUL).isoformat().replace("+", "%2B")
    url = f"{base}/video/playback/{camera_id}/?t={t}&span={RECORDING_SECONDS}"
    rng = random.Random(20261124)
    out = {"open": [], "seek": [], "offset": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for i in range(opens):
            ctx = browser.new_context(
                locale="ko-KR", timezone_id="Asia/Seoul", viewport={"width": 1400, "height": 900}
            )
            ctx.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
            page = ctx.new_page()
            page.goto(url)
            _poll(page, READY)
            if page.evaluate(STATE) != "playing":
                raise RuntimeError(page.locator("#pb-message").text_content())
            out["open"].append(_poll(page, OPEN_MS))
            if i == 0:
                box = page.locator("#pb-timeline").bounding_box()
                win = page.evaluate("() => [gwanjePlayback.state.winStart, gwanjePlayback.state.winEnd]")
                lo, hi = first.timestamp() * 1000 + 1000, last.timestamp() * 1000 - 15_000
                for n in range(1, seeks + 1):
                    now_ms = page.evaluate("() => gwanjePlayback.currentDate()")
                    while True:
                        target = rng.uniform(lo, hi)
                        if abs(target - now_ms) >= 60_000:
                            break
                    x = box["x"] + (target - win[0]) / (win[1] - win[0]) * box["width"]
                    page.mouse.click(x, box["y"] + box["height"] / 2)
                    _poll(page, SEEKS, n)
                    r = page.evaluate(SEEK_RESULT)
                    out["seek"].append(r["ms"])
                    out["offset"].append(abs(r["playing"] - r["target"]))
                    page.wait_for_timeout(300)  # let it play a little, as a person would look
            ctx.close()
        browser.close()
    return out


def run(backend: str, quick: bool) -> list[dict]:
    from django.db import connections

    seeks, opens = (5, 2) if quick else (20, 5)
    camera, segments, cookie, bitrate = _setup()
    urlconf = _urlconf()
    connections.close_all()
    port = _free_port()
    server = _start_server(port, urlconf)
    try:
        b = _browser(f"http://127.0.0.1:{port}", camera.pk, cookie, segments, seeks, opens)
    finally:
        stop_group(server)

    recording_label = f"{len(segments)} × {SEGMENT_SECONDS} s, 1080p, {bitrate / 1e6:.1f} Mbps, GOP 2 s"

    def row(what: str, samples: list[float], goal: str = "", ok: str = "") -> dict:
        return {"measure": what, "backend": backend, "recording": recording_label, **summary_ms(samples),
                "goal ms": goal, "ok": ok}  # fmt: skip

    seek_ok = "yes" if percentile(b["seek"], 0.99) <= GOAL_MS else "NO"
    return [
        row("seek: timeline click → first new frame", b["seek"], f"≤ {GOAL_MS}", seek_ok),
        row("open: navigation → playing", b["open"]),
        row("seek landing: stream time shown − clicked, absolute", b["offset"]),
    ]


if __name__ == "__main__":  # the server child: python -m bench.bench_playback serve PORT URLCONF
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gwanje.settings")
        serve(int(sys.argv[2]), sys.argv[3])
