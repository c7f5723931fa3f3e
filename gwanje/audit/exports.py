"""Exports of one month of the access log, login events, permission changes, reviews, or the
review's flags, as CSV (UTF-8 with BOM, for Excel) or XLSX (openpyxl).

An export of the log is itself access to personal information: `export()` writes an access-log
record (action export, subject_type "access_log", subject "month 2026-11 logins") in the same
transaction as it reads the rows; if that record cannot be written, nothing is exported.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils.translation import gettext as _

from gwanje.audit import days, services
from gwanje.audit.choices import AccessAction, AccessResult, ChangeAction, LoginReason
from gwanje.audit.models import AccessLog, LoginEvent, MonthlyReview, PermissionChange

WHAT = ("access", "logins", "changes", "reviews", "flags")
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def when(value: datetime | None) -> str:
    """Asia/Seoul, milliseconds: 2026-11-24 10:00:00.123."""
    if value is None:
        return ""
    return days.local(value).strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: Iterable[list]


def _access(month: date) -> Table:
    start, end = days.month_bounds(month)
    qs = AccessLog.objects.filter(at__gte=start, at__lt=end).order_by("seq")
    fields = ("seq", "at", "username", "name", "organisation", "roles", "ip", "user_agent", "action")
    fields += ("subject_type", "subject", "reason", "legal_basis", "result", "hash")

    def rows() -> Iterator[list]:
        for r in qs.values_list(*fields).iterator(chunk_size=5000):
            seq, at, username, name, org, roles, ip, ua, action, stype, subject, reason, basis, result, h = r
            yield [seq, when(at), username, name, org, roles, ip or "", AccessAction.label(action), stype,
                   subject, reason, basis, AccessResult.label(result), ua, h]  # fmt: skip

    headers = [
        _("Seq"), _("Time"), _("User name"), _("Name"), _("Organisation"), _("Roles"), _("IP address"),
        _("Action"), _("Subject type"), _("Subject"), _("Reason"), _("Legal basis"), _("Result"),
        _("User agent"), _("Hash"),
    ]  # fmt: skip
    return Table(_("Access log"), headers, rows())


def _logins(month: date) -> Table:
    start, end = days.month_bounds(month)
    qs = LoginEvent.objects.filter(at__gte=start, at__lt=end).order_by("id")

    def rows() -> Iterator[list]:
        for r in qs.values_list("id", "at", "username", "user_id", "success", "reason", "ip", "user_agent"):
            pk, at, username, user_id, success, reason, ip, ua = r
            yield [pk, when(at), username, user_id or "", _("Yes") if success else _("No"),
                   LoginReason.label(reason), ip or "", ua]  # fmt: skip

    headers = [_("No."), _("Time"), _("User name (as typed)"), _("User id"), _("Success"), _("Reason"),
               _("IP address"), _("User agent")]  # fmt: skip
    return Table(_("Login events"), headers, rows())


def _changes(month: date) -> Table:
    start, end = days.month_bounds(month)
    qs = PermissionChange.objects.filter(at__gte=start, at__lt=end).order_by("seq")
    fields = ("seq", "at", "actor_username", "subject_username", "action", "target", "before", "after")

    def rows() -> Iterator[list]:
        for r in qs.values_list(*fields, "ip", "hash"):
            seq, at, actor, subject, action, target, before, after, ip, h = r
            yield [
                seq,
                when(at),
                actor,
                subject,
                ChangeAction.label(action),
                target,
                before,
                after,
                ip or "",
                h,
            ]

    headers = [_("Seq"), _("Time"), _("Changed by"), _("Account"), _("Action"), _("Target"), _("Before"),
               _("After"), _("IP address"), _("Hash")]  # fmt: skip
    return Table(_("Permission changes"), headers, rows())


def _reviews(month: date) -> Table:
    qs = MonthlyReview.objects.filter(month=month).order_by("reviewed_at")

    def rows() -> Iterator[list]:
        for r in qs:
            yield [r.month.strftime("%Y-%m"), when(r.reviewed_at), r.reviewer_username, r.reviewer_name,
                   r.remarks, json.dumps(r.flag_counts, ensure_ascii=False, sort_keys=True)]  # fmt: skip

    headers = [_("Month"), _("Reviewed at"), _("Reviewer"), _("Name"), _("Remarks"), _("Flags found")]
    return Table(_("Monthly reviews"), headers, rows())


def flags_table(found) -> Table:
    headers = [_("Kind"), _("Time"), _("User name"), _("Name"), _("Detail"), _("Record")]
    return Table(
        _("Review flags"),
        headers,
        ([f.kind_label, when(f.at), f.user, f.name, f.detail, f.ref] for f in found),
    )


def _flags(month: date) -> Table:
    from gwanje.audit import review

    return flags_table(review.flags(month))


BUILDERS = {"access": _access, "logins": _logins, "changes": _changes, "reviews": _reviews, "flags": _flags}


def _safe_text(value):
    """A text cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(table.headers)
    for row in table.rows:
        w.writerow([_safe_text(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(table: Table) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=table.title[:31])
    ws.append(table.headers)
    for row in table.rows:
        cells = []
        for v in row:
            if isinstance(v, str) and v.startswith("="):
                cell = WriteOnlyCell(ws, value=v)
                cell.data_type = "s"  # text, never a formula
                cells.append(cell)
            else:
                cells.append(v)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def render(table: Table, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    return to_csv(table) if fmt == "csv" else to_xlsx(table)


def filename(month: date, what: str, fmt: str) -> str:
    return f"gwanje-audit-{what}-{month:%Y-%m}.{fmt}"


def export(month: date, what: str, fmt: str, *, user, request=None, reason: str = "") -> bytes:
    """One month of `what` as CSV/XLSX bytes; writes the access record of this export."""
    if what not in WHAT:
        raise ValueError(f"unknown export {what!r}; expected one of: {', '.join(WHAT)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    with transaction.atomic():
        services.record_access(
            user=user,
            action=AccessAction.EXPORT,
            subject_type="access_log",
            subject=f"month {month:%Y-%m} {what} ({fmt})",
            reason=reason or "monthly review export",
            request=request,
        )
        return render(BUILDERS[what](month), fmt)
