"""The map console in Chromium: log in through the Korean form, see every Seongdong camera drawn,
filter by department, open a camera's card, find the cameras near a point."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from gwanje.accounts.roles import Role
from gwanje.registry.choices import CameraStatus
from gwanje.registry.models import Camera
from tests.browser.login import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

# Pixels of the camera canvas in a status colour (RGB within a small tolerance).
CANVAS_PIXELS_JS = """([r, g, b]) => {
  const c = document.querySelector('#map canvas.camera-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let drawn = 0, coloured = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0) drawn++;
    if (Math.abs(d[i] - r) < 8 && Math.abs(d[i + 1] - g) < 8 && Math.abs(d[i + 2] - b) < 8) coloured++;
  }
  return {drawn, coloured};
}"""


def rgb(colour: str) -> list[int]:
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


def log_in(page: Page, live_server, user) -> Page:
    """The login form (and the one-time code step where the role requires it), then the console."""
    sign_in(page, live_server, user)
    expect(page.locator("#map")).to_have_attribute("data-rendered", "true", timeout=15_000)
    return page


@pytest.fixture
def console(page: Page, live_server, make_user) -> Page:
    return log_in(page, live_server, make_user(Role.MONITORING_AGENT))


def wait_until(page: Page, expression: str, timeout_ms: int = 5_000) -> None:
    """Poll a JavaScript expression until it is true."""
    for _ in range(timeout_ms // 50):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"still false after {timeout_ms} ms: {expression}")


def zoom_to_camera(page: Page, camera_id: int) -> tuple[float, float]:
    """Centre the map on a camera at street zoom; the camera's position in page pixels."""
    page.evaluate(
        """id => { const v = gwanjeConsole.map.getView();
                   v.setCenter(gwanjeConsole.cameras.coordOf(id)); v.setZoom(18); }""",
        camera_id,
    )
    expect(page.locator("#map")).to_have_attribute("data-mode", "points")
    page.wait_for_timeout(100)
    x, y = page.evaluate("id => gwanjeConsole.pixelOf(id)", camera_id)
    box = page.locator("#map").bounding_box()
    return box["x"] + x, box["y"] + y


def test_console_draws_every_seongdong_camera(console: Page):
    expect(console.locator("#camera-count")).to_contain_text("1,069")
    map_el = console.locator("#map")
    expect(map_el).to_have_attribute("data-cameras", "1069")
    expect(map_el).to_have_attribute("data-drawn-cameras", "1069")  # the whole district is in view
    assert int(map_el.get_attribute("data-drawn")) > 20  # clustered, yet more than a handful of groups
    pixels = console.evaluate(CANVAS_PIXELS_JS, rgb(CameraStatus.colour(CameraStatus.ONLINE)))
    assert pixels["drawn"] > 5_000 and pixels["coloured"] > 1_000, pixels
    legend = console.locator('#legend li[data-status="online"] .count')
    expect(legend).to_have_text("1,069")
    assert console.evaluate("performance.getEntriesByName('gwanje:cameras-rendered').length") == 1
    # The district and dong layers came from the API and were drawn.
    assert console.evaluate("gwanjeConsole.overlays.layer('dongs').getSource().getFeatures().length") == 17
    assert console.evaluate("gwanjeConsole.overlays.layer('district').getSource().getFeatures().length") == 1


def test_filter_by_department_with_the_keyboard(console: Page):
    box = console.get_by_label("자치행정과")
    box.focus()
    console.keyboard.press("Space")
    expect(console.locator("#camera-count")).to_contain_text("750")
    expect(console.locator("#map")).to_have_attribute("data-cameras", "750")
    assert "department=" in console.url
    expect(console.locator('#legend li[data-status="online"] .count')).to_have_text("750")
    # The list link carries the same filter.
    assert "department=" in console.locator("#list-link").get_attribute("href")


