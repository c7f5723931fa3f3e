"""`gwanje import-cameras FILE --format standard|seoul-ansim`: see gwanje.registry.formats."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gwanje.accounts.models import Organisation
from gwanje.registry.choices import Purpose
from gwanje.registry.formats import ENCODINGS, IMPORT_FORMATS, FormatError, ImportOptions, import_cameras
from gwanje.registry.formats.importer import ImportReport

MAX_LISTED = 200  # issues printed in full; the rest are counted


class TqdmProgress:
    """A progress bar on the command's stderr, only when that is a terminal."""

    def __init__(self, stream) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self.bar = None

    def start(self, description: str, total: int) -> None:
        self.close()
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=description, unit="", file=self.stream, leave=False)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def summary_lines(report: ImportReport) -> list[str]:
    s = report.summary()
    return [
        _("Sites: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, %(skipped)s skipped.")
        % {
            "created": s["sites_created"],
            "updated": s["sites_updated"],
            "unchanged": s["sites_unchanged"],
            "skipped": s["sites_skipped"],
        },
        _(
            "Cameras: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
            "%(retired)s retired, %(skipped)s skipped."
        )
        % {
            "created": s["cameras_created"],
            "updated": s["cameras_updated"],
            "unchanged": s["cameras_unchanged"],
            "retired": s["cameras_retired"],
            "skipped": s["cameras_skipped"],
        },
        _("%(rows)s rows read (%(encoding)s): %(errors)s errors, %(warnings)s warnings.")
        % {"rows": s["rows"], "encoding": report.encoding, "errors": s["errors"], "warnings": s["warnings"]},
    ]


class Command(BaseCommand):
    help = (
        "Import a camera list: 전국CCTV표준데이터 (standard) or Seoul's 안심이 list (seoul-ansim). "
        "Idempotent; every bad row is reported; a file with errors changes nothing unless --skip-invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file")
        parser.add_argument("--format", required=True, choices=IMPORT_FORMATS, dest="fmt")
        parser.add_argument("--dry-run", action="store_true", help="check and report, change nothing")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="import the valid rows, skip the bad ones"
        )
        parser.add_argument(
            "--encoding",
            choices=ENCODINGS,
            default="auto",
            help="auto: BOM → UTF-8, valid UTF-8 → UTF-8, else CP949 (default)",
        )
        parser.add_argument(
            "--department",
            metavar="ORG_CODE",
            help="organisation code every site goes to (standard default: the organisation named by "
            "관리기관명; seoul-ansim default: seongdong-autonomous-admin for new sites)",
        )
        parser.add_argument(
            "--other-purpose",
            choices=Purpose.values(),
            help="standard: the purpose that 설치목적구분 '기타' stands for",
        )

    def handle(self, *args, file, fmt, dry_run, skip_invalid, encoding, department, other_purpose, **options):
        path = Path(file)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CommandError(_("File not found: %(path)s") % {"path": file}) from None
        except IsADirectoryError:
            raise CommandError(_("%(path)s is a directory, not a file.") % {"path": file}) from None
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(path)s: %(err)s") % {"path": file, "err": exc.strerror}
            ) from None
        org = None
        if department:
            org = Organisation.objects.filter(code=department).first()
            if org is None:
                raise CommandError(_("No organisation with the code %(code)s.") % {"code": department})
        options_ = ImportOptions(
            format=fmt,
            encoding=encoding,
            department=org,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            other_purpose=other_purpose,
        )
        progress = TqdmProgress(getattr(self.stderr, "_out", sys.stderr))
        try:
            report = import_cameras(data, options_, progress)
        except FormatError as exc:
            raise CommandError(f"{file}: {exc}") from None
        finally:
            progress.close()
        self._print(report)
        if report.errors and report.sites_skipped >= report.sites_in_file:
            raise CommandError(_("Every row has errors: nothing was imported."))
        if report.blocked:
            raise CommandError(
                _(
                    "%(n)s rows have errors: nothing was imported. Fix them, or use --skip-invalid "
                    "to import the valid rows."
                )
                % {"n": report.rows_skipped}
            )

    def _print(self, report: ImportReport) -> None:
        """Issues in line order on stderr, the summary on stdout."""
        for issue in report.issues[:MAX_LISTED]:
            label = _("error") if issue.is_error else _("warning")
            style = self.style.ERROR if issue.is_error else self.style.WARNING
            self.stderr.write(f"{label}: {issue}", style_func=style)
        if len(report.issues) > MAX_LISTED:
            self.stderr.write(_("… and %(n)s more issues.") % {"n": len(report.issues) - MAX_LISTED})
        if report.blocked:
            head = _("Nothing imported. With --skip-invalid the valid rows would give:")
        elif report.dry_run:
            head = _("Dry run: nothing was changed. The import would give:")
        else:
            head = _("Imported.")
        self.stdout.write(head, style_func=None if report.applied else self.style.NOTICE)
        for line in summary_lines(report):
            self.stdout.write("  " + line)
