"""Art. 9⑤ in the browser: a stationed police officer requests a video grant on an open incident;
the supervisor sees it on the live grants board and revokes it."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from gwanje.accounts.roles import Role
from gwanje.registry.models import Camera
from gwanje.situations import services
from gwanje.situations.models import VideoGrant
from tests.browser.login import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_police_request_a_grant_and_the_supervisor_revokes_it(page: Page, browser, live_server, make_user):
    agent, officer, supervisor = (
        make_user(Role.MONITORING_AGENT), make_user(Role.POLICE_STATIONED), make_user(Role.SUPERVISOR),
    )  # fmt: skip
    lon, lat = Camera.objects.order_by("pk").first().point.coords
    incident = services.open_incident(user=agent, title="영상비상벨 호출", lon=lon, lat=lat)

    sign_in(page, live_server, officer)
    page.goto(f"{live_server.url}/situations/incidents/{incident.pk}/")
    expect(page.locator("h1")).to_contain_text(incident.number)
    page.get_by_label("사유").fill("112 신고 현장 주변 확인")
    page.get_by_role("button", name="열람 권한 요청").click()
    grant = VideoGrant.objects.get(user=officer)
    # the expiry is told in Seoul time, as the grants table shows it
    expect(page.locator(".messages li.success")).to_contain_text(
        f"{timezone.localtime(grant.expires_at):%H:%M}"
    )
    expect(page.locator(f"tr[data-grant='{grant.pk}']")).to_be_visible()

    other = browser.new_context(
        locale="ko-KR", timezone_id="Asia/Seoul", viewport={"width": 1400, "height": 900}
    )
    board = other.new_page()
    sign_in(board, live_server, supervisor)
    board.goto(f"{live_server.url}/situations/grants/")
    row = board.locator(f"tr[data-grant='{grant.pk}']")
    expect(row).to_contain_text(officer.username)
    expect(row).to_contain_text("112 신고 현장 주변 확인")
    row.get_by_role("button", name="회수").click()
    expect(board.locator(".messages li.success")).to_be_visible()
    grant.refresh_from_db()
    assert grant.revoked_by_id == supervisor.pk
    other.close()
