"""Playback in Chromium: an agent opens a recorded time, the video plays (time advances, the picture
changes), the timeline shows the gap between two recordings, and a click after the gap plays from
there. Real fMP4 segments (ffmpeg), hls.js over Media Source Extensions, the real access log."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

from gwanje.accounts.roles import Role
from gwanje.audit.models import AccessLog
from gwanje.registry.models import Camera
from tests.browser.login import sign_in
from tests.video.segments import index_clip, shared_clip

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.video.urls_playback_test")]
S = dt.timedelta(seconds=1)
SEOUL = dt.timezone(dt.timedelta(hours=9))

FRAME_JS = """() => {
  const v = document.querySelector('#pb-video');
  const c = document.createElement('canvas');
  c.width = 64; c.height = 48;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0, 64, 48);
  const d = g.getImageData(0, 0, 64, 48).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) >>> 0;
  return {hash: h, time: v.currentTime};
}"""


def wait_until(page: Page, js: str, arg=None, timeout: float = 10.0):
    """Poll `js` (a function of `arg`) until it is truthy (page.wait_for_function evaluates a string,
    which the pages' Content-Security-Policy forbids)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(js, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {js} ({arg})")
        page.wait_for_timeout(100)


CURRENT_AFTER = "t => document.querySelector('#pb-video').currentTime > t"
PLAYING_FROM = "ms => Date.parse(document.querySelector('#playback').dataset.playing) >= ms"


def seoul(t: dt.datetime) -> str:
    return t.astimezone(SEOUL).isoformat()


def playing(page: Page) -> dt.datetime:
    return dt.datetime.fromisoformat(page.locator("#playback").get_attribute("data-playing"))


@pytest.fixture
def recorded(settings, tmp_path, seongdong):
    """Camera 1: 20 s recorded from t0, nothing for 30 s, then 20 s more of another session."""
    settings.VIDEO_DIR = tmp_path
    camera = Camera.objects.select_related("site").order_by("pk").first()
    t0 = (timezone.now() - dt.timedelta(hours=1)).replace(microsecond=0)
    clip = shared_clip()
    _a, first = index_clip(camera, clip, start=t0, first=0, count=10)
    _b, second = index_clip(camera, clip, start=t0 + 50 * S, first=5, count=10)
    return camera, t0, first, second


def test_an_agent_plays_a_recorded_range_and_seeks_past_the_gap(page: Page, live_server, make_user, recorded):
    camera, t0, first, second = recorded
    agent = make_user(Role.MONITORING_AGENT)
    sign_in(page, live_server, agent)
    page.goto(
        f"{live_server.url}/video/playback/{camera.pk}/?t={seoul(t0 + 2 * S)}&span=600".replace("+", "%2B")
    )
    root = page.locator("#playback")
    expect(root).to_have_attribute("data-state", "playing", timeout=20_000)

    # it plays: the stream-time clock is at the chosen time, media time advances, the picture changes
    shown = playing(page)
    assert t0 + 1 * S <= shown <= t0 + 10 * S, shown
    expect(page.locator("#pb-clock")).to_contain_text(f"{(t0 + 2 * S).astimezone(SEOUL):%Y-%m-%d %H:%M}")
    a = page.evaluate(FRAME_JS)
    wait_until(page, CURRENT_AFTER, a["time"] + 1.0)
    b = page.evaluate(FRAME_JS)
    assert b["hash"] != a["hash"], "the picture did not change while playing"
    assert playing(page) > shown

    # the timeline shows the 30 s gap between the two recordings
    gap = page.locator(f".pb-track .gap[data-start='{seoul(first[-1].end)}']")
    expect(gap).to_have_attribute("data-end", seoul(second[0].start))
    expect(page.locator(".pb-track .rec")).to_have_count(2)

    # a click just after the gap plays from there
    box = page.locator("#pb-timeline").bounding_box()
    win = page.evaluate("() => [gwanjePlayback.state.winStart, gwanjePlayback.state.winEnd]")
    target_ms = (second[0].start + 5 * S).timestamp() * 1000
    x = box["x"] + (target_ms - win[0]) / (win[1] - win[0]) * box["width"]
    page.mouse.click(x, box["y"] + box["height"] / 2)
    wait_until(page, PLAYING_FROM, second[0].start.timestamp() * 1000)
    expect(root).to_have_attribute("data-seeks", "1", timeout=10_000)
    after = playing(page)
    assert second[0].start <= after <= second[-1].end, after
    c = page.evaluate(FRAME_JS)
    wait_until(page, CURRENT_AFTER, c["time"] + 0.5)
    assert page.evaluate(FRAME_JS)["hash"] != c["hash"]

    # one playlist opened, one access-log record (segments are not logged one by one)
    records = AccessLog.objects.filter(username=agent.username, subject_type="camera")
    assert [(r.action, r.result) for r in records] == [("view", "allowed")]
    assert f"camera:{camera.pk}" in records[0].subject


def test_speed_buttons_change_the_rate(page: Page, live_server, make_user, recorded):
    camera, t0, _first, _second = recorded
    sign_in(page, live_server, make_user(Role.MONITORING_AGENT))
    page.goto(
        f"{live_server.url}/video/playback/{camera.pk}/?t={seoul(t0 + 1 * S)}&span=600".replace("+", "%2B")
    )
    expect(page.locator("#playback")).to_have_attribute("data-state", "playing", timeout=20_000)
    page.locator(".pb-speeds button[data-rate='4']").click()
    expect(page.locator(".pb-speeds button[data-rate='4']")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.querySelector('#pb-video').playbackRate") == 4


def test_police_without_a_grant_see_the_refusal(page: Page, live_server, make_user, recorded):
    camera, t0, _first, _second = recorded
    officer = make_user(Role.POLICE_STATIONED)
    sign_in(page, live_server, officer)
    page.goto(
        f"{live_server.url}/video/playback/{camera.pk}/?t={seoul(t0 + 1 * S)}&span=600".replace("+", "%2B")
    )
    expect(page.locator("#playback")).to_have_attribute("data-state", "error", timeout=20_000)
    with translation.override("ko"):
        told = gettext("Police may view this camera's video only under an open incident's video grant.")
    expect(page.locator("#pb-message")).to_have_text(told)  # the server's reason, as it answered
    log = AccessLog.objects.filter(username=officer.username).latest("seq")
    assert (log.action, log.result) == ("view", "denied")
