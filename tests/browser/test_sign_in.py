"""Signing in with a second factor in Chromium: a new monitoring agent logs in, sees the QR code
(inline SVG) and the key, types the code an authenticator app would compute from that key, and
reaches the console; the next sign-in asks for a code only."""

from __future__ import annotations

from base64 import b32decode

import pytest
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from gwanje.accounts.roles import Role
from gwanje.audit.models import PermissionChange
from tests.browser.login import submit_password

pytestmark = pytest.mark.django_db(transaction=True)


def test_enrol_then_sign_in_with_the_code(page: Page, live_server, make_user):
    agent = make_user(Role.MONITORING_AGENT)
    submit_password(page, live_server, agent)
    page.wait_for_url(f"{live_server.url}/accounts/otp/enrol/*")
    enrol = page.locator("#otp-enrol")
    qr = enrol.locator("svg.qr")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 150 and box["height"] >= 150  # big enough to scan from the screen
    secret = enrol.locator("#otp-secret").text_content().replace(" ", "").strip()
    key = b32decode(secret)
    enrol.locator("input[name=token]").fill(f"{totp(key):06d}")
    enrol.locator("button[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("#map")).to_have_attribute("data-rendered", "true", timeout=15_000)
    # "set up" and the sign-in summary (checked word for word in tests/accounts/test_totp.py)
    expect(page.locator(".messages li")).to_have_count(2)
    assert PermissionChange.objects.filter(subject_user_id=agent.pk, action="mfa_enrolled").count() == 1

    # log out; the next sign-in asks for the code only (one step later: a code is used once)
    page.locator("form[action='/accounts/logout/'] button").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    submit_password(page, live_server, agent)
    page.wait_for_url(f"{live_server.url}/accounts/otp/*")
    verify = page.locator("#otp-verify")
    expect(verify).to_be_visible()
    expect(page.locator("#otp-enrol")).to_have_count(0)
    verify.locator("input[name=token]").fill(f"{totp(key, drift=1):06d}")
    verify.locator("button[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("#map")).to_be_visible()
