from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from gwanje.core.permissions import matrix_markdown


class Command(BaseCommand):
    help = "Write docs/permissions.md from the roles x actions matrix in gwanje/core/permissions.py."

    def add_arguments(self, parser):
        parser.add_argument(
            "-o", "--output", default=str(Path(settings.BASE_DIR) / "docs" / "permissions.md")
        )

    def handle(self, *args, output, **options):
        Path(output).write_text(matrix_markdown(), encoding="utf-8")
        self.stdout.write(f"wrote {output}")
