"""Password rules (PIPA safety-measure notice): kinds and lengths, not the user name, not one of the
last 3, common passwords refused; Argon2; expiry forces the change page after sign-in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from gwanje.accounts import services
from gwanje.accounts.models import PasswordHistory, User
from gwanje.accounts.passwords import character_kinds, password_expired
from tests.accounts.conftest import changes, english, post_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _messages_in_english():
    """Messages are compared in English (the Korean catalogue is checked by test_translations)."""
    with translation.override("en"):
        yield


CHANGE = "/accounts/password/"


def errors_for(password: str, user=None) -> list[str]:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return [e.code for e in exc.error_list]
    return []


def messages_for(password: str, user=None) -> list[str]:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return exc.messages
    return []


def test_character_kinds():
    assert character_kinds("aB3!") == {"upper", "lower", "digit", "symbol"}
    assert character_kinds("관제센터abc") == {"symbol", "lower"}  # Hangul counts as "other"


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("Gw4nje!x", True),  # 8 characters, 4 kinds
        ("gw4nje!x", True),  # 8, 3 kinds (lower, digit, symbol)
        ("gwanjexyz4", True),  # 10, 2 kinds
        ("GWANJE-XYZ", True),  # 10, 2 kinds (upper, symbol)
        ("Gw4nje!", False),  # 7 characters
        ("gwanjex4", False),  # 8, only 2 kinds
        ("gwanjexyz", False),  # 9, 2 kinds? no: 1 kind
        ("gwanjexyzq", False),  # 10, 1 kind
        ("gwanjexy4", False),  # 9, 2 kinds: needs 10
    ],
)
def test_complexity(password, ok):
    codes = errors_for(password)
    assert ("password_too_simple" not in codes) is ok, codes


def test_complexity_message_names_the_rule():
    with_en = messages_for("short")
    assert any(
        "at least 8 characters of three kinds" in m and "at least 10 characters of two kinds" in m
        for m in with_en
    ), with_en


def test_password_must_not_contain_the_user_name(agent):
    user = User(username="KimAgent")
    assert "password_contains_username" in errors_for("xx-kimagent-2026", user)
    assert "password_contains_username" in errors_for("KIMAGENT!2026x", user)
    assert "password_contains_username" not in errors_for("Gwanje-2026-kim!", user)
    assert "The password must not contain the user name." in messages_for("xx-kimagent-2026", user)


def test_common_passwords_are_refused():
    assert "password_too_common" in errors_for("Password1!")  # 3 kinds, but on Django's list


def test_last_three_passwords_are_refused(agent):
    """The history keeps the last 3 hashes (the current one included)."""
    first = PASSWORD
    second, third, fourth = "Second-pass-2026", "Third-pass-2026", "Fourth-pass-2026"
    for new in (second, third):
        services.set_password(agent, new, actor=agent)
    # current = third; history = third, second, first
    for old in (first, second, third):
        assert "password_reused" in errors_for(old, agent), old
    assert "The password must differ from your last 3 passwords." in messages_for(second, agent)
    services.set_password(agent, fourth, actor=agent)
    assert PasswordHistory.objects.filter(user=agent).count() == 3
    assert "password_reused" not in errors_for(first, agent)  # 4 changes ago: allowed again
    assert "password_reused" in errors_for(second, agent)
    # the history keeps hashes, never the passwords
    assert all(
        second not in h and fourth not in h
        for h in PasswordHistory.objects.values_list("password", flat=True)
    )


def test_argon2_is_the_default_hasher(settings):
    from django.contrib.auth.hashers import get_hasher, make_password

    import gwanje.settings as project

    assert project.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    settings.PASSWORD_HASHERS = project.PASSWORD_HASHERS  # the suite uses MD5 for speed
    assert get_hasher().algorithm == "argon2"
    assert make_password("Some-pass-2026").startswith("argon2$")


def test_the_change_page_applies_the_rules_and_logs_it(client_for, contractor):
    c = client_for(contractor)
    c.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = c.get(CHANGE)
    assert page.status_code == 200 and "At least 8 characters of three kinds" in page.content.decode()
    r = c.post(CHANGE, {"old_password": PASSWORD, "new_password1": "abc", "new_password2": "abc"})
    assert r.status_code == 200 and "This password is too simple" in r.content.decode()
    r = c.post(CHANGE, {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD})
    assert "must differ from your last 3 passwords" in r.content.decode()
    new = "Brand-new-pass-77"
    r = c.post(CHANGE, {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert r.status_code == 302 and r["Location"] == "/accounts/password/done/"
    assert c.get("/").status_code == 200  # the session stays signed in
    contractor.refresh_from_db()
    assert contractor.check_password(new)
    record = changes(contractor, "password_set").last()
    assert record.actor_id == contractor.pk and '"own":true' in record.after


def test_password_expiry(settings, contractor):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    assert not password_expired(contractor)
    contractor.password_changed_at = timezone.now() - dt.timedelta(days=91)
    assert password_expired(contractor)
    settings.PASSWORD_MAX_AGE_DAYS = 0  # never
    assert not password_expired(contractor)


def test_an_expired_password_forces_the_change_page(settings, contractor):
    settings.PASSWORD_MAX_AGE_DAYS = 30
    User.objects.filter(pk=contractor.pk).update(password_changed_at=timezone.now() - dt.timedelta(days=31))
    c = english()
    r = post_login(c, contractor)
    assert r.status_code == 302 and r["Location"] == "/"
    r = c.get("/")
    assert r.status_code == 302 and r["Location"] == f"{CHANGE}?next=%2F"
    r = c.get("/registry/cameras/", follow=True)
    assert r.redirect_chain[-1][0].startswith(CHANGE)
    assert "more than 30 days old" in r.content.decode()
    new = "Renewed-pass-2027"
    r = c.post(CHANGE, {"old_password": PASSWORD, "new_password1": new, "new_password2": new, "next": "/"})
    assert r.status_code == 302 and r["Location"] == "/"
    assert c.get("/").status_code == 200
    contractor.refresh_from_db()
    assert not password_expired(contractor)


def test_a_hash_upgrade_at_sign_in_is_not_a_password_change(settings, contractor):
    """Django re-hashes with the first hasher at sign-in; that must not restart the expiry clock
    nor add to the history."""
    changed = User.objects.get(pk=contractor.pk).password_changed_at
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.ScryptPasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    post_login(english(), contractor)
    fresh = User.objects.get(pk=contractor.pk)
    assert fresh.password.startswith("scrypt$")
    assert fresh.password_changed_at == changed
    assert PasswordHistory.objects.filter(user=contractor).count() == 1
