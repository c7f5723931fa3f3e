"""Daily anchors (table and file) and the retention purge; verify stays green after both."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from gwanje.audit import anchors, days, purge, services
from gwanje.audit.models import AccessLog, AuditAnchor, LoginEvent, PermissionChange

from .conftest import record_n, run_verify, tampering

pytestmark = pytest.mark.django_db


def test_anchor_is_written_to_the_table_and_the_file_once(anchor_dir):
    records = record_n(3)
    today = days.today()
    # Anchoring today needs the day to be over: pretend it is tomorrow.
    result = anchors.write_anchor("access", today, today=today + timedelta(days=1))
    assert (result.seq, result.hash, result.created, result.file_written) == (
        records[-1].seq,
        records[-1].hash,
        True,
        True,
    )
    line = f"{today.isoformat()} {records[-1].seq} {records[-1].hash}\n"
    assert (anchor_dir / "access-anchors.log").read_text() == line
    again = anchors.write_anchor("access", today, today=today + timedelta(days=1))
    assert not again.created and not again.file_written
    assert (anchor_dir / "access-anchors.log").read_text() == line
    assert AuditAnchor.objects.filter(chain="access", day=today).count() == 1
    services.record_access(user=None, action="view", subject_type="camera", subject="camera:later")
    ok, out = run_verify()
    assert ok, out
    assert "1 anchor(s)" in out or "2 anchor(s)" in out


def test_anchor_refuses_a_day_that_is_not_over():
    with pytest.raises(ValueError, match="not over yet"):
        anchors.write_anchor("access", days.today())
    with pytest.raises(CommandError, match="not over yet"):
        call_command("audit", "anchor", "--day", days.today().isoformat())
    with pytest.raises(CommandError, match="not a date"):
        call_command("audit", "anchor", "--day", "2026-02-30")


def test_anchor_command_fills_yesterday_and_is_idempotent(anchor_dir):
    yesterday = (days.today() - timedelta(days=1)).isoformat()
    out = io.StringIO()
    call_command("audit", "anchor", "--day", yesterday, stdout=out)
    assert f"access {yesterday}: seq" in out.getvalue() and "(written, file line added)" in out.getvalue()
    out = io.StringIO()
    call_command("audit", "anchor", "--day", yesterday, stdout=out)
    assert "(already there)" in out.getvalue()
    assert len((anchor_dir / "permission-anchors.log").read_text().splitlines()) == 1
    # Without --day: every missing day up to yesterday (here: none left).
    out = io.StringIO()
    call_command("audit", "anchor", stdout=out)
    assert out.getvalue() == ""


def test_verify_reports_an_anchor_file_that_differs_from_the_table(anchor_dir):
    records = record_n(2)
    today = days.today()
    anchors.write_anchor("access", today, today=today + timedelta(days=1))
    path = anchor_dir / "access-anchors.log"
    path.write_text(f"{today.isoformat()} {records[-1].seq} {'e' * 64}\n")
    ok, out = run_verify("--chain", "access")
    assert not ok
    assert f"anchor of {today}: the file" in out and "e" * 64 in out
    assert (
        f"seq {records[-1].seq} id {records[-1].pk}: anchor of {today} (file) holds a different hash" in out
    )


def test_verify_reports_a_rewritten_chain_that_no_longer_matches_its_anchor(anchor_dir):
    """An intruder who edits a record and recomputes every later hash (and the head) still
    cannot match the anchor kept outside the database."""
    records = record_n(3)
    today = days.today()
    anchors.write_anchor("access", today, today=today + timedelta(days=1))
    with tampering() as cursor:
        prev = records[0].hash
        for r in records[1:]:
            stored = AccessLog.objects.get(pk=r.pk)
            stored.subject = "camera:forged" if r is records[1] else stored.subject
            stored.prev_hash = prev
            stored.hash = stored.computed_hash()
            cursor.execute(
                "UPDATE audit_accesslog SET subject = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [stored.subject, stored.prev_hash, stored.hash, r.pk],
            )
            prev = stored.hash
        cursor.execute("UPDATE audit_chainhead SET last_hash = %s WHERE chain = 'access'", [prev])
        cursor.execute("DELETE FROM audit_auditanchor")
    ok, out = run_verify("--chain", "access")
    assert not ok
    assert "is in" in out and "but not in the table" in out
    assert (
        f"seq {records[-1].seq} id {records[-1].pk}: anchor of {today} (file) holds a different hash" in out
    )


def test_purge_removes_a_prefix_logs_it_and_verify_stays_green(supervisor):
    access = record_n(4, user=supervisor)
    change = services.record_change(actor=supervisor, action="account_changed", subject_user=supervisor)
    services.record_login(username=supervisor.username, user=supervisor, success=True)
    future = days.today() + timedelta(days=settings.PERMISSION_HISTORY_RETENTION_DAYS + 1)

    dry = purge.purge(dry_run=True, today=future)
    assert [p.count > 0 for p in dry] == [True, True, True]
    assert AccessLog.objects.filter(pk=access[0].pk).exists()

    plans = purge.purge(today=future)
    by_what = {p.what: p for p in plans}
    assert by_what["access_log"].last >= access[-1].seq
    assert not AccessLog.objects.filter(seq__lte=by_what["access_log"].last).exists()
    assert not PermissionChange.objects.filter(pk=change.pk).exists()
    assert not LoginEvent.objects.exists()
    # The purge is in the chains it shortened and in the access log.
    notice = AccessLog.objects.get(action="delete", subject_type="access_log")
    a = by_what["access_log"]
    up_to = future - timedelta(days=settings.AUDIT_RETENTION_DAYS + 1)
    assert notice.subject == f"seq {a.first}..{a.last} up to {up_to}, last hash {a.last_hash}"
    assert notice.username == "system" and notice.legal_basis
    assert AccessLog.objects.filter(action="delete", subject_type="login_event").exists()
    assert AccessLog.objects.filter(action="delete", subject_type="permission_change").exists()
    assert PermissionChange.objects.filter(action="history_purged").count() == 1
    ok, out = run_verify()
    assert ok, out
    assert f"starts at seq {by_what['access_log'].last + 1}" in out
    ok, out = run_verify("--since", days.today().isoformat())
    assert ok, out

    # A second purge later on: verify follows the newest purge record.
    record_n(2)
    purge.purge(today=future + timedelta(days=1))
    ok, out = run_verify()
    assert ok, out


def test_verify_reports_a_deleted_prefix_without_a_purge_record():
    records = record_n(3)
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_accesslog WHERE seq <= %s", [records[1].seq])
    ok, out = run_verify("--chain", "access")
    assert not ok
    assert f"records seq 1..{records[1].seq} are missing and no purge record accounts for them" in out


def test_verify_reports_a_deleted_prefix_up_to_an_anchored_day(anchor_dir):
    """An anchor of the last deleted record is no excuse: only a purge record may account for a
    missing prefix."""
    from .conftest import add_access

    today = days.today()
    records = [
        add_access(None, days.start_of(today - timedelta(days=9 - i)) + timedelta(hours=12)) for i in range(9)
    ]
    call_command("audit", "anchor", stdout=io.StringIO())
    assert AuditAnchor.objects.filter(chain="access", last_seq=records[1].seq).exists()
    ok, out = run_verify("--chain", "access")
    assert ok, out
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_accesslog WHERE seq <= %s", [records[1].seq])
    ok, out = run_verify("--chain", "access")
    assert not ok, out
    assert f"records seq 1..{records[1].seq} are missing and no purge record accounts for them" in out


def test_verify_wants_the_purge_record_to_name_the_missing_prefix_and_its_last_hash():
    from gwanje.audit.verify import PURGE_TEXT

    records = record_n(4)
    last = records[1].seq
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_accesslog WHERE seq <= %s", [last])
    # A purge record for a shorter prefix does not account for the whole of it …
    fake = PURGE_TEXT.format(first=1, last=last - 1, day=days.today(), hash=records[0].hash)
    services.record_access(user=None, action="delete", subject_type="access_log", subject=fake)
    ok, out = run_verify("--chain", "access")
    assert not ok, out
    assert f"records seq {last}..{last} are missing and no purge record accounts for them" in out
    # … and one for the prefix with another last hash does not match the first kept record.
    fake = PURGE_TEXT.format(first=1, last=last, day=days.today(), hash="e" * 64)
    services.record_access(user=None, action="delete", subject_type="access_log", subject=fake)
    ok, out = run_verify("--chain", "access")
    assert not ok, out
    assert f"seq {records[2].seq} id {records[2].pk}: prev_hash does not match" in out


def test_verify_reports_records_deleted_after_a_purge():
    record_n(3)
    future = days.today() + timedelta(days=settings.AUDIT_RETENTION_DAYS + 1)
    plans = {p.what: p for p in purge.purge(today=future)}
    record_n(2)
    kept = list(AccessLog.objects.order_by("seq").values_list("seq", flat=True))
    assert kept[0] == plans["access_log"].last + 1
    ok, out = run_verify("--chain", "access")
    assert ok, out
    with tampering() as cursor:  # the oldest record kept (the purge record itself)
        cursor.execute("DELETE FROM audit_accesslog WHERE seq = %s", [kept[0]])
    ok, out = run_verify("--chain", "access")
    assert not ok, out
    assert f"records seq 1..{kept[0]} are missing and no purge record accounts for them" in out


def test_purge_command_dry_run_and_nothing_to_purge():
    record_n(1)
    out = io.StringIO()
    call_command("audit", "purge", "--dry-run", stdout=out)
    assert "access_log: nothing dated before" in out.getvalue()
    out = io.StringIO()
    call_command("audit", "purge", stdout=out)
    assert "purged 0 record(s)" in out.getvalue()


def test_anchor_command_backfills_missing_days(anchor_dir):
    from .conftest import add_access

    three_days_ago = days.today() - timedelta(days=3)
    old = add_access(None, days.start_of(three_days_ago) + timedelta(hours=10))
    out = io.StringIO()
    call_command("audit", "anchor", stdout=out)
    lines = (anchor_dir / "access-anchors.log").read_text().splitlines()
    expected_days = [(three_days_ago + timedelta(days=i)).isoformat() for i in range(3)]
    assert [line.split()[0] for line in lines] == expected_days
    assert lines[0].split()[1:] == [str(old.seq), old.hash]
    # Every chain is anchored up to yesterday (an empty chain from yesterday on).
    last = AuditAnchor.objects.filter(chain="permission").order_by("-day").first()
    assert last.day == days.today() - timedelta(days=1)
