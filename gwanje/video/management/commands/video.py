"""`gwanje video …`: retention and destruction of recorded video, the disk check, clip export and
the legal holds in force.

    gwanje video retention [--dry-run]      delete video past each camera's retention (hourly timer)
    gwanje video retention --check-disk     only compare free space with the low-water mark (alarm)
    gwanje video export --camera ID --start ISO --end ISO -o FILE.mp4
    gwanje video holds [--all]              legal holds in force (and those past their review date)

Times without a UTC offset are Korean time (Asia/Seoul). A command-line export is written to the
access log (no user: "command line export").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

SEOUL = ZoneInfo("Asia/Seoul")


def parse_time(text: str, what: str) -> dt.datetime:
    """ISO 8601 date and time; without an offset it is Korean time."""
    try:
        value = parse_datetime((text or "").strip().replace(" ", "T", 1))
    except ValueError:
        value = None
    if value is None:
        raise CommandError(
            f"--{what}: {text!r} is not a date and time (use ISO 8601, e.g. 2026-11-24T13:05:00 "
            "for Korean time or 2026-11-24T04:05:00Z)"
        )
    return timezone.make_aware(value, SEOUL) if timezone.is_naive(value) else value


def _local(t: dt.datetime | None) -> str:
    return timezone.localtime(t, SEOUL).strftime("%Y-%m-%d %H:%M:%S") if t else "—"


class Command(BaseCommand):
    help = "Recorded video: retention (destruction), disk check, clip export, legal holds."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)

        p = sub.add_parser(
            "retention",
            help="Delete segments past each camera's retention period (legal holds excepted) and write "
            "the destruction records; check the disk.",
        )
        p.add_argument("--dry-run", action="store_true", help="Only say what would be deleted.")
        p.add_argument(
            "--check-disk", action="store_true", help="Only check free space (opens/clears the disk alarm)."
        )

        p = sub.add_parser("export", help="Cut a recorded range into one MP4 by stream copy.")
        p.add_argument("--camera", required=True, type=int, help="Camera id.")
        p.add_argument("--start", required=True, help="ISO 8601 (no offset: Korean time).")
        p.add_argument("--end", required=True, help="ISO 8601 (no offset: Korean time).")
        p.add_argument("-o", "--output", required=True, help="The MP4 file to write.")

        p = sub.add_parser("holds", help="List the legal holds in force.")
        p.add_argument("--all", action="store_true", help="Released holds too.")

    def handle(self, *args, **options):
        return getattr(self, "do_" + options["subcommand"])(options)

    # --- retention ------------------------------------------------------------------------------
    def do_retention(self, options):
        from gwanje.video import retention

        if options["check_disk"]:
            if options["dry_run"]:
                raise CommandError("--check-disk and --dry-run cannot be combined")
            state = retention.check_disk()
            status = "LOW" if state.low else ("unknown" if not state.known else "OK")
            change = (
                " (alarm raised)" if state.alarm_opened else " (alarm cleared)" if state.alarm_cleared else ""
            )
            self.stdout.write(f"disk {status}: {state.describe()}{change}")
            return
        dry = options["dry_run"]
        try:
            report = retention.run_retention(dry_run=dry)
        except retention.RetentionBusy as e:
            raise CommandError(str(e)) from None
        if report.disk_before and report.disk_before.low:
            self.stderr.write(f"WARNING disk low before retention: {report.disk_before.describe()}")
        for result in report.cameras:
            self.stdout.write(result.describe(dry_run=dry))
        verb = "would delete" if dry else "deleted"
        self.stdout.write(
            f"{verb} {report.segments} segment(s), {report.bytes:,} bytes, of {len(report.cameras)} camera(s)"
            + (f"; {report.held} expired segment(s) kept under legal hold" if report.held else "")
            + (f"; {report.exports_removed} old export(s) removed" if report.exports_removed else "")
        )
        for hold in report.holds_due:
            self.stderr.write(
                f"REVIEW legal hold #{hold.pk} (camera {hold.camera_id}, case {hold.case_number or '—'}) "
                f"was due for review at {_local(hold.expires_at)}; it still protects its video until released"
            )
        for key, error in report.failed.items():
            self.stderr.write(f"ERROR could not delete {key}: {error} (retried next run)")
        room = report.room
        if room and (room.segments or room.only_held_left):
            self.stderr.write(f"ALARM {room.alarm_detail()}")
        elif dry and report.disk_before and report.disk_before.critical:
            self.stderr.write(
                "WARNING disk below the critical mark: a real run also deletes the oldest video inside "
                "its retention period (legal holds excepted) until it is above the mark again"
            )
        if not dry and report.disk_after and report.disk_after.low:
            self.stderr.write(
                "ALARM recording disk still low after retention; video inside its retention period is "
                f"only deleted below the critical mark: {report.disk_after.describe()}"
            )
        if report.failed:
            raise CommandError(f"{len(report.failed)} storage object(s) could not be deleted; see above")

    # --- export ----------------------------------------------------------------------------------
    def do_export(self, options):
        from django.db import transaction

        from gwanje.audit import services as audit
        from gwanje.registry.models import Camera
        from gwanje.video import export

        start = parse_time(options["start"], "start")
        end = parse_time(options["end"], "end")
        if start >= end:
            raise CommandError("--end must be after --start")
        output = Path(options["output"])
        if output.suffix.lower() != ".mp4":
            raise CommandError("-o must name an .mp4 file")
        if not output.parent.is_dir():
            raise CommandError(f"-o: the folder {output.parent} does not exist")
        camera = Camera.objects.select_related("site").filter(pk=options["camera"]).first()
        if camera is None:
            raise CommandError(f"--camera: no camera with id {options['camera']}")
        try:
            clip = export.cut_clip(camera, start, end, output=output)
        except export.ExportError as e:
            raise CommandError(str(e)) from None
        with transaction.atomic():
            audit.record_access(
                user=None,
                action="export",
                subject_type="camera",
                subject=f"camera:{camera.pk} {camera.site.code}-{camera.number} "
                f"{start.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}/{end.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}",
                reason="command line export (gwanje video export)",
            )
        self.stdout.write(
            f"wrote {output} ({clip.bytes:,} bytes, {clip.seconds:.1f} s of video in {clip.parts} part(s)); "
            "the export is in the access log"
        )
        for a, b in clip.gaps:
            self.stdout.write(f"  gap (no recording, left out): {_local(a)} – {_local(b)}")

    # --- holds -----------------------------------------------------------------------------------
    def do_holds(self, options):
        from gwanje.video.models import LegalHold

        holds = LegalHold.objects.select_related("camera__site", "owner").order_by("-created_at")
        if not options["all"]:
            holds = holds.filter(released_at__isnull=True)
        now = timezone.now()
        count = 0
        for h in holds:
            count += 1
            state = "released " + _local(h.released_at) if h.released_at else "in force"
            if not h.released_at and h.expires_at and h.expires_at < now:
                state += ", PAST REVIEW DATE " + _local(h.expires_at)
            self.stdout.write(
                f"#{h.pk} camera {h.camera_id} {h.camera.site.code}-{h.camera.number} "
                f"{_local(h.start)} – {_local(h.end)} case {h.case_number or '—'} "
                f"by {h.owner.get_username()}: {state} — {h.reason}"
            )
        self.stdout.write(f"{count} legal hold(s)")
