"""`gwanje simulate-events`: publish realistic demo events over MQTT for the demo devices."""

import json
import signal
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gwanje.situations.mqtt.client import Publisher, device_endpoint
from gwanje.situations.services.intake import topic_for
from gwanje.situations.simulate import KINDS, EventSource, demo_devices


class Command(BaseCommand):
    help = "Publish demo device events (bells, SOS, analytics, plate hits) over MQTT at a steady rate."

    def add_arguments(self, parser):
        parser.add_argument("--rate", type=float, default=1.0, help="events per second (0.001–1000)")
        parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: " + ",".join(KINDS))
        parser.add_argument("--count", type=int, default=0, help="stop after N events (0: until stopped)")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, rate, kinds, count, seed, **options):
        if not 0.001 <= rate <= 1000:
            raise CommandError("--rate must be between 0.001 and 1000 events per second")
        wanted = tuple(k.strip() for k in kinds.split(",") if k.strip())
        unknown = set(wanted) - set(KINDS)
        if unknown or not wanted:
            raise CommandError(f"--kinds: unknown {sorted(unknown)}; choose from {', '.join(KINDS)}")
        if count < 0:
            raise CommandError("--count must be 0 or more")
        devices, secrets = demo_devices()
        try:
            source = EventSource(devices, kinds=wanted, seed=seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        stop = []
        signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
        signal.signal(signal.SIGINT, lambda *a: stop.append(1))
        publishers: dict[str, Publisher] = {}
        sent, started = 0, time.monotonic()
        try:
            while not stop and (count == 0 or sent < count):
                kind, device_id, body = source.next(timezone.now())
                pub = publishers.get(device_id)
                if pub is None:
                    try:
                        pub = Publisher(device_endpoint(device_id, secrets[device_id]), f"sim-{device_id}")
                    except ConnectionError as exc:
                        self.stderr.write(f"simulate-events: {exc}; retrying in 5 s")
                        time.sleep(5)
                        continue
                    publishers[device_id] = pub
                pub.publish(topic_for(kind, device_id), json.dumps(body, ensure_ascii=False).encode())
                sent += 1
                delay = started + sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        finally:
            for pub in publishers.values():
                pub.drain(10)
                pub.close()
        self.stdout.write(f"simulate-events: published {sent} event(s)")
