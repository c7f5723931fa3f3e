"""Device event → incident shown in connected consoles, at a sustained rate over MQTT (QoS 1)

A private Mosquitto, `gwanje ingest` and the ASGI server (uvicorn) run as child processes on this
benchmark's fresh database (Seongdong and its demo devices). 8 emergency bells publish at a paced
200 events/s in total, each over its own connection with a bounded in-flight window; every event
opens a new incident (the bench sets the bells' correlation window to 0 and the SLA limits to a day,
so nothing else is written). 20 consoles (WebSocket clients with signed-in sessions) receive the
feed. Latency: from the event's `ts` (stamped just before publishing) to its arrival at a console,
over every console × event. Lost: events that some console never received.

Full run: 100,000 events; `--quick`: 5,000. GWANJE_BENCH_EVENTS=<n> and GWANJE_BENCH_EVENT_RATE=<r>
override.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import percentile, stop_group, wait_serving

BACKENDS = ("spatialite", "postgis")
CONSOLES = 20
BELLS = 8  # publishers: few connections keep the harness light on a 2-core machine


def _prepare(n_consoles: int) -> list[str]:
    """Seongdong, quiet duty rules for bells, and signed-in agent sessions (cookie values)."""
    from django.conf import settings
    from django.contrib.auth import SESSION_KEY
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from gwanje import deployments
    from gwanje.accounts import services as accounts
    from gwanje.accounts.models import Organisation
    from gwanje.accounts.roles import Role
    from gwanje.accounts.security import start_session
    from gwanje.situations.models import DutyRule

    deployments.load("seongdong", log=lambda *a: None)
    DutyRule.objects.filter(kind="bell").update(
        correlation_minutes=0,
        ack_seconds=86400,
        handover_seconds=86400,
        dispatch_seconds=86400,
        day_starts=dt.time(0, 0),
        day_ends=dt.time(0, 0),
    )
    org = Organisation.objects.get(code="seongdong-it")
    cookies = []
    for i in range(n_consoles):
        user = accounts.create_user(
            username=f"bench-agent-{i}",
            organisation=org,
            roles=[Role.MONITORING_AGENT],
            name=f"벤치 관제요원 {i}",
            password="Bench-pass-2026-events",
        )
        device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
        client = Client()
        client.force_login(user)
        session = client.session
        start_session(session)
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        assert session[SESSION_KEY]
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
    return cookies


def _spawn(args: list[str], log: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


class Consoles:
    """n WebSocket clients in one asyncio loop (a thread): arrival times of each incident number."""

    def __init__(self, url: str, cookies: list[str], origin: str):
        self.url, self.cookies, self.origin = url, cookies, origin
        self.latencies: list[float] = []
        self.seen: list[set[int]] = [set() for _ in cookies]
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _one(self, i: int, connected: list) -> None:
        import websockets

        headers = {"Cookie": self.cookies[i], "Origin": self.origin}
        async with websockets.connect(self.url, additional_headers=headers, max_size=None) as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello", hello
            connected.append(i)
            if len(connected) == len(self.cookies):
                self.ready.set()
            while not self.stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                now = time.time()
                msg = json.loads(raw)
                if msg.get("type") != "incident" or msg.get("event") != "created":
                    continue
                inc = msg["incident"]
                sent = dt.datetime.fromisoformat(inc["last_event_at"]).timestamp()
                self.latencies.append((now - sent) * 1000)
                self.seen[i].add(inc["id"])

    async def _main(self) -> None:
        connected: list[int] = []
        await asyncio.gather(*(self._one(i, connected) for i in range(len(self.cookies))))

    def start(self) -> None:
        self.thread.start()
        if not self.ready.wait(30):
            raise RuntimeError("the consoles did not connect")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


def _publish(n: int, rate: float, devices: list[tuple[str, str]], port: int) -> tuple[float, int]:
    from django.utils import timezone

    from gwanje.situations.mqtt.client import Endpoint, Publisher
    from gwanje.situations.services.intake import topic_for

    pubs = [(d, Publisher(Endpoint("127.0.0.1", port, d, s), f"bench-{d}", window=50)) for d, s in devices]
    started = time.monotonic()
    try:
        for k in range(n):
            device_id, pub = pubs[k % len(pubs)]
            body = {"message_id": f"bench-{k}", "ts": timezone.now().isoformat()}
            pub.publish(topic_for("bell", device_id), json.dumps(body).encode())
            delay = started + (k + 1) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        took = time.monotonic() - started
        for _d, pub in pubs:
            pub.drain(120)
    finally:
        for _d, pub in pubs:
            pub.close()
    return took, n


def run(backend: str, quick: bool) -> list[dict]:
    from django.conf import settings

    from gwanje.situations.models import Device, Incident, RawMessage
    from gwanje.situations.mqtt import broker
    from gwanje.video.simulator.process import free_port

    n = int(os.environ.get("GWANJE_BENCH_EVENTS") or (5_000 if quick else 100_000))
    rate = float(os.environ.get("GWANJE_BENCH_EVENT_RATE") or 200)
    cookies = _prepare(CONSOLES)
    devices = list(
        Device.objects.filter(kind="bell", is_active=True)
        .order_by("device_id")
        .values_list("device_id", "secret")[:BELLS]
    )
    devices = [(d, Device.objects.get(device_id=d).secret) for d, _ in devices]  # decrypted
    mqtt_port, web_port = free_port(), free_port()
    settings.MQTT_PORT = mqtt_port
    env = {**os.environ, "GWANJE_MQTT_PORT": str(mqtt_port), "GWANJE_MQTT_URL": ""}
    with tempfile.TemporaryDirectory(prefix="gwanje-bench-events-") as tmpdir:
        tmp = Path(tmpdir)
        mosquitto = broker.start(mqtt_port, tmp / "mqtt", log_path=tmp / "mosquitto.log")
        procs = [mosquitto]
        consoles = None
        try:
            procs.append(_spawn([sys.executable, "-m", "gwanje.cli", "ingest"], tmp / "ingest.log", env))
            server = _spawn(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "gwanje.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(web_port),
                    "--lifespan",
                    "on",
                    "--log-level",
                    "warning",
                ],
                tmp / "uvicorn.log",
                env,
            )
            procs.append(server)
            wait_serving(server, web_port, "uvicorn")
            time.sleep(2)  # the consumer's persistent session
            consoles = Consoles(
                f"ws://127.0.0.1:{web_port}/ws/console/", cookies, f"http://127.0.0.1:{web_port}"
            )
            consoles.start()
            took, sent = _publish(n, rate, devices, mqtt_port)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and min(len(s) for s in consoles.seen) < sent:
                time.sleep(0.5)
            time.sleep(1)
        finally:
            if consoles is not None:
                consoles.close()
            for proc in reversed(procs):
                stop_group(proc)
        stored = RawMessage.objects.filter(message_id__startswith="bench-").count()
        incidents = Incident.objects.filter(kind="bell").count()
    received = [len(s) for s in consoles.seen]
    lat = consoles.latencies
    return [
        {
            "backend": backend,
            "events": sent,
            "rate/s": f"{sent / took:.0f}",
            "consoles": CONSOLES,
            "stored": stored,
            "incidents": incidents,
            "lost (worst console)": sent - min(received),
            "p50 ms": f"{percentile(lat, 0.5):.0f}",
            "p99 ms": f"{percentile(lat, 0.99):.0f}",
            "max ms": f"{max(lat):.0f}" if lat else "",
            "goal p50≤100 p99≤300 0 lost": "yes"
            if lat and percentile(lat, 0.5) <= 100 and percentile(lat, 0.99) <= 300 and sent == min(received)
            else "no",
        }
    ]
