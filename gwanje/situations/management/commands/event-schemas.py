from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation

from gwanje.situations.schemas import events_markdown


class Command(BaseCommand):
    help = "Write docs/events.md from the device-event schemas in gwanje/situations/schemas.py."

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", default=str(Path(settings.BASE_DIR) / "docs" / "events.md"))

    def handle(self, *args, output, **options):
        with translation.override("en"):
            Path(output).write_text(events_markdown(), encoding="utf-8")
        self.stdout.write(f"wrote {output}")
