"""Access log: record_access per call; `gwanje audit verify` on 1,000,000 records (quick: 100,000)

"record_access" rows time single calls (1,000; quick 200): inside one open transaction (what a
service pays: a savepoint, the chain-head UPDATE, the INSERT, the head's hash), and each in its
own transaction (with the commit). The verify row fills the access-log table directly (the chain
computed in Python with gwanje.audit.chain, rows written with executemany / COPY — the triggers
allow INSERT), then times `gwanje audit verify --chain access`. Goal: ≥ 100,000 records/s.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

BACKENDS = ("spatialite", "postgis")
GOAL_RATE = 100_000

COLUMNS = [
    "seq", "at", "user_id", "username", "name", "organisation", "roles", "ip", "user_agent", "action",
    "subject_type", "subject", "reason", "legal_basis", "result", "prev_hash", "hash",
]  # fmt: skip
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"


def _user():
    from gwanje.accounts import services as accounts
    from gwanje.accounts.roles import Role

    org = accounts.upsert_organisation(code="bench-center", name="통합관제센터", kind="department")
    return accounts.create_user(
        username="bench-agent", organisation=org, roles=[Role.MONITORING_AGENT], name="벤치 관제요원"
    )


def _record_cost(user, n: int) -> list[dict]:
    from django.db import transaction
    from django.test import RequestFactory

    from bench.common import summary_ms
    from gwanje.audit.services import record_access

    request = RequestFactory().get("/video/", REMOTE_ADDR="10.20.30.40", HTTP_USER_AGENT=UA)

    def call(i: int) -> None:
        record_access(
            user=user,
            action="view",
            subject_type="camera",
            subject=f"camera:{i % 1069} 2026-11-24T01:00Z/2026-11-24T02:00Z",
            reason="사건 확인",
            request=request,
        )

    rows = []
    samples = []
    with transaction.atomic():
        for i in range(n + 10):
            t0 = time.perf_counter()
            call(i)
            if i >= 10:
                samples.append((time.perf_counter() - t0) * 1000)
    rows.append({"measure": "record_access, inside a transaction", **summary_ms(samples)})
    samples = []
    for i in range(n + 10):
        t0 = time.perf_counter()
        with transaction.atomic():
            call(i)
        if i >= 10:
            samples.append((time.perf_counter() - t0) * 1000)
    rows.append({"measure": "record_access, own transaction (commit)", **summary_ms(samples)})
    return rows


def _chain_rows(n: int, first_seq: int, prev_hash: str):
    """n access-log rows continuing the chain, as (values for the table, canonical texts)."""
    from gwanje.audit import chain

    h = chain.hasher(chain.ACCESS)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    users = [
        (101 + k, f"agent{k:02d}", f"관제요원{k:02d}", "성동구 통합관제센터", "monitoring_agent")
        for k in range(40)
    ]
    for i in range(n):
        seq = first_seq + i
        at = base + timedelta(milliseconds=100 * i)
        uid, username, name, org, roles = users[i % len(users)]
        subject = f"camera:{i % 1069} 2026-11-24T01:00Z/2026-11-24T02:00Z"
        action = "view" if i % 50 else "export"
        ip = f"10.20.{i % 200}.{i % 250 + 1}"
        values = [str(seq), chain.at_text(at), str(uid), username, name, org, roles, ip, UA, action, "camera",
                  subject, "", "", "allowed"]  # fmt: skip
        digest = h(values, prev_hash)
        yield (seq, at, uid, username, name, org, roles, ip, UA, action, "camera", subject, "", "", "allowed",
               prev_hash, digest)  # fmt: skip
        prev_hash = digest


def _fill(n: int) -> None:
    from django.db import connection, transaction

    from gwanje.audit.models import ChainHead
    from gwanje.core.perf import gc_paused

    with transaction.atomic(), gc_paused():
        head = ChainHead.objects.select_for_update().get(chain="access")
        rows = _chain_rows(n, head.last_seq + 1, head.last_hash)
        last = None
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cols = ", ".join(f'"{c}"' for c in COLUMNS)
                with cursor.cursor.copy(f"COPY audit_accesslog ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        last = row
            else:
                marks = ", ".join(["%s"] * len(COLUMNS))
                sql = f"INSERT INTO audit_accesslog ({', '.join(COLUMNS)}) VALUES ({marks})"  # noqa: S608
                adapt = connection.ops.adapt_datetimefield_value
                batch = []
                for row in rows:
                    batch.append((row[0], adapt(row[1]), *row[2:]))
                    last = row
                    if len(batch) == 50_000:
                        cursor.executemany(sql, batch)
                        batch = []
                cursor.executemany(sql, batch)
        ChainHead.objects.filter(chain="access").update(last_seq=last[0], last_hash=last[-1])
    with connection.cursor() as cursor:
        # As autovacuum leaves a table that was written long before it is verified (PostgreSQL's
        # first read after a bulk COPY also sets every row's hint bits, doubling its time).
        cursor.execute("VACUUM ANALYZE audit_accesslog" if connection.vendor == "postgresql" else "ANALYZE")


def run(backend: str, quick: bool) -> list[dict]:
    from django.core.management import call_command
    from django.db import connection

    from gwanje.audit import verify

    rows = []
    user = _user()
    for row in _record_cost(user, 200 if quick else 1000):
        rows.append({"backend": backend, **row})

    n = 100_000 if quick else 1_000_000
    t0 = time.perf_counter()
    _fill(n)
    fill_s = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM audit_accesslog")
        (total,) = cursor.fetchone()
    out = io.StringIO()
    t0 = time.perf_counter()
    call_command("audit", "verify", "--chain", "access", stdout=out)
    took = time.perf_counter() - t0
    rate = total / took
    report = verify.verify_chain("access")  # a second run: the loop's own rate, warm cache
    rows.append(
        {
            "backend": backend,
            "measure": f"audit verify, {total:,} records (fill {fill_s:.1f} s)",
            "records/s": f"{rate:,.0f}",
            "s": f"{took:.2f}",
            "warm records/s": f"{report.rate:,.0f}",
            "goal": f"≥ {GOAL_RATE:,}/s " + ("ok" if rate >= GOAL_RATE else "MISSED"),
        }
    )
    return rows
