"""The operator console's incident queue in Chromium, with incidents raised through the intake
services (the MQTT path end to end is tests/browser/test_incident_console.py): a new incident shows
up in the agent's queue within 2 s without a reload and rings the alarm; selecting it centres the
map and lists the nearest cameras with links to the video wall; the agent acknowledges it with the
keyboard. A dropped feed replays what was missed (or reloads the queue when too far behind); the
police see the same console (Art. 9⑤) with only the steps the duty matrix gives them; an SOS
selected draws its track; the API's refusals are shown in Korean."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
from django.db import OperationalError
from playwright.sync_api import Page, expect

from gwanje.accounts.roles import Role
from gwanje.situations import queries
from gwanje.situations.choices import IntakeSource
from gwanje.situations.models import DutyRule, Incident
from gwanje.situations.services import intake, workflow
from tests.browser.login import sign_in
from tests.situations.events import device, payload

pytestmark = pytest.mark.django_db(transaction=True)

# Keeps every WebSocket the page opens, so a test can drop the feed as a network failure would.
RECORD_SOCKETS = """(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.__sockets.push(this); }
  };
})();"""
HANGUL = re.compile(r"[가-힣]")


def night() -> None:
    """Bells answered first by the monitoring agents all day (Annex 2 by night)."""
    rule = DutyRule.objects.get(kind="bell")
    rule.day_starts = rule.day_ends = dt.time(0, 0)
    rule.save()


def unlocked(fn):
    """Database work from the test thread while the server works too: the in-memory SQLite test
    database is shared between threads with table locks that do not wait, so retry those (each
    service call is one transaction, rolled back when it fails)."""
    for _ in range(100):
        try:
            return fn()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)
    return fn()


def event(kind: str, device_id: str, body: dict) -> Incident | None:
    """One device message through the intake services (stored, then processed), as `gwanje ingest`
    does it."""
    raw = json.dumps(body).encode()
    topic = intake.topic_for(kind, device_id)
    got = unlocked(lambda: intake.receive(source=IntakeSource.MQTT, topic=topic, payload=raw))
    assert got.raw is not None, got.dead
    return unlocked(lambda: intake.process(got.raw))


def bell_pressed(n: int = 0) -> Incident:
    incident = event("bell", device("bell", n).device_id, payload())
    assert incident is not None
    return incident


def open_console(page: Page, server, user) -> Page:
    page.add_init_script(RECORD_SOCKETS)
    sign_in(page, server, user)
    expect(page.locator("#incident-panel")).to_have_attribute("data-live", "1", timeout=10_000)
    return page


def queue_item(page: Page, incident: Incident):
    return page.locator(f'#incident-queue .incident-item[data-incident-id="{incident.pk}"]')


def alarms(page: Page) -> int:
    return int(page.evaluate("() => document.body.dataset.alarm || '0'"))


def map_centre(page: Page) -> tuple[float, float]:
    return tuple(page.evaluate("() => ol.proj.toLonLat(gwanjeConsole.map.getView().getCenter())"))


def wait_for(check, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"{what}: still false after {timeout} s"
            return value
        time.sleep(0.05)


def status_of(incident: Incident) -> str:
    return unlocked(lambda: Incident.objects.get(pk=incident.pk).status)


def test_a_new_incident_appears_live_and_is_acknowledged_with_the_keyboard(
    seongdong, asgi_server, page: Page, make_user
):
    night()
    agent = make_user(Role.MONITORING_AGENT)
    open_console(page, asgi_server, agent)
    before = alarms(page)

    started = time.monotonic()
    incident = bell_pressed()
    item = queue_item(page, incident)
    expect(item).to_be_visible(timeout=2_000)
    assert time.monotonic() - started < 2.0
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1  # no reload
    expect(item).to_contain_text(incident.number)
    expect(item).to_contain_text("비상벨")  # the kind's Korean label
    expect(item).to_have_attribute("data-status", "new")
    seoul = incident.last_event_at.astimezone(dt.timezone(dt.timedelta(hours=9)))
    expect(item.locator("time")).to_have_text(seoul.strftime("%H:%M:%S"))  # Asia/Seoul
    expect(item).to_have_class(re.compile(r"\bflash\b"))  # the visual alarm
    assert alarms(page) > before  # the alarm went off (sound needs a user gesture first)
    expect(page.locator("#incident-count")).to_have_text(re.compile(r"^[1-9]"))

    # j/k move through the queue; Enter selects: the map centres on it, the nearest cameras listed
    page.locator("#incident-title").click()  # a user gesture (lets the page sound the alarm)
    page.keyboard.press("j")
    expect(item).to_be_focused()
    page.keyboard.press("Enter")
    detail = page.locator("#incident-detail")
    expect(detail).to_be_visible()
    expect(detail.locator(".incident-detail-title")).to_contain_text(incident.number)
    lon, lat = incident.point.coords
    wait_for(
        lambda: all(abs(a - b) < 1e-5 for a, b in zip(map_centre(page), (lon, lat), strict=True)),
        what="the map centred on the incident",
    )
    nearest = queries.nearest_cameras(agent, incident)
    assert nearest, "a Seongdong bell has cameras near it"
    cameras = detail.locator(".incident-cameras li")
    expect(cameras).to_have_count(len(nearest))
    expect(cameras.first).to_contain_text(nearest[0]["label"])
    wall = cameras.first.locator("a")
    expect(wall).to_have_attribute("href", re.compile(rf"/video/wall/?\?camera={nearest[0]['id']}$"))
    expect(detail.locator(".incident-page-link")).to_have_attribute(
        "href", f"/situations/incidents/{incident.pk}/"
    )
    expect(detail.locator("button[data-action=acknowledge]")).to_be_visible()
    expect(detail.locator("button[data-action=dispatch]")).to_have_count(0)  # the police's step

    page.keyboard.press("a")
    wait_for(lambda: status_of(incident) == "acknowledged", what="acknowledged")
    expect(item).to_have_attribute("data-status", "acknowledged")  # pushed back over the feed
    expect(detail.locator("button[data-action=acknowledge]")).to_have_count(0)
    expect(detail.locator("button[data-action=confirm]")).to_be_visible()
    step = unlocked(lambda: incident.transitions.get(action="acknowledge"))
    assert step.actor_id == agent.pk


def test_a_dropped_feed_replays_what_was_missed_or_reloads_when_too_far_behind(
    seongdong, asgi_server, page: Page, make_user, monkeypatch
):
    night()
    open_console(page, asgi_server, make_user(Role.MONITORING_AGENT))
    lists = []
    page.on("request", lambda r: lists.append(r.url) if "/api/v1/incidents/?" in r.url else None)
    first = bell_pressed(0)
    expect(queue_item(page, first)).to_be_visible(timeout=2_000)

    page.evaluate("() => window.__sockets.at(-1).close()")  # the network drops
    expect(page.locator("#incident-panel")).to_have_attribute("data-live", "0")
    missed = bell_pressed(1)
    expect(queue_item(page, missed)).to_be_visible(timeout=10_000)
    expect(page.locator("#incident-panel")).to_have_attribute("data-live", "1")
    urls = page.evaluate("() => window.__sockets.map((s) => s.url)")
    assert len(urls) == 2 and re.search(r"\?since=\d+$", urls[1]), urls
    assert lists == []  # replayed over the socket, not reloaded

    monkeypatch.setattr("gwanje.situations.console.websocket.REPLAY_LIMIT", 1)
    page.evaluate("() => window.__sockets.at(-1).close()")
    expect(page.locator("#incident-panel")).to_have_attribute("data-live", "0")
    far = [bell_pressed(n) for n in (2, 3, 4)]
    for incident in far:
        expect(queue_item(page, incident)).to_be_visible(timeout=10_000)
    assert len(lists) == 1  # `reset`: the queue was reloaded over HTTP
    for incident in (first, missed):
        expect(queue_item(page, incident)).to_be_visible()


@pytest.mark.parametrize("role", [Role.POLICE_STATIONED, Role.POLICE_112])
def test_police_see_the_same_console_with_their_steps_only(
    role, seongdong, asgi_server, page: Page, make_user
):
    night()
    incident = bell_pressed()
    officer, agent = make_user(role), make_user(Role.MONITORING_AGENT)
    open_console(page, asgi_server, officer)
    mine = page.locator("#incident-mine")
    expect(mine).to_be_checked()
    item = queue_item(page, incident)
    expect(item).to_have_count(0)  # the agents' step first: not in the officer's own queue
    mine.uncheck()
    expect(item).to_be_visible()  # ...but the same incidents are there (Art. 9⑤)
    expect(item).to_have_class(re.compile(r"\bnot-mine\b"))
    item.click()
    detail = page.locator("#incident-detail")
    expect(detail.locator(".incident-detail-title")).to_contain_text(incident.number)
    expect(detail.locator(".incident-actions button")).to_have_count(0)
    page.locator("#incident-title").click()
    item.focus()
    page.keyboard.press("a")  # not in the API's `actions`: nothing is sent
    page.wait_for_timeout(300)
    assert status_of(incident) == "new"

    # handed over: now in the officer's queue, with an alarm, and dispatch is the officer's step
    before = alarms(page)
    for action in ("acknowledge", "confirm", "hand_over"):
        unlocked(lambda action=action: workflow.act(user=agent, incident=incident, action=action))
    mine.check()
    expect(item).to_be_visible(timeout=2_000)
    expect(item).to_have_attribute("data-status", "handed_over")
    wait_for(lambda: alarms(page) > before, what="the alarm on hand-over")
    expect(detail.locator("button[data-action=dispatch]")).to_be_visible()
    page.locator("#incident-title").click()
    item.focus()
    page.keyboard.press("p")  # dispatch asks for the patrol unit first
    expect(detail.locator(".incident-error")).to_be_visible()
    expect(page.locator("#incident-unit")).to_be_focused()
    page.locator("#incident-unit").fill("성수지구대 2호차")
    detail.locator("button[data-action=dispatch]").click()
    wait_for(lambda: status_of(incident) == "dispatched", what="dispatched")
    assert unlocked(lambda: Incident.objects.get(pk=incident.pk).dispatch_unit) == "성수지구대 2호차"


def test_help_overlay_mute_and_errors_in_korean(seongdong, asgi_server, page: Page, make_user):
    night()
    open_console(page, asgi_server, make_user(Role.MONITORING_AGENT))
    incident = bell_pressed()
    item = queue_item(page, incident)
    expect(item).to_be_visible(timeout=2_000)

    page.locator("#incident-title").click()
    page.keyboard.press("?")
    help_dialog = page.locator("#incident-help")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("m")
    assert HANGUL.search(help_dialog.inner_text())
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    mute = page.locator("#incident-mute")
    pressed = mute.get_attribute("aria-pressed")
    page.keyboard.press("m")
    expect(mute).not_to_have_attribute("aria-pressed", pressed)
    page.reload()  # remembered
    expect(page.locator("#incident-mute")).not_to_have_attribute("aria-pressed", pressed)
    expect(page.locator("#incident-panel")).to_have_attribute("data-live", "1", timeout=10_000)

    # the server refuses a step (here: "close" asked for a new incident): its message, in Korean
    def ask_to_close(route):
        route.continue_(post_data=json.dumps({"action": "close", "result": "other"}))

    page.route("**/act/", ask_to_close)
    item.click()
    detail = page.locator("#incident-detail")
    detail.locator("button[data-action=acknowledge]").click()
    error = detail.locator(".incident-error")
    expect(error).to_be_visible()
    assert HANGUL.search(error.inner_text()), error.inner_text()
    assert status_of(incident) == "new"


def test_selecting_an_sos_draws_its_track(seongdong, asgi_server, page: Page, make_user):
    sos = device("sos")
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    steps = [(127.0435, 37.5445), (127.0440, 37.5450), (127.0447, 37.5456)]
    incident = None
    for n, (lon, lat) in enumerate(steps):
        body = payload(
            subject_id="subject-7",
            category="child",
            position={"lat": lat, "lon": lon},
            ts=(start + dt.timedelta(seconds=20 * n)).isoformat(),
        )
        incident = event("sos", sos.device_id, body) or incident
    assert incident is not None and incident.positions.count() == 3
    open_console(page, asgi_server, make_user(Role.MONITORING_AGENT))
    page.locator("#incident-mine").uncheck()
    item = queue_item(page, incident)
    expect(item).to_be_visible()
    assert "subject-7" not in page.locator("#incident-queue").inner_text()  # personal data stays off the feed
    item.click()
    expect(page.locator("#incident-detail .incident-detail-title")).to_contain_text(incident.number)
    expect(page.locator("#incident-panel")).to_have_attribute("data-track-points", "3")
    wait_for(
        lambda: all(abs(a - b) < 1e-5 for a, b in zip(map_centre(page), steps[-1], strict=True)),
        what="the map centred on the last position",
    )
