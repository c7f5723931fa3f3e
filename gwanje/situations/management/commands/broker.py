"""`gwanje broker`: the private Mosquitto in the foreground (what `gwanje run` starts as a child), or
`--sync-accounts` to rewrite its password file from the devices and make a running one re-read it."""

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gwanje.situations.mqtt import broker
from gwanje.video.simulator.process import terminate


class Command(BaseCommand):
    help = "Run the private MQTT broker (Mosquitto on 127.0.0.1:GWANJE_MQTT_PORT), or sync its accounts."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument("--sync-accounts", action="store_true")

    def handle(self, *args, port, sync_accounts, **options):
        if settings.MQTT_URL:
            raise CommandError("GWANJE_MQTT_URL is set: the platform uses that broker, not a private one.")
        port = port or settings.MQTT_PORT
        if sync_accounts:
            broker.write_passwords()
            pid = broker.running_pid()
            if pid is None:
                self.stdout.write("broker accounts written (no private broker is running)")
                return
            try:
                broker.reload(pid)
            except ProcessLookupError:
                self.stdout.write("broker accounts written (the private broker has just stopped)")
                return
            self.stdout.write("broker accounts synced")
            return
        if broker.running_pid() is not None:
            raise CommandError(f"a private broker already runs for {broker.broker_dir()}")
        try:
            proc = broker.start(port)
        except RuntimeError as exc:
            raise CommandError(f"{exc} (set GWANJE_MQTT_PORT to a free port)") from None
        broker.pid_file().write_text(str(proc.pid))
        self.stdout.write(f"MQTT broker on 127.0.0.1:{port} (files in {broker.broker_dir()})")
        stop = []
        signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
        signal.signal(signal.SIGINT, lambda *a: stop.append(1))
        try:
            while not stop and proc.poll() is None:
                time.sleep(0.2)
        finally:
            terminate(proc, timeout=10)
            broker.pid_file().unlink(missing_ok=True)
        if not stop:
            raise CommandError(f"mosquitto exited with status {proc.returncode}")
