"""Second factor (TOTP, RFC 6238) for accounts that may watch or export video or manage accounts:
enrolment with a locally drawn QR code, the code step, wrong codes counting towards the lock,
unverified sessions kept out of pages and the session API, reset by an administrator, and the
summary of the previous sign-in."""

from __future__ import annotations

import json
import re
from base64 import b32decode

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from gwanje.accounts import services
from gwanje.accounts.models import User
from gwanje.accounts.roles import Role
from tests.accounts.conftest import (
    ENROL,
    OTP,
    changes,
    code,
    confirmed_device,
    english,
    logins,
    messages_of,
    post_login,
    wrong_code,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

AGAIN = "Log in again with your password to set up your second factor."


def test_which_roles_need_a_second_factor(make_user):
    from gwanje.core.permissions import requires_mfa

    need = {r for r in Role.values() if requires_mfa(make_user(r))}
    assert need == {
        Role.MONITORING_AGENT, Role.SUPERVISOR, Role.IT_ADMIN, Role.POLICE_STATIONED, Role.POLICE_112,
        Role.POLICE_INVESTIGATOR, Role.SYSTEM_ADMIN,
    }  # fmt: skip


def test_enrolment_shows_a_local_qr_code_and_the_secret(agent):
    c = english()
    r = post_login(c, agent)
    assert r["Location"] == OTP
    r = c.get(OTP)
    assert r.status_code == 302 and r["Location"] == ENROL  # no device yet
    page = c.get(ENROL).content.decode()
    svg = re.search(r"<svg [^>]*>.*?</svg>", page, re.S)
    assert svg and "<path" in svg.group(0) and 'class="qr"' in svg.group(0)
    assert "http" not in svg.group(0).replace("http://www.w3.org/2000/svg", "")  # drawn here, no network
    shown = re.search(r'id="otp-secret">([A-Z2-7 ]+)<', page).group(1)
    secret = shown.replace(" ", "")
    device = TOTPDevice.objects.get(user=agent)
    assert not device.confirmed and b32decode(secret) == device.bin_key
    assert f'id="otp-secret">{shown}<' in c.get(ENROL).content.decode()  # a reload shows the same key
    assert TOTPDevice.objects.filter(user=agent).count() == 1
    # not enrolled yet: every page sends to the code step
    assert c.get("/").status_code == 302
    # the code an authenticator app computes from the secret it scanned
    r = c.post(ENROL, {"token": f"{totp(b32decode(secret)):06d}"})
    assert r.status_code == 302 and r["Location"] == "/"
    device.refresh_from_db()
    assert device.confirmed
    assert c.get("/").status_code == 200
    record = changes(agent, "mfa_enrolled").get()
    assert record.actor_id == agent.pk and json.loads(record.after) == {"totp": True}
    assert logins(agent).last().success


def test_enrolment_with_a_wrong_code(agent):
    c = english()
    post_login(c, agent)
    c.get(ENROL)
    device = TOTPDevice.objects.get(user=agent)
    r = c.post(ENROL, {"token": wrong_code(device)})
    assert r.status_code == 200 and "The code is not correct" in r.content.decode()
    r = c.post(ENROL, {"token": "12ab"})
    assert "Enter the 6 digits shown by your authenticator app." in r.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert logins(agent).last().reason == "mfa_failed"


def test_an_enrolled_account_cannot_enrol_again(agent):
    device = confirmed_device(agent)
    c = english()
    post_login(c, agent)
    r = c.get(ENROL)
    assert r.status_code == 302 and r["Location"] == OTP
    assert TOTPDevice.objects.filter(user=agent).count() == 1
    assert c.post(OTP, {"token": code(device)}).status_code == 302


def test_verify_step(agent):
    device = confirmed_device(agent)
    c = english()
    post_login(c, agent)
    assert logins(agent).count() == 0  # the password alone does not complete the sign-in
    page = c.get(OTP)
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.content.decode()
    r = c.post(OTP, {"token": code(device)})
    assert r.status_code == 302 and r["Location"] == "/"
    assert c.get("/").status_code == 200
    assert c.get(OTP)["Location"] == "/"  # already verified
    assert list(logins(agent).values_list("success", "reason")) == [(True, "ok")]


def test_a_code_is_used_once(agent):
    device = confirmed_device(agent)
    token = code(device)
    c1 = english()
    post_login(c1, agent)
    assert c1.post(OTP, {"token": token}).status_code == 302
    c2 = english()
    post_login(c2, agent)
    r = c2.post(OTP, {"token": token})
    assert r.status_code == 200 and "The code is not correct" in r.content.decode()


def test_wrong_codes_count_towards_the_lock(agent):
    device = confirmed_device(agent)
    c = english()
    post_login(c, agent, "Wrong-pass-999")  # 1 failure
    post_login(c, agent)  # right password: not yet a complete sign-in, the count stays
    assert User.objects.get(pk=agent.pk).failed_logins == 1
    for _ in range(3):
        r = c.post(OTP, {"token": wrong_code(device)})
        assert r.status_code == 200
    assert User.objects.get(pk=agent.pk).failed_logins == 4
    r = c.post(OTP, {"token": wrong_code(device)})
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    assert messages_of(r)[0].startswith("This account is locked after 5 failed sign-in attempts.")
    assert User.objects.get(pk=agent.pk).locked_at is not None
    assert c.get("/").status_code == 302 and c.get(OTP)["Location"].startswith("/accounts/login/")
    reasons = list(logins(agent).values_list("reason", flat=True))
    assert reasons == ["bad_password"] + ["mfa_failed"] * 4
    assert json.loads(changes(agent, "locked").get().after)["reason"] == "mfa_failed"
    # the right code from a new password sign-in is no way round the lock
    r = post_login(english(), agent)
    assert r.status_code == 200


def test_a_right_code_resets_the_count(agent):
    device = confirmed_device(agent)
    c = english()
    post_login(c, agent)
    c.post(OTP, {"token": wrong_code(device)})
    assert User.objects.get(pk=agent.pk).failed_logins == 1
    c.post(OTP, {"token": code(device)})
    assert User.objects.get(pk=agent.pk).failed_logins == 0


def test_unverified_session_is_kept_to_the_code_step(agent):
    confirmed_device(agent)
    c = english()
    post_login(c, agent)
    for path in ("/", "/registry/cameras/", "/accounts/password/", "/admin/"):
        r = c.get(path)
        assert r.status_code == 302 and r["Location"].startswith(OTP), path
    assert c.get("/registry/cameras/")["Location"] == f"{OTP}?next=%2Fregistry%2Fcameras%2F"
    # what stays open: the code step, logging out, the language, static files
    assert c.get(OTP).status_code == 200
    assert c.get("/jsi18n/").status_code == 200
    assert c.post("/i18n/setlang/", {"language": "ko", "next": OTP})["Location"] == OTP
    assert c.post("/accounts/logout/").status_code == 302


def test_unverified_session_gets_403_from_the_api(agent):
    device = confirmed_device(agent)
    c = english()
    post_login(c, agent)
    r = c.get("/api/v1/cameras/", {"page_size": 1})
    assert r.status_code == 403
    assert r.json() == {
        "errors": [
            {
                "field": None,
                "code": "mfa_required",
                "message": "Complete the second sign-in step (one-time code) before using the API.",
            }
        ]
    }
    c.post(OTP, {"token": code(device)})
    assert c.get("/api/v1/cameras/", {"page_size": 1}).status_code == 200


def test_accounts_without_a_second_factor_skip_the_step(contractor):
    c = english()
    r = post_login(c, contractor)
    assert r["Location"] == "/"
    assert c.get(OTP)["Location"] == "/"
    assert c.get(ENROL)["Location"] == "/"
    assert c.get("/api/v1/cameras/", {"page_size": 1}).status_code == 200


def test_a_role_that_needs_a_second_factor_given_mid_session(contractor, it_admin):
    c = english()
    post_login(c, contractor)
    assert c.get("/").status_code == 200
    services.save_account(contractor, roles=[Role.MONITORING_AGENT], actor=it_admin)
    assert c.get("/")["Location"] == f"{OTP}?next=%2F"
    assert c.get(OTP)["Location"] == ENROL
    # the password was given long ago, for an account without a second factor: enrolment asks
    # for it again
    r = c.get(ENROL)
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    assert messages_of(r) == [AGAIN]
    assert not TOTPDevice.objects.filter(user=contractor).exists()
    assert post_login(c, contractor)["Location"] == OTP
    assert c.get(ENROL).status_code == 200


def test_reset_by_an_administrator(agent, it_admin, client_for):
    device = confirmed_device(agent)
    c = english()
    post_login(c, agent)
    c.post(OTP, {"token": code(device)})
    assert c.get("/").status_code == 200
    admin = client_for(it_admin)
    r = admin.post(
        "/admin/accounts/user/",
        {"action": "reset_second_factor", "_selected_action": [agent.pk]},
        headers={"accept-language": "en"},
    )
    assert r.status_code == 302
    assert messages_of(r) == ["1 account will set up its second factor again at the next sign-in."]
    assert not TOTPDevice.objects.filter(user=agent).exists()
    # the session verified with the old device has ended: back to the password
    r = c.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert admin.get("/admin/").status_code == 200  # the administrator's own session goes on
    record = changes(agent, "mfa_reset").get()
    assert record.actor_id == it_admin.pk
    assert json.loads(record.before) == {"totp": True, "devices": 1}
    assert json.loads(record.after) == {"totp": False, "devices": 0, "sessions_ended": 1}
    assert services.reset_mfa(agent, actor=it_admin) is False  # nothing left to reset


def test_no_back_office_page_shows_totp_secrets(it_admin, client_for, make_user):
    superuser = make_user(Role.SYSTEM_ADMIN)
    User.objects.filter(pk=superuser.pk).update(is_superuser=True)
    admin = client_for(User.objects.get(pk=superuser.pk))
    assert admin.get("/admin/otp_totp/totpdevice/").status_code == 404


def test_the_previous_sign_in_is_shown_after_login(agent):
    device = confirmed_device(agent)
    first = english(REMOTE_ADDR="10.1.1.1")
    post_login(first, agent)
    r = first.post(OTP, {"token": code(device, drift=-1)})
    assert messages_of(r) == ["Welcome. This is your first sign-in. No failed sign-in attempts since then."]
    previous = logins(agent).get(success=True)
    # two failures, then a sign-in from another address
    post_login(english(), agent, "Wrong-pass-1")
    post_login(english(), agent, "Wrong-pass-2")
    second = english(REMOTE_ADDR="10.2.2.2")
    post_login(second, agent)
    r = second.post(OTP, {"token": code(device)}, follow=True)
    from django.utils import timezone

    when = timezone.localtime(previous.at).strftime("%Y-%m-%d %H:%M")
    text = f"Your previous sign-in: {when} from 10.1.1.1. 2 failed sign-in attempts since then."
    assert text in r.content.decode()  # on the console page
    assert r.redirect_chain[-1][0] == "/"
    assert str(timezone.localtime(previous.at).tzinfo) == "Asia/Seoul"
    # the next sign-in sees none since
    third = english()
    post_login(third, agent)
    r = third.post(OTP, {"token": code(device, drift=1)})
    assert messages_of(r)[0].endswith("from 10.2.2.2. No failed sign-in attempts since then.")


def test_sign_in_summary_for_accounts_without_a_second_factor(contractor):
    c = english()
    r = post_login(c, contractor)
    assert messages_of(r) == ["Welcome. This is your first sign-in. No failed sign-in attempts since then."]


def test_the_login_page_logs_the_password_step_for_accounts_with_a_second_factor_only_once(agent):
    device = confirmed_device(agent)
    c = Client()
    post_login(c, agent, PASSWORD)
    c.post(OTP, {"token": code(device)})
    assert logins(agent).filter(success=True).count() == 1


# --- the lock holds at the code step (security review, finding 1) -------------------------------
def _lock_with_wrong_codes(client, device) -> None:
    for _ in range(5):
        r = client.post(OTP, {"token": wrong_code(device)})
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"


def test_a_lock_from_another_session_holds_at_the_code_step(agent):
    """Password in two sessions; wrong codes in A lock the account; the right code in B does not
    sign in, and the lock stays."""
    device = confirmed_device(agent)
    a, b = english(), english()
    assert post_login(a, agent)["Location"] == OTP
    assert post_login(b, agent)["Location"] == OTP
    _lock_with_wrong_codes(a, device)
    locked_at = User.objects.get(pk=agent.pk).locked_at
    assert locked_at is not None
    r = b.post(OTP, {"token": code(device)})
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    assert messages_of(r)[0].startswith("This account is locked after 5 failed sign-in attempts.")
    user = User.objects.get(pk=agent.pk)
    assert user.locked_at == locked_at and user.failed_logins == 5
    assert b.get("/").status_code == 302 and b.get(OTP)["Location"].startswith("/accounts/login/")
    assert list(logins(agent).values_list("success", "reason"))[-1] == (False, "locked")
    assert not logins(agent).filter(success=True).exists()
    assert not changes(agent, "unlocked").exists()


def test_a_locked_account_cannot_even_open_the_code_step(agent):
    device = confirmed_device(agent)
    a, b = english(), english()
    post_login(a, agent)
    post_login(b, agent)
    _lock_with_wrong_codes(a, device)
    r = b.get(OTP)
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    assert User.objects.get(pk=agent.pk).failed_logins == 5  # no code was tried, nothing counted


def test_a_lock_from_another_session_holds_at_enrolment(agent):
    a, b = english(), english()
    post_login(a, agent)
    post_login(b, agent)
    assert a.get(ENROL).status_code == 200
    device = TOTPDevice.objects.get(user=agent)
    for _ in range(5):
        r = a.post(ENROL, {"token": wrong_code(device)})
    assert r["Location"] == "/accounts/login/"
    r = b.post(ENROL, {"token": code(device)})
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    assert messages_of(r)[0].startswith("This account is locked")
    device.refresh_from_db()
    assert not device.confirmed and not changes(agent, "mfa_enrolled").exists()
    assert User.objects.get(pk=agent.pk).locked_at is not None
    assert logins(agent).last().reason == "locked"


def test_a_lock_that_ran_out_is_lifted_at_the_code_step(settings, agent):
    import datetime as dt

    from django.utils import timezone

    settings.LOCKOUT_MINUTES = 10
    device = confirmed_device(agent)
    a, b = english(), english()
    post_login(a, agent)
    post_login(b, agent)
    _lock_with_wrong_codes(a, device)
    User.objects.filter(pk=agent.pk).update(locked_at=timezone.now() - dt.timedelta(minutes=11))
    r = b.post(OTP, {"token": code(device)})
    assert r.status_code == 302 and r["Location"] == "/"
    user = User.objects.get(pk=agent.pk)
    assert user.locked_at is None and user.failed_logins == 0
    assert json.loads(changes(agent, "unlocked").get().after)["reason"] == "timeout"


def test_login_succeeded_never_clears_an_active_lock(settings, agent):
    import datetime as dt

    from django.utils import timezone

    locked_at = timezone.now() - dt.timedelta(minutes=1)
    User.objects.filter(pk=agent.pk).update(locked_at=locked_at, failed_logins=5)
    assert services.login_succeeded(agent) is False
    user = User.objects.get(pk=agent.pk)
    assert (user.locked_at, user.failed_logins) == (locked_at, 5)
    assert not logins(agent).filter(success=True).exists()
    settings.LOCKOUT_MINUTES = 0  # only an administrator unlocks: a month later still locked
    User.objects.filter(pk=agent.pk).update(locked_at=timezone.now() - dt.timedelta(days=30))
    assert services.login_succeeded(agent) is False
    assert User.objects.get(pk=agent.pk).locked_at is not None
    settings.LOCKOUT_MINUTES = 30  # a lock that ran out is lifted, and the unlock recorded
    assert services.login_succeeded(agent) is True
    assert User.objects.get(pk=agent.pk).locked_at is None
    assert json.loads(changes(agent, "unlocked").get().after)["reason"] == "timeout"


# --- a second-factor reset ends the sessions; enrolment needs the password (review, finding 4) ----
def _sessions_of(user) -> int:
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    return sum(s.get_decoded().get(SESSION_KEY) == str(user.pk) for s in Session.objects.all())


def test_reset_ends_every_session_of_the_account(agent, make_user, it_admin):
    from tests.conftest import sign_in_session

    device = confirmed_device(agent)
    a, b = english(), english()
    post_login(a, agent)
    a.post(OTP, {"token": code(device)})
    sign_in_session(b, agent)
    half = english()
    post_login(half, agent)  # password given, code not yet
    other_user = make_user(Role.MONITORING_AGENT)
    other = sign_in_session(english(), other_user)
    assert _sessions_of(agent) == 3
    assert services.reset_mfa(agent, actor=it_admin) is True
    assert _sessions_of(agent) == 0 and _sessions_of(other_user) == 1
    for c in (a, b):
        r = c.get("/")
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert half.get(ENROL)["Location"].startswith("/accounts/login/")
    assert not TOTPDevice.objects.filter(user=agent).exists()  # nobody enrolled on the way
    assert other.get("/").status_code == 200
    assert json.loads(changes(agent, "mfa_reset").get().after)["sessions_ended"] == 3


def test_an_administrator_resetting_their_own_second_factor_is_logged_out(it_admin, agent, client_for):
    confirmed_device(agent)
    admin = client_for(it_admin)
    r = admin.post(
        "/admin/accounts/user/",
        {"action": "reset_second_factor", "_selected_action": [it_admin.pk, agent.pk]},
        headers={"accept-language": "en"},
    )
    assert r.status_code == 302
    assert messages_of(r) == ["2 accounts will set up their second factor again at the next sign-in."]
    r = admin.get("/admin/")
    assert r.status_code == 302 and "/login/" in r["Location"]
    assert _sessions_of(it_admin) == 0
    assert not TOTPDevice.objects.filter(user__in=[it_admin, agent]).exists()
    assert set(changes(action="mfa_reset").values_list("subject_user_id", "actor_id")) == {
        (it_admin.pk, it_admin.pk),
        (agent.pk, it_admin.pk),
    }


def test_a_leftover_verified_session_cannot_enrol_a_new_device(agent):
    """A session that outlived its device (here the device is deleted behind the service's back,
    so the session survives) is sent to the password, not to enrolment."""
    from tests.conftest import sign_in_session

    device = confirmed_device(agent)
    c = english()
    post_login(c, agent)
    c.post(OTP, {"token": code(device)})
    assert c.get("/").status_code == 200
    TOTPDevice.objects.filter(user=agent).delete()
    assert c.get("/")["Location"].startswith(OTP)
    assert c.get(OTP)["Location"].startswith(ENROL)
    r = c.get(ENROL)
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    assert messages_of(r) == [AGAIN]
    assert not TOTPDevice.objects.filter(user=agent).exists()  # no new secret made or shown
    assert c.get("/")["Location"].startswith("/accounts/login/")  # logged out
    # posting a code at once gets the same
    leftover = sign_in_session(english(), agent)
    TOTPDevice.objects.filter(user=agent).delete()
    r = leftover.post(ENROL, {"token": "123456"})
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert not changes(agent, "mfa_enrolled").exists()


def test_enrolment_is_closed_once_done(agent):
    c = english()
    post_login(c, agent)
    c.get(ENROL)
    device = TOTPDevice.objects.get(user=agent)
    assert c.post(ENROL, {"token": code(device)})["Location"] == "/"
    TOTPDevice.objects.filter(user=agent).delete()  # as if lost, with the session left over
    r = c.get(ENROL)
    assert r["Location"] == "/accounts/login/" and messages_of(r)[-1] == AGAIN
    assert not TOTPDevice.objects.filter(user=agent).exists()


def test_enrolment_after_the_back_office_login(it_admin):
    """/admin/login/ is a password step too (same backend): enrolment follows it."""
    c = english()
    r = c.post("/admin/login/", {"username": it_admin.username, "password": PASSWORD, "next": "/admin/"})
    assert r.status_code == 302
    assert c.get("/admin/")["Location"].startswith(OTP)
    assert c.get(OTP)["Location"].startswith(ENROL)
    assert c.get(ENROL).status_code == 200
