"""The map console page (/) and its compact camera endpoint (/map/cameras.json)."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from django.db.models import Q
from django.test import override_settings
from django.urls import resolve

from gwanje.accounts import services as accounts
from gwanje.accounts.models import Organisation
from gwanje.geo.models import AdminDong, District
from gwanje.registry import services
from gwanje.registry.choices import CameraKind, CameraStatus, Purpose
from gwanje.registry.models import Camera
from gwanje.registry.queries import active_purpose_q

pytestmark = pytest.mark.django_db

URL = "/map/cameras.json"


def dept(name: str) -> Organisation:
    return Organisation.objects.get(name=name)


def get_rows(client, params=None) -> dict:
    r = client.get(URL, params or {})
    assert r.status_code == 200, r.content[:300]
    assert r["Content-Type"] == "application/json"
    body = r.json()
    assert body["count"] == len(body["rows"])
    return body


def ids(body) -> set[int]:
    return {row[0] for row in body["rows"]}


def json_script(html: str, element_id: str):
    m = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert m, element_id
    return json.loads(m.group(1))


# --- the compact endpoint ---------------------------------------------------------------------


def test_anonymous_is_refused_with_a_json_error(client, seongdong):
    r = client.get(URL)
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "not_authenticated"


def test_user_without_registry_view_is_refused(client_for, seongdong):
    nobody = accounts.create_user(username="no-roles", organisation=dept("전산정보과"), roles=[])
    r = client_for(nobody).get(URL)
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "permission_denied"


def test_every_camera_as_compact_rows(agent, client_for):
    body = get_rows(client_for(agent))
    assert body["count"] == 1069
    assert body["fields"] == ["id", "lon", "lat", "status", "kind"]
    assert body["statuses"] == CameraStatus.values()
    assert body["kinds"] == CameraKind.values()
    assert ids(body) == set(Camera.objects.values_list("id", flat=True))
    assert all(len(row) == 5 for row in body["rows"])
    minx, miny, maxx, maxy = District.objects.get(name="성동구").geom.extent
    assert all(minx <= lon <= maxx and miny <= lat <= maxy for _, lon, lat, _s, _k in body["rows"])


def test_a_row_carries_the_cameras_location_status_and_kind(agent, client_for):
    camera = Camera.objects.filter(kind=CameraKind.PTZ).order_by("id").first()
    services.set_camera_status(camera, CameraStatus.FAULT)
    body = get_rows(client_for(agent))
    row = next(r for r in body["rows"] if r[0] == camera.pk)
    assert row[1] == pytest.approx(camera.point.x, abs=1e-6)
    assert row[2] == pytest.approx(camera.point.y, abs=1e-6)
    assert body["statuses"][row[3]] == CameraStatus.FAULT
    assert body["kinds"][row[4]] == CameraKind.PTZ


def test_department_filter(agent, client_for):
    client = client_for(agent)
    assert get_rows(client, {"department": dept("자치행정과").pk})["count"] == 750
    both = get_rows(client, {"department": [dept("자치행정과").pk, dept("공원녹지과").pk]})
    assert both["count"] == 750 + 43


def test_status_kind_dong_purpose_and_text_filters_match_the_registry(agent, client_for):
    client = client_for(agent)
    offline = list(Camera.objects.order_by("id")[:3])
    for camera in offline:
        services.set_camera_status(camera, CameraStatus.OFFLINE)
    assert ids(get_rows(client, {"status": "offline"})) == {c.pk for c in offline}
    assert get_rows(client, {"status": ["offline", "online"]})["count"] == 1069

    ptz = set(Camera.objects.filter(kind=CameraKind.PTZ).values_list("id", flat=True))
    assert ptz and ids(get_rows(client, {"kind": "ptz"})) == ptz

    dong = AdminDong.objects.order_by("name").first()
    in_dong = set(Camera.objects.filter(site__dong=dong).values_list("id", flat=True))
    assert in_dong and ids(get_rows(client, {"dong": dong.pk})) == in_dong

    facility = set(Camera.objects.filter(active_purpose_q(Purpose.FACILITY)).values_list("id", flat=True))
    assert facility and ids(get_rows(client, {"purpose": Purpose.FACILITY})) == facility

    site_code = offline[0].site.code
    assert ids(get_rows(client, {"q": site_code.lower()})) == set(
        Camera.objects.filter(Q(site__code__icontains=site_code)).values_list("id", flat=True)
    )


@pytest.mark.parametrize(
    "params, field",
    [
        ({"status": "bogus"}, "status"),
        ({"department": "abc"}, "department"),
        ({"kind": "drone"}, "kind"),
        ({"bbox": "1,2"}, "bbox"),
        ({"bbox": "0,0,1,1"}, "bbox"),
    ],
)
def test_bad_filter_parameters_are_400_json(agent, client_for, params, field):
    r = client_for(agent).get(URL, params)
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert field in {e["field"] for e in errors}
    assert all(set(e) == {"field", "code", "message"} and e["message"] for e in errors)


def test_department_manager_gets_only_their_department(parks_manager, client_for):
    client = client_for(parks_manager)
    body = get_rows(client)
    parks = set(Camera.objects.filter(site__department=dept("공원녹지과")).values_list("id", flat=True))
    assert body["count"] == 43
    assert ids(body) == parks
    # another department is not even a choice for a department-scoped user
    r = client.get(URL, {"department": dept("자치행정과").pk})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "department"


def test_endpoint_reads_rows_without_model_instances(agent, client_for, django_assert_max_num_queries):
    client = client_for(agent)
    client.get(URL)  # session, roles
    with django_assert_max_num_queries(4):
        assert get_rows(client)["count"] == 1069


# --- the console page ----------------------------------------------------------------------------


def test_anonymous_console_redirects_to_login(client, seongdong):
    r = client.get("/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")


def test_console_requires_registry_view(client_for, seongdong):
    nobody = accounts.create_user(username="no-roles-2", organisation=dept("전산정보과"), roles=[])
    assert client_for(nobody).get("/").status_code == 403


def test_console_page_serves_config_legend_and_local_assets(agent, client_for):
    r = client_for(agent).get("/")
    assert r.status_code == 200
    html = r.content.decode()
    config = json_script(html, "console-config")
    assert config["camerasUrl"] == URL
    assert config["cardUrl"] == "/registry/cameras/{id}/"
    assert config["nearestUrl"] == "/api/v1/cameras/nearest/"
    # Every API path the map fetches exists.
    for path in [config["nearestUrl"], *config["layers"].values()]:
        resolve(path)
    assert set(config["layers"]) == {"district", "dongs", "police", "zones"}
    minx, miny, maxx, maxy = config["extent"]
    assert 126.9 < minx < maxx < 127.2 and 37.4 < miny < maxy < 37.7
    assert config["tileUrl"] == ""
    assert json_script(html, "status-legend") == CameraStatus.legend()
    for colour in [s["colour"] for s in CameraStatus.legend()]:
        assert colour in html
    assert "/static/vendor/ol/ol.js" in html and "/static/vendor/ol/ol.css" in html
    assert "/jsi18n/" in html
    assert not re.search(r'(src|href)="https?://', html), "no asset from another host"
    # The filter panel is CameraFilterSet's form.
    for name in ["department", "status", "kind", "purpose", "dong", "owner"]:
        assert f'name="{name}"' in html
    assert 'name="q"' in html and 'form="filter-form"' in html


def test_console_binds_the_filters_from_the_query_string(agent, client_for):
    pk = dept("자치행정과").pk
    html = client_for(agent).get("/", {"department": pk, "q": "SD-A001"}).content.decode()
    assert re.search(rf'<input type="checkbox" name="department" value="{pk}"[^>]*checked', html)
    assert 'value="SD-A001"' in html


@override_settings(TILE_URL="https://tiles.example.test/{z}/{x}/{y}.png", TILE_ATTRIBUTION="© Example")
def test_tile_url_adds_a_base_layer(agent, client_for):
    html = client_for(agent).get("/").content.decode()
    config = json_script(html, "console-config")
    assert config["tileUrl"] == "https://tiles.example.test/{z}/{x}/{y}.png"
    assert config["tileAttribution"] == "© Example"
    assert 'value="base"' in html


def test_endpoint_is_gzipped_for_clients_that_accept_it(agent, client_for):
    client = client_for(agent)
    plain = client.get(URL)
    zipped = client.get(URL, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert zipped["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped["Vary"]
    assert len(zipped.content) < len(plain.content) / 2
    assert gzip.decompress(zipped.content) == plain.content
