"""Hardening: security headers, cookies, CSRF and forged sessions."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from gwanje.situations.models import Incident

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_content_security_policy(client_for, agent):
    r = client_for(agent).get("/")
    assert r.status_code == 200
    csp = r["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "<script>" not in r.content.decode()  # no inline script the policy would block
    assert r["X-Frame-Options"] == "DENY" and r["X-Content-Type-Options"] == "nosniff"
    assert r["Cache-Control"] == "no-store" and r["Referrer-Policy"] == "same-origin"
    assert "camera=()" in r["Permissions-Policy"]


def test_swagger_ui_alone_may_run_its_inline_bootstrap(client_for, agent):
    r = client_for(agent).get("/api/v1/docs/")
    assert "script-src 'self' 'unsafe-inline'" in r["Content-Security-Policy"]


def test_session_and_csrf_cookies_are_httponly_and_samesite():
    assert settings.SESSION_COOKIE_HTTPONLY and settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.CSRF_COOKIE_SAMESITE == "Lax"


def test_a_post_without_the_csrf_token_is_refused(agent):
    c = Client(enforce_csrf_checks=True)
    c.force_login(agent)
    r = c.post("/situations/incidents/", {"title": "x", "lat": 37.55, "lon": 127.04})
    assert r.status_code == 403 and not Incident.objects.exists()
    api = c.post(
        "/api/v1/incidents/", {"title": "x", "lat": 37.55, "lon": 127.04}, content_type="application/json"
    )
    assert api.status_code == 403 and api.json()["errors"] and not Incident.objects.exists()


def test_a_forged_session_cookie_is_an_anonymous_user():
    c = Client()
    c.cookies[settings.SESSION_COOKIE_NAME] = "forged0123456789abcdefghijklmnop"
    page = c.get("/")
    assert page.status_code == 302 and "/login/" in page["Location"]
    assert c.get("/api/v1/cameras/").status_code == 401
