"""Event devices in the back office: the secret is shown once, rotating it stops the old one."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from gwanje.accounts.roles import Role
from gwanje.registry.models import Site
from gwanje.situations.models import Device
from gwanje.situations.webhooks import sign
from tests.situations.events import payload

pytestmark = pytest.mark.django_db


def _signed(device_id: str, secret: str) -> int:
    body = json.dumps(payload()).encode()
    ts = str(int(time.time()))
    return (
        Client()
        .post(
            "/api/v1/events/bell/",
            body,
            content_type="application/json",
            HTTP_X_GWANJE_DEVICE=device_id,
            HTTP_X_GWANJE_TIMESTAMP=ts,
            HTTP_X_GWANJE_SIGNATURE=sign(secret, ts, body),
        )
        .status_code
    )


def test_it_admin_registers_a_bell_and_rotates_its_secret(make_user, client_for):
    admin = client_for(make_user(Role.IT_ADMIN))
    site = Site.objects.filter(has_emergency_bell=False).order_by("code").first()
    r = admin.post(
        "/admin/situations/device/add/",
        {
            "device_id": "bell-new-1",
            "kind": "bell",
            "name": "신규 비상벨",
            "site": site.pk,
            "camera": "",
            "is_active": "on",
        },
        follow=True,
    )
    assert r.status_code == 200
    device = Device.objects.get(device_id="bell-new-1")
    shown = [str(m) for m in r.context["messages"]]
    assert any(device.secret in m for m in shown)
    site.refresh_from_db()
    assert site.has_emergency_bell
    assert _signed("bell-new-1", device.secret) == 202
    old = device.secret
    r = admin.post(
        "/admin/situations/device/",
        {"action": "rotate_secrets", "_selected_action": [device.pk]},
        follow=True,
    )
    device.refresh_from_db()
    assert device.secret != old and any(device.secret in str(m) for m in r.context["messages"])
    assert _signed("bell-new-1", old) == 401 and _signed("bell-new-1", device.secret) == 202


def test_a_deactivated_device_is_refused_and_agents_cannot_manage_devices(make_user, client_for):
    admin = client_for(make_user(Role.IT_ADMIN))
    device = Device.objects.filter(kind="bell").order_by("device_id").last()
    r = admin.post(
        f"/admin/situations/device/{device.pk}/change/",
        {"name": device.name, "site": device.site_id, "camera": ""},
        follow=True,
    )
    assert r.status_code == 200
    device.refresh_from_db()
    assert not device.is_active and _signed(device.device_id, device.secret) == 401
    assert client_for(make_user(Role.MONITORING_AGENT)).get("/admin/situations/device/").status_code in (
        302,
        403,
    )
