"""`gwanje audit …`: verify the chains, write daily anchors, purge past retention, the monthly
review and exports, and the PostgreSQL application role's SQL.

    gwanje audit verify [--since YYYY-MM-DD] [--chain access|permission|all]
    gwanje audit anchor [--day YYYY-MM-DD]
    gwanje audit purge [--dry-run]
    gwanje audit review --month 2026-11 [--format text|csv|xlsx] [-o FILE] [--user USERNAME]
    gwanje audit export --month 2026-11 --what access|logins|changes|reviews|flags --format csv|xlsx -o FILE
                        [--user USERNAME]
    gwanje audit app-role-sql ROLE

review and export show personal information (user names, addresses): each writes an access-log
record, as the account --user names (the operator) or else as "system".
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from gwanje.audit import anchors, chain, days, exports, pgrole, purge, review, services, verify
from gwanje.audit.choices import AccessAction


def _day(text: str):
    try:
        return days.parse_day(text)
    except ValueError as e:
        raise CommandError(str(e)) from None


def _month(text: str):
    try:
        return days.parse_month(text)
    except ValueError as e:
        raise CommandError(str(e)) from None


def _operator(username: str | None):
    """The account --user names (who runs the command), None (the system) without it."""
    if not username:
        return None
    model = get_user_model()
    try:
        return model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        raise CommandError(f"no account named {username!r} (--user names the operator)") from None


class Command(BaseCommand):
    help = "Access log and permission-change history: verify, anchor, purge, review, export."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)

        p = sub.add_parser("verify", help="Recompute the hash chains and compare them with the anchors.")
        p.add_argument("--since", help="Check records from this day (Asia/Seoul, YYYY-MM-DD) on.")
        p.add_argument("--chain", default="all", choices=[*chain.CHAINS, "all"])

        p = sub.add_parser(
            "anchor", help="Write the daily anchors (default: every missing day up to yesterday)."
        )
        p.add_argument("--day", help="Anchor only this day (YYYY-MM-DD, Asia/Seoul).")

        p = sub.add_parser("purge", help="Delete records past retention (a record of it is kept).")
        p.add_argument("--dry-run", action="store_true", help="Only say what would be deleted.")

        p = sub.add_parser("review", help="The monthly review's flags.")
        p.add_argument("--month", required=True, help="YYYY-MM")
        p.add_argument("--format", default="text", choices=["text", "csv", "xlsx"])
        p.add_argument("-o", "--output", help="Write to this file (required for xlsx).")
        p.add_argument("--user", help="Your account: the access-log record names it (default: system).")

        p = sub.add_parser("export", help="Export one month (an access-log record is written).")
        p.add_argument("--month", required=True, help="YYYY-MM")
        p.add_argument("--what", required=True, choices=exports.WHAT)
        p.add_argument("--format", required=True, choices=exports.FORMATS)
        p.add_argument("-o", "--output", required=True, help="The file to write.")
        p.add_argument("--user", help="Your account: the access-log record names it (default: system).")

        p = sub.add_parser(
            "app-role-sql", help="Print the SQL granting a PostgreSQL role append-only rights."
        )
        p.add_argument("role")

    def handle(self, *args, **options):
        return getattr(self, "do_" + options["subcommand"].replace("-", "_"))(options)

    # --- verify -------------------------------------------------------------------------------
    def do_verify(self, options):
        since = _day(options["since"]) if options.get("since") else None
        names = chain.CHAINS if options["chain"] == "all" else (options["chain"],)
        problems = 0
        for name in names:
            report = verify.verify_chain(name, since=since)
            span = f" (seq {report.first_seq}..{report.last_seq})" if report.checked else ""
            status = "OK" if report.ok else f"{len(report.problems) + report.more_problems} PROBLEM(S)"
            self.stdout.write(
                f"{name}: {report.checked:,} records checked{span}, {report.anchors_checked} anchor(s), "
                f"{report.seconds:.2f} s, {report.rate:,.0f} records/s — {status}"
            )
            for note in report.notes:
                self.stdout.write(f"  note: {note}")
            for problem in report.problems:
                self.stdout.write(f"  PROBLEM {problem}")
            if report.more_problems:
                self.stdout.write(f"  … and {report.more_problems} more problem(s)")
            problems += len(report.problems) + report.more_problems
        if problems:
            raise CommandError(f"audit verify: {problems} problem(s) found; the first is listed first above")

    # --- anchor -------------------------------------------------------------------------------
    def do_anchor(self, options):
        yesterday = days.today() - timedelta(days=1)
        for name in chain.CHAINS:
            if options.get("day"):
                day = _day(options["day"])
                if day > yesterday:
                    raise CommandError(f"{day} is not over yet (Asia/Seoul): only past days can be anchored")
                todo = [day]
            else:
                todo = anchors.days_to_anchor(name, yesterday)
            for day in todo:
                result = anchors.write_anchor(name, day)
                if result.seq is None:
                    self.stdout.write(f"{name} {day}: skipped — {result.message}")
                    continue
                state = "written" if result.created else "already there"
                if result.file_written:
                    state += ", file line added"
                self.stdout.write(f"{name} {day}: seq {result.seq} {result.hash} ({state})")
                if result.message:
                    self.stderr.write(f"WARNING {name} {day}: {result.message}")

    # --- purge --------------------------------------------------------------------------------
    def do_purge(self, options):
        dry = options["dry_run"]
        plans = purge.purge(dry_run=dry)
        for p in plans:
            self.stdout.write(("would purge " if dry and p.count else "") + p.describe())
        total = sum(p.count for p in plans)
        if not dry:
            self.stdout.write(
                f"purged {total} record(s)" + (", a record of it is in the access log" if total else "")
            )

    # --- review ---------------------------------------------------------------------------------
    def do_review(self, options):
        month = _month(options["month"])
        fmt, output = options["format"], options.get("output")
        if fmt == "xlsx" and not output:
            raise CommandError("--format xlsx needs -o FILE")
        user = _operator(options.get("user"))
        to_file = bool(output) and output != "-"
        with transaction.atomic():  # the access record only if the review is shown or written
            data = self._review(month, fmt)  # read before the record of reading it is written
            services.record_access(
                user=user,
                action=AccessAction.EXPORT if to_file else AccessAction.VIEW,
                subject_type="access_log",
                subject=f"review {month:%Y-%m}",
                reason=f"command line review (gwanje audit review, {fmt})",
            )
            self._output(data, output)

    @staticmethod
    def _review(month, fmt: str) -> bytes:
        found = review.flags(month)
        if fmt == "text":
            lines = [f"Access-log review {month:%Y-%m}: {len(found)} flag(s)"]
            for group in review.grouped(found):
                lines.append(f"{group['label']}: {group['count']}")
                for f in group["flags"]:
                    lines.append(f"  {exports.when(f.at)}  {f.user:<16} {f.detail}  [{f.ref}]")
            return ("\n".join(lines) + "\n").encode()
        return exports.render(exports.flags_table(found), fmt)

    # --- export ---------------------------------------------------------------------------------
    def do_export(self, options):
        month = _month(options["month"])
        user = _operator(options.get("user"))
        with transaction.atomic():  # the access record only if the file is written
            data = exports.export(
                month,
                options["what"],
                options["format"],
                user=user,
                reason="command line export (gwanje audit export)",
            )
            self._output(data, options["output"])
        self.stderr.write(f"wrote {options['output']} ({len(data):,} bytes); the export is in the access log")

    # --- app-role-sql -------------------------------------------------------------------------
    def do_app_role_sql(self, options):
        try:
            self.stdout.write(pgrole.app_role_sql(options["role"]), ending="")
        except ValueError as e:
            raise CommandError(str(e)) from None

    def _output(self, data: bytes, output: str | None) -> None:
        if not output or output == "-":
            if self.stdout._out is sys.stdout:
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            else:
                self.stdout.write(data.decode("utf-8-sig"), ending="")
            return
        try:
            Path(output).write_bytes(data)
        except OSError as e:
            raise CommandError(f"cannot write {output}: {e}") from None
