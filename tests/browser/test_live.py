"""Live video in Chromium: a monitoring agent opens the video wall with a simulated camera in a tile
and the video plays (the picture changes within 2 s); a tile is enlarged to the main stream and
back; cameras are put on the wall by keyboard and by dragging; layouts are saved and loaded.

The page is served by gwanje.asgi under uvicorn (in a thread of the test process), because the live
socket is an ASGI WebSocket; Django's own live server speaks only WSGI."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from gwanje.accounts.roles import Role
from gwanje.audit.models import AccessLog
from gwanje.registry import services as registry
from gwanje.registry.models import Camera
from gwanje.video.models import WallLayout
from tests.browser.login import sign_in
from tests.video.conftest import simulator  # noqa: F401 - the camera simulator fixture

pytestmark = pytest.mark.django_db(transaction=True)

TILE_JS = """i => {
  const tile = document.querySelectorAll('.wall-tile')[i];
  const v = tile.querySelector('video');
  const c = document.createElement('canvas');
  c.width = 64; c.height = 36;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0, 64, 36);
  const d = g.getImageData(0, 0, 64, 36).data;
  let h = 0;
  for (let k = 0; k < d.length; k += 4) h = (h * 31 + d[k] + 7 * d[k + 1] + 13 * d[k + 2]) >>> 0;
  return {hash: h, time: v.currentTime, width: v.videoWidth, state: v.dataset.state || '',
          camera: tile.dataset.cameraId, big: tile.classList.contains('big')};
}"""


def wait_until(page: Page, js: str, arg=None, timeout: float = 20.0):
    """Poll `js` until truthy (page.wait_for_function evaluates strings, which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(js, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {js} ({arg})")
        page.wait_for_timeout(100)


def tile(page: Page, i: int) -> dict:
    return page.evaluate(TILE_JS, i)


def playing(page: Page, i: int, width: int | None = None, timeout: float = 20.0) -> dict:
    def ok(info: dict) -> bool:
        return info["state"] == "playing" and info["width"] > 0 and (width is None or info["width"] == width)

    deadline = time.monotonic() + timeout
    while True:
        info = tile(page, i)
        if ok(info):
            return info
        if time.monotonic() > deadline:
            raise AssertionError(f"tile {i} not playing: {info}")
        page.wait_for_timeout(100)


def frame_changes(page: Page, i: int, within: float = 2.0) -> bool:
    first = tile(page, i)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        now = tile(page, i)
        if now["hash"] != first["hash"] and now["time"] > first["time"]:
            return True
    return False


@pytest.fixture
def cameras(seongdong, simulator):  # noqa: F811
    out = []
    for n, cam in enumerate(Camera.objects.select_related("site").order_by("pk")[:2], start=1):
        cam.main_stream_url = simulator.url(n)
        cam.sub_stream_url = simulator.url(n, stream="sub")
        out.append(registry.save_camera(cam))
    return out


def test_the_wall_plays_a_simulated_camera_and_enlarges_it(page: Page, asgi_server, make_user, cameras):
    agent = make_user(Role.MONITORING_AGENT)
    camera = cameras[0]
    sign_in(page, asgi_server, agent)
    page.goto(f"{asgi_server.url}/video/wall/?camera={camera.pk}")
    expect(page.locator(".wall-tile").first).to_have_attribute("data-camera-id", str(camera.pk))
    expect(page.locator(".wall-tile .tile-label").first).to_have_text(str(camera))

    info = playing(page, 0, width=640)  # the sub stream in a tile
    assert frame_changes(page, 0), "the picture did not change within 2 s"
    assert AccessLog.objects.filter(
        username=agent.username, subject__startswith=f"camera:{camera.pk} ", result="allowed"
    ).exists()

    page.locator(".wall-tile").first.focus()
    page.keyboard.press("Enter")  # enlarged: the main stream
    expect(page.locator("#wall-grid")).to_have_class("wall-grid enlarged")
    info = playing(page, 0, width=1920)
    assert info["big"]
    page.keyboard.press("Escape")  # back to the grid and the sub stream
    expect(page.locator("#wall-grid")).to_have_class("wall-grid")
    playing(page, 0, width=640)
    assert frame_changes(page, 0)


def test_cameras_by_keyboard_and_drag_and_layouts_saved_and_loaded(
    page: Page, asgi_server, make_user, cameras
):
    agent = make_user(Role.MONITORING_AGENT)
    first, second = cameras
    sign_in(page, asgi_server, agent)
    page.goto(f"{asgi_server.url}/video/wall/")
    expect(page.locator(".wall-tile")).to_have_count(4)

    # Keyboard: filter the list, arrow down into it, Enter puts the camera in the first free tile.
    page.locator("#wall-filter").fill(str(first))
    expect(page.locator(f".wall-camera[data-camera-id='{first.pk}']")).to_be_visible()
    page.locator("#wall-filter").press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator(".wall-tile").nth(0)).to_have_attribute("data-camera-id", str(first.pk))
    # Drag: the second camera from the list onto the third tile.
    page.locator("#wall-filter").fill(str(second))
    item = page.locator(f".wall-camera[data-camera-id='{second.pk}']")
    item.drag_to(page.locator(".wall-tile").nth(2))
    expect(page.locator(".wall-tile").nth(2)).to_have_attribute("data-camera-id", str(second.pk))
    playing(page, 2)

    page.locator("#wall-layout-name").fill("야간 감시")
    page.locator("#wall-layout-save").click()
    expect(page.locator("#wall-layout-message")).to_contain_text("야간 감시")
    layout = WallLayout.objects.get(user=agent)
    assert (layout.name, layout.grid, layout.cells) == ("야간 감시", 4, [first.pk, None, second.pk, None])

    page.locator(".wall-grid-button[data-grid='9']").click()  # another wall …
    expect(page.locator(".wall-tile")).to_have_count(9)
    page.locator(".wall-tile").nth(0).focus()
    page.keyboard.press("Delete")
    expect(page.locator(".wall-tile").nth(0)).to_have_attribute("data-camera-id", "")

    page.locator("#wall-layout-select").select_option(label="야간 감시 (4)")  # … and back
    page.locator("#wall-layout-load").click()
    expect(page.locator(".wall-tile")).to_have_count(4)
    expect(page.locator(".wall-tile").nth(0)).to_have_attribute("data-camera-id", str(first.pk))
    expect(page.locator(".wall-tile").nth(2)).to_have_attribute("data-camera-id", str(second.pk))
    playing(page, 0)
    assert frame_changes(page, 0)

    page.reload()  # the wall in use survives a reload
    expect(page.locator(".wall-tile").nth(2)).to_have_attribute("data-camera-id", str(second.pk))
