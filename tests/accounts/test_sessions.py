"""Idle (GWANJE_SESSION_IDLE_MINUTES) and absolute (GWANJE_SESSION_MAX_HOURS) session timeouts;
token authentication has no session and is not affected."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import call_command
from django.test import Client

from gwanje.accounts.security import LOGIN_AT, SEEN_AT
from tests.accounts.conftest import english, messages_of, post_login

pytestmark = pytest.mark.django_db


def shift(client: Client, **seconds_ago: int) -> None:
    """Move the session's clocks back (login_at=…, seen_at=… seconds ago)."""
    session = client.session
    now = time.time()
    if "login_at" in seconds_ago:
        session[LOGIN_AT] = int(now - seconds_ago["login_at"])
    if "seen_at" in seconds_ago:
        session[SEEN_AT] = int(now - seconds_ago["seen_at"])
    session.save()


@pytest.fixture
def signed_in(contractor) -> Client:
    c = english()
    assert post_login(c, contractor).status_code == 302
    return c


def test_login_starts_the_clocks(signed_in):
    session = signed_in.session
    assert abs(session[LOGIN_AT] - time.time()) < 5 and session[SEEN_AT] == session[LOGIN_AT]


def test_idle_timeout(settings, signed_in):
    settings.SESSION_IDLE_MINUTES = 30
    shift(signed_in, seen_at=29 * 60)
    assert signed_in.get("/").status_code == 200  # 29 minutes idle: still in, and the clock restarts
    assert time.time() - signed_in.session[SEEN_AT] < 5
    shift(signed_in, seen_at=31 * 60)
    r = signed_in.get("/registry/cameras/")
    assert r.status_code == 302 and r["Location"] == "/accounts/login/?next=%2Fregistry%2Fcameras%2F"
    assert messages_of(r) == ["Your session ended after 30 minutes without activity. Please log in again."]
    assert signed_in.get("/").status_code == 302  # logged out for good


def test_absolute_timeout_despite_activity(settings, signed_in):
    settings.SESSION_MAX_HOURS = 12
    shift(signed_in, login_at=11 * 3600, seen_at=10)
    assert signed_in.get("/").status_code == 200
    shift(signed_in, login_at=12 * 3600 + 60, seen_at=10)
    r = signed_in.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert messages_of(r) == ["You were signed in for more than 12 hours. Please log in again."]


def test_configured_idle_minutes(settings, signed_in):
    settings.SESSION_IDLE_MINUTES = 5
    shift(signed_in, seen_at=6 * 60)
    assert signed_in.get("/").status_code == 302


def test_session_api_request_after_timeout_is_401(signed_in):
    shift(signed_in, seen_at=3 * 3600)
    r = signed_in.get("/api/v1/cameras/", {"page_size": 1})
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "not_authenticated"


def test_htmx_requests_are_sent_to_the_login_page(signed_in):
    shift(signed_in, seen_at=3 * 3600)
    r = signed_in.get("/registry/cameras/", headers={"hx-request": "true"})
    assert r.status_code == 204 and r["HX-Redirect"].startswith("/accounts/login/")


def test_token_auth_has_no_session_clock(settings, parks_manager):
    """Tokens are for integration accounts (no second factor; see test_tokens.py)."""
    out = io.StringIO()
    call_command("create-api-token", parks_manager.username, stdout=out)
    c = Client(headers={"authorization": f"Token {out.getvalue().strip()}"})
    settings.SESSION_IDLE_MINUTES = 1
    assert c.get("/api/v1/cameras/", {"page_size": 1}).status_code == 200
    assert c.get("/api/v1/cameras/", {"page_size": 1}).status_code == 200


# --- polling is not activity (review, finding 5) ------------------------------------------------
POLL = {"x-gwanje-poll": "1", "hx-request": "true"}


def test_polls_do_not_count_as_activity(settings, signed_in):
    """The grants board polls every 5 s with `X-Gwanje-Poll: 1`: the idle timeout still fires."""
    settings.SESSION_IDLE_MINUTES = 30
    shift(signed_in, seen_at=20 * 60)
    seen = signed_in.session[SEEN_AT]
    for _ in range(3):
        assert signed_in.get("/", headers=POLL).status_code == 200
    assert signed_in.session[SEEN_AT] == seen  # the clock did not restart
    shift(signed_in, seen_at=31 * 60)
    r = signed_in.get("/", headers=POLL)
    assert r.status_code == 204 and r["HX-Redirect"].startswith("/accounts/login/")
    assert signed_in.get("/").status_code == 302  # logged out for good


def test_a_poll_without_htmx_after_the_timeout_is_redirected(signed_in):
    shift(signed_in, seen_at=3 * 3600)
    r = signed_in.get("/registry/cameras/", headers={"x-gwanje-poll": "1"})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_a_poll_to_the_api_after_the_timeout_is_401(signed_in):
    shift(signed_in, seen_at=3 * 3600)
    r = signed_in.get("/api/v1/cameras/", {"page_size": 1}, headers={"x-gwanje-poll": "1"})
    assert r.status_code == 401


def test_other_requests_still_count(settings, signed_in):
    settings.SESSION_IDLE_MINUTES = 30
    shift(signed_in, seen_at=20 * 60)
    signed_in.get("/", headers={"hx-request": "true"})  # an htmx request the user caused
    assert time.time() - signed_in.session[SEEN_AT] < 5
    shift(signed_in, seen_at=20 * 60)
    signed_in.get("/", headers={"x-gwanje-poll": "0"})
    assert time.time() - signed_in.session[SEEN_AT] < 5
