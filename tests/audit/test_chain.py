"""The access log and the permission-change history: appends, the hash chain, verification and
what tampering looks like to `gwanje audit verify`."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import RequestFactory

from gwanje.accounts.roles import Role
from gwanje.audit import chain, services
from gwanje.audit.models import AccessLog, ChainHead, PermissionChange

from .conftest import record_n, run_verify, tampering

pytestmark = pytest.mark.django_db


def test_record_access_appends_a_chained_record_with_identity(agent):
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="Firefox\x1f/1" + "x" * 400)
    before = ChainHead.objects.get(chain="access").last_seq
    first = services.record_access(
        user=agent,
        action="view",
        subject_type="camera",
        subject="camera:123 2026-11-24T01:00Z/2026-11-24T02:00Z",
        reason="사건 2026-0001 확인",
        legal_basis="개인정보 보호법 제18조",
        request=request,
    )
    second = services.record_access(user=agent, action="search", subject_type="plate", subject="12가3456")
    assert (first.seq, second.seq) == (before + 1, before + 2)
    assert second.prev_hash == first.hash and len(first.hash) == 64
    assert first.at.microsecond % 1000 == 0
    stored = AccessLog.objects.get(pk=first.pk)
    assert stored.username == agent.username and stored.name == agent.name
    assert stored.organisation == agent.organisation.name
    assert stored.roles == Role.MONITORING_AGENT
    assert stored.ip == "10.1.2.3"
    assert len(stored.user_agent) == 300 and "\x1f" not in stored.user_agent
    assert stored.computed_hash() == stored.hash
    head = ChainHead.objects.get(chain="access")
    assert (head.last_seq, head.last_hash) == (second.seq, second.hash)
    ok, out = run_verify()
    assert ok, out
    assert "records/s" in out and "access:" in out


def test_verify_reads_the_same_canonical_text_as_the_services(agent):
    """The SQL canonical form (verify) equals the Python one (append) for awkward values."""
    request = RequestFactory().get("/", REMOTE_ADDR="2001:DB8:0:0:0:0:0:1")
    r = services.record_access(
        user=None,
        action="download",
        subject_type="export",
        subject="내보내기 ★ 'quote' \"dq\" %s %%",
        request=request,
    )
    assert r.ip == "2001:db8::1" and r.username == "system"
    services.record_change(
        actor=agent,
        action="roles_changed",
        subject_user=agent,
        target=f"user:{agent.pk}",
        before={"roles": ["monitoring_agent"], "이름": "가"},
        after={"roles": ["supervisor"], "n": 1.5},
        request=request,
    )
    with connection.cursor() as cursor:
        cursor.execute(chain.select_sql("access", connection.vendor, "seq = %s"), [r.seq])
        row = cursor.fetchone()
    assert row[4] == chain.SEP.join(r.canonical_values())
    ok, out = run_verify()
    assert ok, out


@pytest.mark.parametrize(
    "remote,stored",
    [
        ("::ffff:10.1.2.3", "::ffff:10.1.2.3"),
        ("::1.2.3.4", "::102:304"),  # IPv4-compatible: PostgreSQL's host() would say ::1.2.3.4
        ("::0.1.0.0", "::1:0"),
        ("::2", "::2"),
        ("::ffff:0:a01:203", "::ffff:0:a01:203"),
        ("64:ff9b::10.1.2.3", "64:ff9b::a01:203"),
        ("fe80::1%eth0", "fe80::1"),
        ("[2001:db8::1]:8443", "2001:db8::1"),
        ("10.1.2.3:51000", "10.1.2.3"),
    ],
)
def test_every_address_form_has_one_canonical_text_on_both_sides(remote, stored):
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    r = services.record_access(
        user=None, action="view", subject_type="camera", subject="c:1", request=request
    )
    assert r.ip == stored
    with connection.cursor() as cursor:
        cursor.execute(chain.select_sql("access", connection.vendor, "seq = %s"), [r.seq])
        row = cursor.fetchone()
    assert row[4] == chain.SEP.join(r.canonical_values())
    ok, out = run_verify("--chain", "access")
    assert ok, out


def test_record_change_keeps_canonical_json_and_system_actor(agent):
    change = services.record_change(
        actor=None,
        action="grant_expired",
        subject_user=agent,
        target="grant:17",
        before={"b": 1, "a": [2, "가"]},
    )
    stored = PermissionChange.objects.get(pk=change.pk)
    assert stored.actor_username == "system" and stored.actor_id is None
    assert stored.before == '{"a":[2,"가"],"b":1}' and stored.after == ""
    assert stored.subject_username == agent.username


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action": "watch"},
        {"result": "maybe"},
        {"subject": "  "},
        {"subject_type": ""},
        {"subject_type": "x" * 41},
    ],
)
def test_record_access_refuses_bad_arguments(kwargs):
    args = {"user": None, "action": "view", "subject_type": "camera", "subject": "camera:1", **kwargs}
    before = ChainHead.objects.get(chain="access").last_seq
    with pytest.raises(ValueError):
        services.record_access(**args)
    assert ChainHead.objects.get(chain="access").last_seq == before


def test_record_change_refuses_bad_arguments():
    with pytest.raises(ValueError, match="unknown change action"):
        services.record_change(actor=None, action="promoted")
    with pytest.raises(ValueError, match="before must be a dict"):
        services.record_change(actor=None, action="account_changed", before=["x"])


def test_anonymous_user_is_named_anonymous():
    from django.contrib.auth.models import AnonymousUser

    r = services.record_access(
        user=AnonymousUser(), action="view", subject_type="camera", subject="camera:1", result="denied"
    )
    assert r.username == "anonymous" and r.user_id is None and r.roles == ""


def test_a_record_rolls_back_with_the_callers_action_and_leaves_no_gap():
    before = ChainHead.objects.get(chain="access").last_seq
    with pytest.raises(RuntimeError), transaction.atomic():
        services.record_access(user=None, action="view", subject_type="camera", subject="camera:1")
        raise RuntimeError("the action failed")
    assert ChainHead.objects.get(chain="access").last_seq == before
    r = services.record_access(user=None, action="view", subject_type="camera", subject="camera:2")
    assert r.seq == before + 1
    ok, out = run_verify()
    assert ok, out


def test_a_missing_chain_head_is_rebuilt_from_the_last_record():
    records = record_n(2)
    ChainHead.objects.filter(chain="access").delete()
    r = services.record_access(user=None, action="view", subject_type="camera", subject="camera:9")
    assert r.seq == records[-1].seq + 1 and r.prev_hash == records[-1].hash
    ok, out = run_verify()
    assert ok, out


def test_client_ip_ignores_forwarded_for_without_trusted_proxies(settings):
    """No GWANJE_TRUSTED_PROXIES: X-Forwarded-For is the client's own claim, whatever else is set."""
    settings.TRUSTED_PROXIES = []
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.9")
    assert services.client_ip(request) == "127.0.0.1"
    assert services.client_ip(RequestFactory().get("/", REMOTE_ADDR="garbage")) is None
    assert services.client_ip(None) is None


