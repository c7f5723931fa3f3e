"""End to end with the real broker, the ingest consumer and Chromium: a bell press published over
MQTT appears in the monitoring agent's console within 2 s with an alarm; the agent acknowledges,
confirms and hands it over by keyboard; the stationed officer's console shows it; the officer
dispatches a patrol and closes it with the CCTV utilisation result."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from playwright.sync_api import Page, expect

from gwanje.accounts.roles import Role
from gwanje.situations.models import DutyRule, Incident
from gwanje.situations.mqtt.client import Publisher, device_endpoint
from gwanje.situations.mqtt.consumer import Consumer
from gwanje.situations.services.intake import topic_for
from tests.browser.login import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ingest(broker):
    """The consumer in a thread of the test process (it shares the test database)."""
    consumer = Consumer(client_id="browser-ingest")
    stop = threading.Event()

    def loop():
        try:
            while not stop.is_set():
                consumer.pump(0.2)
        finally:
            connection.close()

    consumer.pump(5, until=lambda: consumer.client.is_connected())
    consumer.pump(0.5)
    thread = threading.Thread(target=loop, name="ingest", daemon=True)
    thread.start()
    yield consumer
    stop.set()
    thread.join(10)
    consumer.client.disconnect()


def read(fn):
    """A read from the test thread. The in-memory SQLite test database is shared between threads
    (uvicorn, the consumer, this one) with table locks that do not wait: retry those."""
    for _ in range(50):
        try:
            return fn()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)
    return fn()


def wait_status(incident: Incident, status: str, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while read(lambda: Incident.objects.get(pk=incident.pk).status) != status and time.monotonic() < deadline:
        time.sleep(0.1)
    assert read(lambda: Incident.objects.get(pk=incident.pk).status) == status


def queue_item(page: Page, incident: Incident):
    return page.locator(f'#incident-queue .incident-item[data-incident-id="{incident.pk}"]')


def test_bell_over_mqtt_from_alarm_to_closure(
    seongdong,
    broker,
    ingest,
    asgi_server,
    page: Page,
    browser,  # noqa: F811
    make_user,
):
    rule = DutyRule.objects.get(kind="bell")
    rule.day_starts = rule.day_ends = dt.time(0, 0)  # night all day: the agents answer bells first
    rule.save()
    broker.sync_accounts()
    agent, officer = make_user(Role.MONITORING_AGENT), make_user(Role.POLICE_STATIONED)

    sign_in(page, asgi_server, agent)
    expect(page.locator("#incident-panel")).to_have_attribute("data-live", "1", timeout=10_000)
    alarms_before = int(page.evaluate("document.body.dataset.alarm || '0'"))

    bell = (
        __import__("gwanje.situations.models", fromlist=["Device"]).Device.objects.filter(kind="bell").first()
    )
    publisher = Publisher(device_endpoint(bell.device_id, bell.secret), "browser-bell")
    published = time.monotonic()
    publisher.publish(
        topic_for("bell", bell.device_id),
        json.dumps({"message_id": "press-1", "ts": timezone.now().isoformat(), "button": 1}).encode(),
    )
    assert publisher.drain()
    publisher.close()
    incident = None
    deadline = time.monotonic() + 5
    while incident is None and time.monotonic() < deadline:
        incident = read(lambda: Incident.objects.filter(device=bell).first())
        time.sleep(0.1)
    assert incident is not None, "the consumer did not store the press"
    item = queue_item(page, incident)
    expect(item).to_be_visible(timeout=2_000)
    shown_after = time.monotonic() - published
    assert shown_after < 2.0, f"shown {shown_after:.2f} s after publishing"
    assert int(page.evaluate("document.body.dataset.alarm || '0'")) > alarms_before  # the alarm rang

    # the agent: select with the keyboard, acknowledge, confirm, hand over
    item.focus()
    page.keyboard.press("Enter")
    detail = page.locator("#incident-detail")
    expect(detail.locator(".incident-detail-title")).to_contain_text(incident.number)
    expect(detail.locator("button[data-action=acknowledge]")).to_be_visible()
    expect(detail.locator(".incident-cameras li").first).to_be_visible()
    steps = (
        ("a", "acknowledge", "acknowledged"),
        ("c", "confirm", "confirmed"),
        ("h", "hand_over", "handed_over"),
    )
    for key, action, status in steps:
        expect(detail.locator(f"button[data-action={action}]")).to_be_visible(timeout=5_000)
        page.keyboard.press(key)
        wait_status(incident, status)
        if status != "handed_over":  # the console shows the new state before the next key
            expect(item).to_have_attribute("data-status", status, timeout=5_000)
            expect(detail.locator(f"button[data-action={action}]")).to_have_count(0, timeout=5_000)
    # handed to the police: no longer in the agent's queue (only mine shown)
    expect(item).to_have_count(0, timeout=5_000)

    # the stationed officer in a second browser
    context = browser.new_context(
        locale="ko-KR", timezone_id="Asia/Seoul", viewport={"width": 1400, "height": 900}
    )
    police = context.new_page()
    sign_in(police, asgi_server, officer)
    police_item = queue_item(police, incident)
    expect(police_item).to_be_visible(timeout=10_000)
    police_item.click()
    pdetail = police.locator("#incident-detail")
    expect(pdetail.locator("button[data-action=dispatch]")).to_be_visible()
    pdetail.locator("button[data-action=dispatch]").click()
    expect(pdetail.locator(".incident-error")).to_be_visible()  # the patrol unit is required
    police.locator("#incident-unit").fill("성수지구대 1호차")
    pdetail.locator("button[data-action=dispatch]").click()
    wait_status(incident, "dispatched")
    expect(pdetail.locator("button[data-action=resolve]")).to_be_visible(timeout=5_000)
    pdetail.locator("button[data-action=resolve]").click()
    wait_status(incident, "resolved")
    expect(pdetail.locator("button[data-action=close]")).to_be_visible(timeout=5_000)
    police.locator("#incident-result").select_option("evidence")
    police.locator("#incident-result-text").fill("용의자 인상착의 영상 확보")
    pdetail.locator("button[data-action=close]").click()
    expect(police_item).to_have_count(0, timeout=5_000)
    context.close()

    incident.refresh_from_db()
    assert incident.status == "closed" and incident.result == "evidence"
    assert incident.dispatch_unit == "성수지구대 1호차" and incident.closed_by == officer
    steps = list(incident.transitions.values_list("action", "actor__username"))
    assert [s[0] for s in steps] == [
        "open",
        "acknowledge",
        "confirm",
        "hand_over",
        "dispatch",
        "resolve",
        "close",
    ]
    assert steps[1][1] == agent.username and steps[-1][1] == officer.username
