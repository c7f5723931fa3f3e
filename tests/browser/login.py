"""Signing in through the real login form in Chromium, including the second-factor step."""

from __future__ import annotations

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from gwanje.accounts.models import User
from gwanje.core.permissions import requires_mfa
from tests.conftest import PASSWORD


def code_for(key: bytes) -> str:
    """The current RFC 6238 code of a TOTP key, as an authenticator app shows it."""
    return f"{totp(key):06d}"


def submit_password(page: Page, live_server, user) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("h1")).to_have_text("로그인")
    page.get_by_label("아이디").fill(user.username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()


def sign_in(page: Page, live_server, user) -> Page:
    """Log in through the form; accounts that require a second factor get a confirmed TOTP device
    (created here when missing) and type its current code on the code page. Ends on the console."""
    device = None
    if requires_mfa(User.objects.get(pk=user.pk)):
        device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user_id=user.pk, name="browser test", confirmed=True)
    submit_password(page, live_server, user)
    if device is not None:
        expect(page.locator("#otp-verify")).to_be_visible()
        page.locator("input[name=token]").fill(code_for(device.bin_key))
        page.locator("#otp-verify button[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/")
    return page
