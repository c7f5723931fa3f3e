"""`gwanje ingest`: store and process device events from MQTT (gwanje/situations/mqtt/consumer.py)."""

from django.core.management.base import BaseCommand

from gwanje.situations.mqtt.consumer import Consumer


class Command(BaseCommand):
    help = "Consume device events from MQTT: store each before acknowledging it, then raise incidents."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", default="gwanje-ingest")

    def handle(self, *args, client_id, **options):
        out = lambda text: self.stdout.write(text)  # noqa: E731
        return_code = Consumer(client_id=client_id, out=out).run()
        if return_code:
            raise SystemExit(return_code)