def test_click_a_camera_opens_its_card_and_esc_closes_it(console: Page):
    camera = Camera.objects.select_related("site__department").get(site__code="SD-A001", number=1)
    x, y = zoom_to_camera(console, camera.pk)
    console.mouse.click(x, y)
    card = console.locator("#card .camera-card")
    expect(card).to_be_visible()
    expect(card.locator(".site-code")).to_have_text("SD-A001")
    expect(card.locator(".department")).to_have_text(camera.site.department.name)
    expect(card.locator(".camera-label")).to_have_text("SD-A001-1")
    expect(console.locator("#map")).to_have_attribute("data-selected", str(camera.pk))
    # Another camera of the site, from the card.
    other = camera.site.cameras.get(number=2)
    card.locator(f'a[data-camera-link="{other.pk}"]').click()
    expect(card.locator(".camera-label")).to_have_text("SD-A001-2")
    expect(console.locator("#map")).to_have_attribute("data-selected", str(other.pk))
    console.keyboard.press("Escape")
    expect(console.locator("#side-panel")).to_be_hidden()
    assert console.locator("#map").get_attribute("data-selected") is None


def test_clicking_a_group_zooms_in(console: Page):
    zoom = console.evaluate("gwanjeConsole.map.getView().getZoom()")
    x, y = console.evaluate(
        """() => { const c = gwanjeConsole.cameras, h = c.hits;
                   for (let k = h.n - 1; k >= 0; k--) {
                     if (c.g.count[h.gi[k]] > 5) return [h.px[k], h.py[k]];
                   } }"""
    )
    box = console.locator("#map").bounding_box()
    console.mouse.click(box["x"] + x, box["y"] + y)
    # (page.wait_for_function evaluates a string, which the pages' CSP forbids: poll instead)
    wait_until(console, f"gwanjeConsole.map.getView().getZoom() > {zoom + 0.5}")
    expect(console.locator("#side-panel")).to_be_hidden()


def test_right_click_lists_the_nearest_cameras(console: Page):
    camera = Camera.objects.get(site__code="SD-A001", number=1)
    x, y = zoom_to_camera(console, camera.pk)
    console.mouse.click(x + 40, y + 40, button="right")
    items = console.locator("#nearby .nearby-item")
    expect(items).to_have_count(10)
    expect(items.first).to_contain_text("SD-A001-")
    expect(items.first.locator(".distance")).to_contain_text("m")
    items.nth(4).click()
    card = console.locator("#card .camera-card")
    expect(card).to_be_visible()
    selected = card.get_attribute("data-camera-id")
    expect(console.locator("#map")).to_have_attribute("data-selected", selected)
    label = items.nth(4).locator(".label").text_content()
    expect(card.locator(".camera-label")).to_have_text(label)


def test_typing_a_coordinate_lists_the_cameras_near_it(console: Page):
    search = console.locator("#search")
    search.fill("37.5446, 127.0557")
    search.press("Enter")
    expect(console.locator("#nearby")).to_be_visible()
    expect(console.locator("#nearby .nearby-point")).to_have_text("37.54460, 127.05570")
    expect(console.locator("#nearby .nearby-item")).to_have_count(10)
    # A coordinate is not a text filter: every camera stays on the map.
    expect(console.locator("#map")).to_have_attribute("data-cameras", "1069")
    # Text is: the site code narrows the map.
    search.fill("SD-A001")
    search.press("Enter")
    expect(console.locator("#map")).to_have_attribute("data-cameras", "3")


def test_department_manager_sees_only_their_cameras(page: Page, live_server, make_user):
    manager = make_user(Role.DEPARTMENT_MANAGER, org="seongdong-parks")
    console = log_in(page, live_server, manager)
    expect(console.locator("#camera-count")).to_contain_text("43")
    expect(console.locator("#map")).to_have_attribute("data-cameras", "43")


def test_show_on_map_link_selects_the_camera(console: Page, live_server):
    camera = Camera.objects.get(site__code="SD-A001", number=3)
    console.goto(f"{live_server.url}/registry/cameras/{camera.pk}/")
    console.locator("a.show-on-map").click()
    expect(console.locator("#card .camera-label")).to_have_text("SD-A001-3")
    expect(console.locator("#map")).to_have_attribute("data-selected", str(camera.pk))
    expect(console.locator("#map")).to_have_attribute("data-mode", "points")  # zoomed in on it
