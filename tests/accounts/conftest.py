"""Helpers of the sign-in tests: English clients (the messages are asserted in English; the Korean
catalogue follows), logging in through the real form, codes of a TOTP device, audit records."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from gwanje.accounts.roles import Role
from gwanje.audit.models import LoginEvent, PermissionChange
from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"
OTP = "/accounts/otp/"
ENROL = "/accounts/otp/enrol/"


def english(**defaults) -> Client:
    return Client(headers={"accept-language": "en"}, **defaults)


def post_login(client: Client, user_or_name, password: str = PASSWORD, **extra):
    username = getattr(user_or_name, "username", user_or_name)
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def code(device: TOTPDevice, drift: int = 0) -> str:
    """The device's RFC 6238 code (drift: that many 30 s steps later; the server accepts ±1)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):06d}"


def wrong_code(device: TOTPDevice) -> str:
    good = {code(device, d) for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in good)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def changes(user=None, action: str | None = None):
    qs = PermissionChange.objects.all()
    if user is not None:
        qs = qs.filter(subject_user_id=user.pk)
    if action is not None:
        qs = qs.filter(action=action)
    return qs.order_by("seq")


def logins(user):
    return LoginEvent.objects.filter(username=user.username).order_by("id")


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


@pytest.fixture
def contractor(make_user):
    """An account without a second factor (views the registry only)."""
    return make_user(Role.CONTRACTOR)


@pytest.fixture
def system_admin(make_user):
    return make_user(Role.SYSTEM_ADMIN)