def test_client_ip_believes_forwarded_for_from_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8", "::1"]
    settings.SECURE_PROXY_SSL_HEADER = None  # not what decides
    rf = RequestFactory()

    def ip(remote, forwarded=None):
        extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
        return services.client_ip(rf.get("/", REMOTE_ADDR=remote, **extra))

    # The right-most address that is not itself a trusted proxy; what is left of it is a claim.
    assert ip("127.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.9") == "203.0.113.7"
    assert ip("::1", "203.0.113.7") == "203.0.113.7"
    assert ip("127.0.0.1", " 2001:DB8::7 ,10.1.1.1") == "2001:db8::7"
    assert ip("127.0.0.1", "[2001:db8::7]:443, 203.0.113.8:5000") == "203.0.113.8"
    # Only trusted proxies in the header: the left-most of them; no header: the proxy itself.
    assert ip("127.0.0.1", "10.0.0.5, 10.0.0.9") == "10.0.0.5"
    assert ip("127.0.0.1") == "127.0.0.1"
    assert ip("127.0.0.1", "") == "127.0.0.1"
    # A hop that is not an address where the client's part begins: unknown, never the proxy's.
    assert ip("127.0.0.1", "garbage, 10.0.0.9") is None
    assert ip("127.0.0.1", "6.6.6.6, garbage") is None


