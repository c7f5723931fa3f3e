"""`gwanje audit purge`: delete what is past retention, and only that.

- access log and login events: older than settings.AUDIT_RETENTION_DAYS (≥ 730, PIPA: 2 years);
- permission-change history: older than settings.PERMISSION_HISTORY_RETENTION_DAYS (≥ 1095, 3 years).

Cut-offs are whole days in Asia/Seoul. A chain loses only a prefix (its oldest records, seq 1..N):
first a record saying what is purged — "seq 1..N up to <day>, last hash H" — is appended to the
same chain, then the rows go, all in one transaction with the append-only guard lifted for that
transaction only (guards.deletion_allowed). `verify` then starts at seq N+1 and checks its prev_hash
against H from that record. Every purge is also written to the access log (action "delete").
The monthly reviews and the anchors are never purged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction

from gwanje.audit import chain, days, guards, services
from gwanje.audit.choices import AccessAction, ChangeAction
from gwanje.audit.verify import PURGE_TEXT

LEGAL_BASIS = "개인정보의 안전성 확보조치 기준 제8조 (접속기록의 보관 및 점검)"


@dataclass
class PurgePlan:
    what: str  # access_log | login_event | permission_change
    cutoff_day: date  # records dated before this day (Asia/Seoul) go
    count: int
    retention_days: int = 0
    first: int | None = None  # seq (chains) or id (login events)
    last: int | None = None
    last_hash: str | None = None

    @property
    def up_to(self) -> date:
        return self.cutoff_day - timedelta(days=1)

    def describe(self) -> str:
        if not self.count:
            return f"{self.what}: nothing dated before {self.cutoff_day}"
        unit = "id" if self.what == "login_event" else "seq"
        return (
            f"{self.what}: {self.count} records, {unit} {self.first}..{self.last}, dated up to {self.up_to}"
        )


def _chain_plan(name: str, what: str, cutoff_day: date, retention_days: int) -> PurgePlan:
    table = chain.TABLES[name]
    cutoff = days.db_datetime(days.start_of(cutoff_day))
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT MIN(seq) FROM "{table}" WHERE at >= %s', [cutoff])  # noqa: S608
        (first_kept,) = cursor.fetchone()
        if first_kept is None:
            cursor.execute(f'SELECT MAX(seq) FROM "{table}"')  # noqa: S608
            (last,) = cursor.fetchone()
        else:
            last = first_kept - 1
        cursor.execute(
            f'SELECT MIN(seq), COUNT(*) FROM "{table}" WHERE seq <= %s',  # noqa: S608
            [last or 0],
        )
        first, count = cursor.fetchone()
        last_hash = None
        if count:
            cursor.execute(f'SELECT hash FROM "{table}" WHERE seq = %s', [last])  # noqa: S608
            (last_hash,) = cursor.fetchone()
    return PurgePlan(
        what, cutoff_day, int(count or 0), retention_days, first, last if count else None, last_hash
    )


def _login_plan(cutoff_day: date, retention_days: int) -> PurgePlan:
    cutoff = days.db_datetime(days.start_of(cutoff_day))
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id), COUNT(*) FROM audit_loginevent WHERE at < %s", [cutoff])
        first, last, count = cursor.fetchone()
    return PurgePlan("login_event", cutoff_day, int(count or 0), retention_days, first, last)


def plan(today: date | None = None) -> list[PurgePlan]:
    today = today or days.today()
    access_days = settings.AUDIT_RETENTION_DAYS
    permission_days = settings.PERMISSION_HISTORY_RETENTION_DAYS
    access_cut = today - timedelta(days=access_days)
    permission_cut = today - timedelta(days=permission_days)
    return [
        _chain_plan(chain.ACCESS, "access_log", access_cut, access_days),
        _login_plan(access_cut, access_days),
        _chain_plan(chain.PERMISSION, "permission_change", permission_cut, permission_days),
    ]


def purge(*, dry_run: bool = False, today: date | None = None) -> list[PurgePlan]:
    """Purge everything past retention in one transaction; returns what was (or would be) purged."""
    with transaction.atomic():
        plans = plan(today)
        if dry_run:
            return plans
        for p in plans:
            if not p.count:
                continue
            if p.what == "login_event":
                subject = f"id {p.first}..{p.last} up to {p.up_to} ({p.count} login events)"
            else:
                subject = PURGE_TEXT.format(first=p.first, last=p.last, day=p.up_to, hash=p.last_hash)
            if p.what == "permission_change":
                services.record_change(
                    actor=None,
                    action=ChangeAction.HISTORY_PURGED,
                    target=subject,
                    before={"first_seq": p.first, "last_seq": p.last, "last_hash": p.last_hash},
                    after={"count": p.count, "up_to": p.up_to.isoformat()},
                )
            services.record_access(
                user=None,
                action=AccessAction.DELETE,
                subject_type=p.what,
                subject=subject,
                reason=f"retention: kept {p.retention_days} days",
                legal_basis=LEGAL_BASIS,
            )
        with guards.deletion_allowed(guards.PURGEABLE_TABLES), connection.cursor() as cursor:
            for p in plans:
                if not p.count:
                    continue
                if p.what == "login_event":
                    cursor.execute("DELETE FROM audit_loginevent WHERE id <= %s AND at < %s", [
                        p.last, days.db_datetime(days.start_of(p.cutoff_day)),
                    ])  # fmt: skip
                else:
                    table = "audit_accesslog" if p.what == "access_log" else "audit_permissionchange"
                    cursor.execute(f'DELETE FROM "{table}" WHERE seq <= %s', [p.last])  # noqa: S608
    return plans
