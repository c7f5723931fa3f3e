"""Account lockout: 5 consecutive failures lock; a clear message that does not tell whether the
password was right; unlock after the configured time or by an administrator; everything logged."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from gwanje.accounts import services
from gwanje.accounts.models import User
from tests.accounts.conftest import changes, english, logins, messages_of, post_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOCKED_TEXT = "This account is locked after 5 failed sign-in attempts."


def fail(client, user, times: int):
    for _ in range(times):
        r = post_login(client, user, "Wrong-pass-999")
    return r


def test_five_failures_lock_the_account(contractor):
    c = english()
    r = fail(c, contractor, 4)
    assert "The username or password is incorrect." in r.content.decode()
    assert User.objects.get(pk=contractor.pk).failed_logins == 4
    r = fail(c, contractor, 1)
    page = r.content.decode()
    assert LOCKED_TEXT in page and "Try again in 30 minutes or ask an administrator" in page
    user = User.objects.get(pk=contractor.pk)
    assert user.locked_at is not None and user.failed_logins == 5
    # locked: the right password gets the very same answer, and no session
    r = post_login(c, contractor, PASSWORD)
    assert r.status_code == 200 and LOCKED_TEXT in r.content.decode()
    assert c.get("/").status_code == 302
    events = list(logins(contractor).values_list("success", "reason"))
    assert events == [(False, "bad_password")] * 5 + [(False, "locked")]
    lock = changes(contractor, "locked").get()
    assert lock.actor_id is None and lock.actor_username == "system"
    assert json.loads(lock.before)["locked"] is False
    after = json.loads(lock.after)
    assert (after["locked"], after["failed_logins"], after["reason"]) == (True, 5, "bad_password")


def test_a_success_resets_the_count(contractor):
    c = english()
    fail(c, contractor, 4)
    assert post_login(c, contractor).status_code == 302
    assert User.objects.get(pk=contractor.pk).failed_logins == 0
    c.post("/accounts/logout/")
    fail(c, contractor, 4)  # 4 again: not locked, the count started over
    assert User.objects.get(pk=contractor.pk).locked_at is None


def test_configured_limit(settings, contractor):
    settings.LOGIN_MAX_FAILURES = 3
    r = fail(english(), contractor, 3)
    assert "This account is locked after 3 failed sign-in attempts." in r.content.decode()


def test_the_lock_runs_out_after_the_configured_time(settings, contractor):
    settings.LOCKOUT_MINUTES = 10
    c = english()
    fail(c, contractor, 5)
    assert "Try again in 10 minutes" in post_login(c, contractor).content.decode()
    User.objects.filter(pk=contractor.pk).update(locked_at=timezone.now() - dt.timedelta(minutes=9))
    assert post_login(c, contractor).status_code == 200  # still locked
    User.objects.filter(pk=contractor.pk).update(locked_at=timezone.now() - dt.timedelta(minutes=11))
    r = post_login(c, contractor)
    assert r.status_code == 302 and r["Location"] == "/"
    user = User.objects.get(pk=contractor.pk)
    assert user.locked_at is None and user.failed_logins == 0
    unlock = changes(contractor, "unlocked").get()
    assert unlock.actor_id is None and json.loads(unlock.after)["reason"] == "timeout"


def test_after_a_lock_ran_out_a_failure_starts_a_new_count(settings, contractor):
    settings.LOCKOUT_MINUTES = 10
    fail(english(), contractor, 5)
    User.objects.filter(pk=contractor.pk).update(locked_at=timezone.now() - dt.timedelta(minutes=11))
    fail(english(), contractor, 1)
    user = User.objects.get(pk=contractor.pk)
    assert user.locked_at is None and user.failed_logins == 1


def test_zero_minutes_means_only_an_administrator_unlocks(settings, contractor, client_for, it_admin):
    settings.LOCKOUT_MINUTES = 0
    c = english()
    r = fail(c, contractor, 5)
    assert "Ask an administrator to unlock it." in r.content.decode()
    User.objects.filter(pk=contractor.pk).update(locked_at=timezone.now() - dt.timedelta(days=30))
    assert post_login(c, contractor).status_code == 200  # still locked a month later
    admin = client_for(it_admin)
    r = admin.post(
        "/admin/accounts/user/",
        {"action": "unlock_accounts", "_selected_action": [contractor.pk]},
        headers={"accept-language": "en"},
    )
    assert r.status_code == 302
    assert "1 account unlocked." in messages_of(r)
    assert post_login(c, contractor).status_code == 302
    record = changes(contractor, "unlocked").get()
    assert record.actor_id == it_admin.pk and json.loads(record.after)["reason"] == "administrator"
    assert json.loads(record.before)["locked"] is True


def test_unlock_service(contractor, it_admin):
    assert services.unlock(contractor, actor=it_admin) is False  # nothing to lift, nothing logged
    fail(Client(), contractor, 5)
    assert services.unlock(contractor, it_admin) is True
    assert not changes(contractor, "unlocked").exclude(actor_id=it_admin.pk).exists()
    assert User.objects.get(pk=contractor.pk).locked_at is None


def test_unknown_user_names_are_logged_and_look_like_a_wrong_password(seongdong):
    r = post_login(english(), "nobody-here", "Whatever-pass-1")
    assert "The username or password is incorrect." in r.content.decode()
    from gwanje.audit.models import LoginEvent

    event = LoginEvent.objects.get(username="nobody-here")
    assert (event.success, event.reason, event.user_id, event.ip) == (
        False,
        "unknown_user",
        None,
        "127.0.0.1",
    )


def test_a_disabled_account_does_not_count_failures(contractor):
    User.objects.filter(pk=contractor.pk).update(is_active=False)
    r = post_login(english(), contractor)
    assert "The username or password is incorrect." in r.content.decode()
    assert logins(contractor).last().reason == "inactive"
    assert User.objects.get(pk=contractor.pk).failed_logins == 0


def test_the_back_office_login_is_locked_out_too(contractor):
    """/admin/login/ authenticates through the same backend."""
    c = english()
    for _ in range(5):
        c.post("/admin/login/", {"username": contractor.username, "password": "Wrong-pass-999"})
    assert User.objects.get(pk=contractor.pk).locked_at is not None
    assert logins(contractor).count() == 5


def test_admin_list_shows_the_lock(contractor, client_for, it_admin):
    fail(Client(), contractor, 5)
    page = client_for(it_admin).get("/admin/accounts/user/", {"q": contractor.username}).content.decode()
    assert re.search(r'field-is_locked"><img [^>]*alt="True"', page), page
    services.unlock(contractor, actor=it_admin)
    page = client_for(it_admin).get("/admin/accounts/user/", {"q": contractor.username}).content.decode()
    assert re.search(r'field-is_locked"><img [^>]*alt="False"', page)
