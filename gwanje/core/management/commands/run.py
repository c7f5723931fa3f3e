"""`gwanje run`: the embedded default — the ASGI web server, and for the demo a camera simulator.

Unless GWANJE_SIMULATOR=off (the default once GWANJE_SECRET_KEY is set, i.e. in production), a
`gwanje simulate-cameras` child serves GWANJE_SIMULATOR_CAMERAS (default 8) cameras on
rtsp://127.0.0.1:8554 (control interface on 127.0.0.1:8555), and that many centrally recorded
demo cameras are pointed at it (registry.services.point_cameras_at: only
cameras without a stream URL or already pointing at the simulator). The child stops with the
server (and gets SIGTERM should this process die).

Unless GWANJE_RECORDER=off, a `gwanje recorder` child records every centrally stored camera that
has a stream URL (the demo cameras pointed at the simulator among them); it too stops with the
server.

Device events: when GWANJE_MQTT_URL is unset, a private Mosquitto (`gwanje broker`) listens on
127.0.0.1:GWANJE_MQTT_PORT (1884); a `gwanje ingest` child consumes the events (unless
GWANJE_INGEST=off); with the demo on, `gwanje simulate-events` publishes a gentle stream of demo
events (GWANJE_EVENT_SIMULATOR=off to do without).
"""

from __future__ import annotations

import os

import uvicorn
from django.core.management.base import BaseCommand, CommandError

SIMULATOR_PORT = 8554
SIMULATOR_CONTROL_PORT = 8555
SIMULATOR_PREFIX = f"rtsp://127.0.0.1:{SIMULATOR_PORT}/"


def simulator_settings() -> tuple[bool, int]:
    """(enabled, camera count) from GWANJE_SIMULATOR and GWANJE_SIMULATOR_CAMERAS."""
    from django.conf import settings

    # on by default only in a development/demo setup (no GWANJE_SECRET_KEY): a production server
    # must never repoint cameras at a simulator because someone forgot to switch it off
    default = "on" if settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET else "off"
    switch = (os.environ.get("GWANJE_SIMULATOR") or default).strip().lower()
    if switch not in ("on", "off"):
        raise CommandError("GWANJE_SIMULATOR must be 'on' or 'off'")
    raw = (os.environ.get("GWANJE_SIMULATOR_CAMERAS") or "8").strip()
    try:
        count = int(raw)
    except ValueError:
        raise CommandError(f"GWANJE_SIMULATOR_CAMERAS must be a whole number, not {raw!r}") from None
    if not 1 <= count <= 200:
        raise CommandError("GWANJE_SIMULATOR_CAMERAS must be between 1 and 200")
    return switch == "on", count


class Command(BaseCommand):
    help = "Serve Gwanje (ASGI, uvicorn); for the demo also simulated cameras (GWANJE_SIMULATOR)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    own_broker = False  # started the private broker (and wrote its pid file)

    def handle(self, *args, host, port, workers, **options):
        enabled, count = simulator_settings()
        recorder_switch = (os.environ.get("GWANJE_RECORDER") or "on").strip().lower()
        if recorder_switch not in ("on", "off"):
            raise CommandError("GWANJE_RECORDER must be 'on' or 'off'")
        simulator = self.start_simulator(count) if enabled else None
        recorder = self.start_recorder() if recorder_switch == "on" else None
        events = self.start_events(demo=enabled)
        try:
            self.stdout.write(f"Gwanje: http://{host}:{port}/  (Ctrl-C to stop)")
            uvicorn.run(
                "gwanje.asgi:application",
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                # Only GWANJE_TRUSTED_PROXIES may set the client address (the access log and the
                # IP allow-lists depend on it); gwanje.audit.services.client_ip reads the header.
                proxy_headers=False,
                lifespan="on",  # shutdown stops the live relays' ffmpeg processes
            )
        finally:
            from gwanje.video.simulator import process

            for child in (*reversed(events), recorder, simulator):
                if child is not None:
                    process.terminate(child)
            if self.own_broker:
                from gwanje.situations.mqtt import broker

                broker.pid_file().unlink(missing_ok=True)  # stale, it could name someone else's pid

    def start_events(self, *, demo: bool) -> list:
        """The private broker (unless GWANJE_MQTT_URL), the ingest consumer, the demo's events."""
        import sys

        from django.conf import settings

        from gwanje.situations.mqtt import broker
        from gwanje.video.simulator import process

        def switch(name: str, default: str) -> bool:
            value = (os.environ.get(name) or default).strip().lower()
            if value not in ("on", "off"):
                raise CommandError(f"{name} must be 'on' or 'off'")
            return value == "on"

        children = []
        self.own_broker = False
        running = None if settings.MQTT_URL else broker.running_pid()
        if running is not None:
            self.stdout.write(f"MQTT broker: using the private broker already running (pid {running})")
        elif not settings.MQTT_URL:
            try:
                child = broker.start(settings.MQTT_PORT)
            except RuntimeError as exc:
                self.stderr.write(f"MQTT broker did not start: {exc} (set GWANJE_MQTT_PORT to a free port)")
                return children
            broker.pid_file().write_text(str(child.pid))
            self.own_broker = True
            children.append(child)
            self.stdout.write(
                f"MQTT broker: 127.0.0.1:{settings.MQTT_PORT} (devices publish gwanje/v1/events/...)"
            )
        cli = [sys.executable, "-m", "gwanje.cli"]
        if switch("GWANJE_INGEST", "on"):
            children.append(process.spawn([*cli, "ingest"], inherit_output=True))
        if demo and switch("GWANJE_EVENT_SIMULATOR", "on"):
            rate = os.environ.get("GWANJE_EVENT_SIMULATOR_RATE") or "0.05"
            children.append(process.spawn([*cli, "simulate-events", "--rate", rate], inherit_output=True))
            self.stdout.write(
                f"Event simulator: {rate} demo events/s (GWANJE_EVENT_SIMULATOR=off to do without)."
            )
        return children

    def start_recorder(self):
        import sys

        from gwanje.video.simulator import process

        child = process.spawn([sys.executable, "-m", "gwanje.cli", "recorder"], inherit_output=True)
        self.stdout.write(
            "Recorder: recording every centrally stored camera with a stream URL "
            "(GWANJE_RECORDER=off to do without)."
        )
        return child

    def start_simulator(self, count: int):
        from gwanje.registry.services import point_cameras_at
        from gwanje.video.simulator import process

        args = process.argv(count=count, port=SIMULATOR_PORT, control_port=SIMULATOR_CONTROL_PORT)
        child = process.spawn(args, inherit_output=True)
        urls = [
            (f"{SIMULATOR_PREFIX}cam/{n}/main", f"{SIMULATOR_PREFIX}cam/{n}/sub") for n in range(1, count + 1)
        ]
        changed = point_cameras_at(urls, replaceable_prefix=SIMULATOR_PREFIX)
        try:
            # Wait for the cameras (the first start encodes the clips) so that the recorder does
            # not begin with a fault for every demo camera.
            process.wait_ready(child, SIMULATOR_CONTROL_PORT)
        except RuntimeError as exc:  # the web server runs on without the simulator
            self.stderr.write(f"Camera simulator did not start: {exc}")
        self.stdout.write(
            f"Camera simulator: {count} cameras on {SIMULATOR_PREFIX}cam/<n>/main|sub "
            f"(control: gwanje simulate-cameras --control-port {SIMULATOR_CONTROL_PORT} --send stop <n>); "
            f"{len(changed)} demo camera(s) repointed. GWANJE_SIMULATOR=off to do without."
        )
        return child