def test_client_ip_ignores_forwarded_for_from_an_untrusted_sender(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.2", HTTP_X_FORWARDED_FOR="10.20.0.1")
    assert services.client_ip(request) == "198.51.100.2"
    request = RequestFactory().get("/", REMOTE_ADDR="::ffff:198.51.100.2", HTTP_X_FORWARDED_FOR="10.20.0.1")
    assert services.client_ip(request) == "::ffff:198.51.100.2"
    # A dual-stack socket shows the trusted proxy 127.0.0.1 as ::ffff:127.0.0.1: the same sender.
    request = RequestFactory().get("/", REMOTE_ADDR="::ffff:127.0.0.1", HTTP_X_FORWARDED_FOR="10.20.0.1")
    assert services.client_ip(request) == "10.20.0.1"


def test_client_ip_refuses_a_bad_trusted_proxy_setting(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.TRUSTED_PROXIES = ["10.0.0.0/33"]
    with pytest.raises(ImproperlyConfigured, match="GWANJE_TRUSTED_PROXIES"):
        services.client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.1"))


@pytest.mark.parametrize("remote", ["::ffff:10.1.2.3", "::FFFF:A01:203", "0:0:0:0:0:ffff:10.1.2.3"])
def test_an_ipv4_mapped_address_is_hashed_as_it_is_stored(agent, remote):
    """Django stores ::ffff:10.1.2.3 (GenericIPAddressField, unpack_ipv4=False; PostgreSQL's host()
    says the same): the chain must hash that text, not Python's ::ffff:a01:203."""
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    r = services.record_access(
        user=agent, action="view", subject_type="camera", subject="camera:1", request=request
    )
    change = services.record_change(actor=agent, action="locked", subject_user=agent, request=request)
    login = services.record_login(username=agent.username, user=agent, success=True, request=request)
    assert r.ip == change.ip == login.ip == "::ffff:10.1.2.3"
    assert AccessLog.objects.get(pk=r.pk).ip == r.ip
    assert PermissionChange.objects.get(pk=change.pk).ip == change.ip
    ok, out = run_verify()
    assert ok, out


# --- tampering ------------------------------------------------------------------------------
def test_verify_finds_an_edited_record():
    records = record_n(5)
    victim = records[2]
    with tampering() as cursor:
        cursor.execute("UPDATE audit_accesslog SET subject = %s WHERE id = %s", ["camera:999", victim.pk])
    ok, out = run_verify("--chain", "access")
    assert not ok
    assert f"seq {victim.seq} id {victim.pk}: hash mismatch" in out
    assert "content was changed" in out


def test_verify_finds_a_deleted_record():
    records = record_n(5)
    victim = records[2]
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_accesslog WHERE id = %s", [victim.pk])
    ok, out = run_verify()
    assert not ok
    assert f"records seq {victim.seq}..{victim.seq} are missing" in out


def test_verify_finds_deleted_newest_records():
    records = record_n(4)
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_accesslog WHERE seq >= %s", [records[-2].seq])
    ok, out = run_verify()
    assert not ok
    assert f"the chain head names seq {records[-1].seq}" in out and "newest records were deleted" in out


def test_verify_finds_reordered_records():
    records = record_n(5)
    a, b = records[1], records[3]
    with tampering() as cursor:
        cursor.execute("UPDATE audit_accesslog SET seq = %s WHERE id = %s", [-1, a.pk])
        cursor.execute("UPDATE audit_accesslog SET seq = %s WHERE id = %s", [a.seq, b.pk])
        cursor.execute("UPDATE audit_accesslog SET seq = %s WHERE id = %s", [b.seq, a.pk])
    ok, out = run_verify()
    assert not ok
    assert f"seq {a.seq} id {b.pk}: prev_hash does not match" in out
    assert "reordered" in out


def test_verify_finds_a_forged_record_appended_without_the_head():
    records = record_n(2)
    last = records[-1]
    forged = AccessLog(
        seq=last.seq + 1,
        at=last.at,
        username="intruder",
        action="view",
        subject_type="camera",
        subject="camera:1",
        result="allowed",
        prev_hash=last.hash,
    )
    forged.hash = forged.computed_hash()
    forged.save(force_insert=True)  # a perfect hash, but the chain head never saw it
    ok, out = run_verify()
    assert not ok
    assert f"records after the chain head (seq {last.seq})" in out


def test_verify_finds_an_edited_permission_change(agent):
    change = services.record_change(
        actor=agent, action="locked", subject_user=agent, target=f"user:{agent.pk}"
    )
    with tampering() as cursor:
        cursor.execute("UPDATE audit_permissionchange SET action = %s WHERE id = %s", ["unlocked", change.pk])
    ok, out = run_verify("--chain", "permission")
    assert not ok
    assert f"seq {change.seq} id {change.pk}: hash mismatch" in out
    ok, out = run_verify("--chain", "access")
    assert ok, out


def test_verify_since_checks_from_that_day_on():
    record_n(3)
    from gwanje.audit import days

    ok, out = run_verify("--since", days.today().isoformat())
    assert ok, out
    ok, out = run_verify("--since", "2999-01-01")
    assert ok and "0 records checked" in out


def _two_days():
    """Three records yesterday and three today (Asia/Seoul), in seq order."""
    from datetime import timedelta

    from gwanje.audit import days

    from .conftest import add_access

    today = days.today()
    earlier = [
        add_access(None, days.start_of(today - timedelta(days=1)) + timedelta(hours=h)) for h in (9, 10, 11)
    ]
    later = [add_access(None, days.start_of(today) + timedelta(seconds=s)) for s in (1, 2, 3)]
    return today, earlier, later


def test_verify_since_finds_records_deleted_at_the_start_of_the_window():
    today, earlier, later = _two_days()
    ok, out = run_verify("--chain", "access", "--since", today.isoformat())
    assert ok, out
    assert f"seq {later[0].seq}..{later[-1].seq}" in out
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_accesslog WHERE id = %s", [later[0].pk])
    ok, out = run_verify("--chain", "access", "--since", today.isoformat())
    assert not ok, out
    assert f"records seq {later[0].seq}..{later[0].seq} are missing" in out


def test_verify_since_checks_the_window_against_the_record_before_it():
    today, earlier, later = _two_days()
    with tampering() as cursor:  # the window's first record replaced, its successors rehashed
        first = AccessLog.objects.get(pk=later[0].pk)
        first.subject, first.prev_hash = "camera:forged", "f" * 64
        first.hash = first.computed_hash()
        cursor.execute(
            "UPDATE audit_accesslog SET subject = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [first.subject, first.prev_hash, first.hash, first.pk],
        )
        prev = first.hash
        for r in later[1:]:
            stored = AccessLog.objects.get(pk=r.pk)
            stored.prev_hash = prev
            stored.hash = stored.computed_hash()
            cursor.execute(
                "UPDATE audit_accesslog SET prev_hash = %s, hash = %s WHERE id = %s",
                [stored.prev_hash, stored.hash, r.pk],
            )
            prev = stored.hash
        cursor.execute("UPDATE audit_chainhead SET last_hash = %s WHERE chain = 'access'", [prev])
    ok, out = run_verify("--chain", "access", "--since", today.isoformat())
    assert not ok, out
    assert f"seq {later[0].seq} id {later[0].pk}: prev_hash does not match" in out


def test_verify_since_with_nothing_before_the_window_needs_seq_1_or_a_purge_record():
    today, earlier, later = _two_days()
    with tampering() as cursor:  # everything before the window and its first record
        cursor.execute("DELETE FROM audit_accesslog WHERE seq <= %s", [later[0].seq])
    ok, out = run_verify("--chain", "access", "--since", today.isoformat())
    assert not ok, out
    assert f"records seq 1..{later[0].seq} are missing and no purge record accounts for them" in out


def test_verify_since_finds_a_window_whose_records_were_all_deleted():
    today, earlier, later = _two_days()
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_accesslog WHERE seq >= %s", [later[0].seq])
    ok, out = run_verify("--chain", "access", "--since", today.isoformat())
    assert not ok, out
    assert f"the chain head names seq {later[-1].seq}" in out


@pytest.mark.parametrize(
    "args,message",
    [
        (["--since", "2026-13-01"], "not a date"),
        (["--since", "yesterday"], "not a date"),
        (["--chain", "video"], "invalid choice"),
    ],
)
def test_verify_refuses_bad_arguments(args, message):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=message):
        call_command("audit", "verify", *args)


def test_deleting_an_account_keeps_its_records(agent):
    r = services.record_access(user=agent, action="view", subject_type="camera", subject="camera:1")
    agent.delete()
    stored = AccessLog.objects.get(pk=r.pk)
    assert stored.user_id == r.user_id and stored.username == r.username
    ok, out = run_verify()
    assert ok, out
