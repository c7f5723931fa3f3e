"""`gwanje export-cameras --format standard|geojson|csv [-o FILE]`: see gwanje.registry.formats.export."""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gwanje.registry.choices import CameraKind, CameraStatus, Purpose
from gwanje.registry.formats import FormatError
from gwanje.registry.formats.export import EXPORT_ENCODINGS, EXPORT_FORMATS, export_cameras, filter_cameras


class Command(BaseCommand):
    help = (
        "Export the camera registry: standard (전국CCTV표준데이터, one row per site, re-importable), geojson "
        "(one Feature per camera) or csv (one row per camera). Stream URLs are never exported."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="fmt")
        parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output)")
        parser.add_argument(
            "--encoding",
            choices=EXPORT_ENCODINGS,
            default="utf-8",
            help="utf-8 (default), utf-8-sig (for Excel) or cp949; GeoJSON is always UTF-8",
        )
        parser.add_argument(
            "--department",
            action="append",
            default=[],
            metavar="ORG_CODE",
            help="only this department's cameras (repeatable)",
        )
        parser.add_argument("--status", action="append", default=[], choices=CameraStatus.values())
        parser.add_argument(
            "--purpose",
            action="append",
            default=[],
            choices=Purpose.values(),
            help="only cameras usable for this purpose (primary or active secondary)",
        )
        parser.add_argument("--kind", action="append", default=[], choices=CameraKind.values())
        parser.add_argument("--site", default="", metavar="CODE", help="only this site")

    def handle(self, *args, fmt, output, encoding, department, status, purpose, kind, site, **options):
        try:
            qs = filter_cameras(departments=department, status=status, purpose=purpose, kind=kind, site=site)
            if output:
                count = self._to_file(Path(output), fmt, qs, encoding)
            else:
                buffer = io.BytesIO()
                count = export_cameras(buffer, fmt, qs, encoding)
                self._to_stdout(buffer.getvalue(), encoding)
        except FormatError as exc:
            raise CommandError(str(exc)) from None
        if output:
            self.stderr.write(_("%(n)s rows written to %(path)s.") % {"n": count, "path": output})

    def _to_file(self, path: Path, fmt: str, qs, encoding: str) -> int:
        """Written next to the target and renamed, so a failed export leaves no half file."""
        directory = path.parent if str(path.parent) else Path(".")
        if not directory.is_dir():
            raise CommandError(_("No such directory: %(dir)s") % {"dir": directory})
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                count = export_cameras(fh, fmt, qs, encoding)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return count

    def _to_stdout(self, data: bytes, encoding: str) -> None:
        target = getattr(self.stdout, "_out", sys.stdout)
        raw = getattr(target, "buffer", None)
        if raw is not None:
            try:
                raw.write(data)
                raw.flush()
            except BrokenPipeError:  # piped into e.g. `head`: stop quietly
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, raw.fileno())
        else:  # a text stream (e.g. call_command(stdout=StringIO()))
            target.write(data.decode("utf-8" if encoding.startswith("utf-8") else encoding))
