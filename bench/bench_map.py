"""Map console at scale: time to first render of every camera in headless Chromium, and the compact endpoint

Seongdong is loaded, then cameras are added up to 100,000 (quick: 20,000): sites of 1-3 cameras,
60 % inside Seongdong's bounding box and 40 % anywhere in Seoul, statuses mixed. `gwanje run`
serves the data dir on a free port; Chromium logs in through the form and opens the console.
"first render" = navigation start → the camera layer's first frame with the loaded cameras
(performance mark `gwanje:cameras-rendered`); "cold" runs use a fresh browser context (no HTTP
cache), "warm" runs reload in the same page. Goal: ≤ 3,000 ms at 100,000 cameras.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from bench.common import percentile, stop_group, summary_ms, timed, wait_serving

BACKENDS = ("spatialite", "postgis")
SEOUL = (126.80, 37.45, 127.18, 37.69)
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
]
USERNAME = "bench-agent"
PASSWORD = "Bench-map-pass-2026"  # noqa: S105


def _populate(target: int) -> int:
    from django.contrib.gis.geos import Point
    from django.db import transaction

    from gwanje import deployments
    from gwanje.accounts.models import Organisation
    from gwanje.geo.models import District
    from gwanje.registry.choices import CameraKind, CameraStatus, Purpose, Source
    from gwanje.registry.models import Camera, Site

    deployments.load("seongdong", log=lambda *a: None)
    need = target - Camera.objects.count()
    departments = list(Organisation.objects.filter(sites__isnull=False).distinct())
    box = District.objects.get(name="성동구").geom.extent
    rng = random.Random(20260101)
    statuses = [CameraStatus.ONLINE, CameraStatus.OFFLINE, CameraStatus.FAULT, CameraStatus.RETIRED]
    purposes = Purpose.values()
    sites: list[Site] = []
    sizes: list[int] = []
    while sum(sizes) < need:
        minx, miny, maxx, maxy = box if rng.random() < 0.6 else SEOUL
        point = Point(round(rng.uniform(minx, maxx), 6), round(rng.uniform(miny, maxy), 6), srid=4326)
        sites.append(
            Site(
                code=f"BENCH{len(sites):06d}",
                name=f"bench {len(sites)}",
                point=point,
                department=rng.choice(departments),
                is_synthetic=True,
                source=Source.MANUAL,
            )
        )
        sizes.append(min(rng.choice([1, 1, 2, 3]), need - sum(sizes)))
    with transaction.atomic():
        Site.objects.bulk_create(sites, batch_size=2000)
        cameras = [
            Camera(
                site=site,
                number=n,
                point=site.point,
                primary_purpose=rng.choice(purposes),
                kind=CameraKind.PTZ if n == 1 and size > 1 else CameraKind.FIXED,
                status=rng.choices(statuses, weights=[90, 6, 3, 1])[0],
            )
            for site, size in zip(sites, sizes, strict=True)
            for n in range(1, size + 1)
        ]
        Camera.objects.bulk_create(cameras, batch_size=2000)
    return Camera.objects.count()


def _agent():
    from gwanje.accounts import services as accounts
    from gwanje.accounts.models import Organisation
    from gwanje.accounts.roles import Role

    return accounts.create_user(
        username=USERNAME,
        organisation=Organisation.objects.get(code="seongdong-it"),
        roles=[Role.MONITORING_AGENT],
        name="벤치 요원",
        password=PASSWORD,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(port: int) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("gwanje")
    cmd = [str(exe)] if exe.exists() else [shutil.which("gwanje") or "gwanje"]
    proc = subprocess.Popen(
        [*cmd, "run", "--port", str(port)],
        env=dict(os.environ),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return wait_serving(proc, port, "gwanje run")


RENDERED_JS = """() => {
  const mark = performance.getEntriesByName('gwanje:cameras-rendered')[0];
  const data = performance.getEntriesByType('resource').find(e => e.name.includes('/map/cameras.json'));
  return {ms: mark.startTime, total: window.__gwanjeRendered.total,
          fetchMs: data ? data.responseEnd - data.startTime : null};
}"""

RERENDER_JS = """extent => {
  const m = gwanjeConsole.map;
  m.getView().fit(ol.proj.transformExtent(extent, 'EPSG:4326', 'EPSG:3857'));
  const out = [];
  for (let i = 0; i < 12; i++) {
    m.getView().setZoom(m.getView().getZoom() + (i % 2 ? 0.01 : -0.01));
    const t0 = performance.now(); m.renderSync(); out.push(performance.now() - t0);
  }
  return {ms: out.slice(2), drawn: Number(document.querySelector('#map').dataset.drawnCameras)};
}"""


def _browser_runs(base: str, runs: int, expected: int) -> dict:
    from playwright.sync_api import sync_playwright

    out = {"cold": [], "warm": [], "fetch": [], "rerender": [], "rerender_drawn": 0}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx_args = {
            "locale": "ko-KR",
            "timezone_id": "Asia/Seoul",
            "viewport": {"width": 1400, "height": 900},
        }
        login = browser.new_context(**ctx_args)
        page = login.new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=username]", USERNAME)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#map[data-rendered=true]", timeout=120_000)
        state = login.storage_state()
        login.close()
        for _ in range(runs):
            ctx = browser.new_context(storage_state=state, **ctx_args)
            page = ctx.new_page()
            page.goto(f"{base}/")
            page.wait_for_selector("#map[data-rendered=true]", timeout=120_000)
            r = page.evaluate(RENDERED_JS)
            assert r["total"] == expected, (r, expected)
            out["cold"].append(r["ms"])
            out["fetch"].append(r["fetchMs"])
            for _ in range(2):
                page.reload()
                page.wait_for_selector("#map[data-rendered=true]", timeout=120_000)
                out["warm"].append(page.evaluate(RENDERED_JS)["ms"])
            rr = page.evaluate(RERENDER_JS, list(SEOUL))
            out["rerender"] += rr["ms"]
            out["rerender_drawn"] = rr["drawn"]
            ctx.close()
        cookies = {c["name"]: c["value"] for c in state["cookies"]}
        browser.close()
    out["cookie"] = f"sessionid={cookies['sessionid']}"
    return out


def _http_get(url: str, cookie: str) -> bytes:
    req = urllib.request.Request(url, headers={"Cookie": cookie, "Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310
        return r.read()


def run(backend: str, quick: bool) -> list[dict]:
    from django.db import connections
    from django.test import Client

    target = 20_000 if quick else 100_000
    runs = 3 if quick else 7
    total = _populate(target)
    user = _agent()
    client = Client()
    client.force_login(user)
    view_ms = timed(lambda: client.get("/map/cameras.json"), repeat=5 if quick else 10, warmup=1)
    payload = client.get("/map/cameras.json").content
    assert json.loads(payload)["count"] == total
    connections.close_all()

    port = _free_port()
    server = _start_server(port)
    try:
        base = f"http://127.0.0.1:{port}"
        b = _browser_runs(base, runs, total)
        http_ms = timed(
            lambda: _http_get(f"{base}/map/cameras.json", b["cookie"]), repeat=5 if quick else 10, warmup=1
        )
    finally:
        stop_group(server)

    def row(what: str, samples: list[float], **extra) -> dict:
        return {"measure": what, "backend": backend, "cameras": f"{total:,}", **summary_ms(samples), **extra}

    goal = "≤ 3000"
    return [
        row(
            "first render, cold browser",
            b["cold"],
            goal=goal,
            ok="yes" if percentile(b["cold"], 0.99) <= 3000 else "NO",
        ),
        row(
            "first render, reload",
            b["warm"],
            goal=goal,
            ok="yes" if percentile(b["warm"], 0.99) <= 3000 else "NO",
        ),
        row(
            "map/cameras.json in browser",
            [f for f in b["fetch"] if f is not None],
            payload=f"{len(payload) / 1e6:.2f} MB",
        ),
        row("map/cameras.json over HTTP", http_ms, payload=f"{len(payload) / 1e6:.2f} MB"),
        row("map/cameras.json view (test client)", view_ms),
        row(f"re-render all of Seoul ({b['rerender_drawn']:,} in view)", b["rerender"]),
    ]
