"""The map console's status colours follow the recorder live (Chromium): a camera going down or
coming back changes the legend counts without a reload, through polls sent with X-Gwanje-Poll."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from gwanje.accounts.roles import Role
from gwanje.registry.choices import CameraStatus
from gwanje.registry.models import Camera
from gwanje.video import health
from gwanje.video.choices import FaultReason
from tests.browser.conftest import CHROMIUM
from tests.browser.login import sign_in

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):  # as tests/browser/conftest.py
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": args}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "locale": "ko-KR",
        "timezone_id": "Asia/Seoul",
        "viewport": {"width": 1400, "height": 900},
    }


def fault_count(page: Page):
    return page.locator('#legend li[data-status="fault"] .count')


def test_status_colours_update_live(page: Page, live_server, make_user):
    polls = []

    def seen(request):
        if "cameras.json" in request.url and request.headers.get("x-gwanje-poll") == "1":
            polls.append(request.url)

    page.on("request", seen)
    page.add_init_script("window.gwanjeStatusRefreshMs = 400;")
    sign_in(page, live_server, make_user(Role.MONITORING_AGENT))
    expect(page.locator("#map")).to_have_attribute("data-rendered", "true", timeout=30_000)
    before = Camera.objects.filter(status=CameraStatus.FAULT).count()
    expect(fault_count(page)).to_have_text(f"{before:,}")

    camera = Camera.objects.filter(status=CameraStatus.ONLINE).order_by("pk").first()
    health.camera_down(camera.pk, health.Diagnosis(FaultReason.STALLED, "no new segment"))
    expect(fault_count(page)).to_have_text(f"{before + 1:,}", timeout=10_000)
    health.camera_up(camera.pk)
    expect(fault_count(page)).to_have_text(f"{before:,}", timeout=10_000)
    assert polls  # the refresh is a poll: it does not count as user activity
    assert page.evaluate("window.gwanjeConsole.cameras.n") == Camera.objects.count()
