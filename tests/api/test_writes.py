"""Creating, changing and deleting sites and cameras through the API: services do the writes, the
choke point scopes them, stream URLs never come back in full."""

from __future__ import annotations

import json

import pytest

from gwanje.accounts.models import Organisation
from gwanje.geo.models import AdminDong
from gwanje.registry.choices import CameraStatus, Purpose
from gwanje.registry.models import Camera, Site
from tests.api.conftest import API, assert_error

pytestmark = pytest.mark.django_db

CAMERAS = f"{API}/cameras/"
SITES = f"{API}/sites/"
SECRET_URL = "rtsp://admin:s3cret@10.1.2.3/stream1"
REDACTED = "rtsp://admin:***@10.1.2.3/stream1"


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def patch(client, url, data):
    return client.patch(url, json.dumps(data), content_type="application/json")


def put(client, url, data):
    return client.put(url, json.dumps(data), content_type="application/json")


def _camera_payload(site: Site, **extra) -> dict:
    return {"site": site.pk, "number": 9, "primary_purpose": Purpose.CRIME_PREVENTION, **extra}


# --- cameras -------------------------------------------------------------------------------------


def test_stream_urls_are_write_only_and_redacted(admin_api, seongdong):
    site = Site.objects.get(code="SD-A001")
    r = post(admin_api, CAMERAS, _camera_payload(site, main_stream_url=SECRET_URL, sub_stream_url=SECRET_URL))
    assert r.status_code == 201, r.content
    assert b"s3cret" not in r.content
    body = r.json()
    assert body["main_stream_url_redacted"] == REDACTED and body["sub_stream_url_redacted"] == REDACTED
    assert "main_stream_url" not in body and "sub_stream_url" not in body
    cam = Camera.objects.get(pk=body["id"])
    assert cam.main_stream_url == SECRET_URL  # stored in full (encrypted at rest)
    for url, params in [
        (f"{CAMERAS}{cam.pk}/", {}),
        (CAMERAS, {"site": "SD-A001"}),
        (CAMERAS, {"page_size": 1000, "page": 2}),
        (f"{CAMERAS}nearest/", {"lat": cam.point.y, "lon": cam.point.x}),
    ]:
        resp = admin_api.get(url, params)
        assert resp.status_code == 200 and b"s3cret" not in resp.content, url
    # the redacted value sent back unchanged keeps the stored URL; blank keeps it too
    assert patch(admin_api, f"{CAMERAS}{cam.pk}/", {"main_stream_url": REDACTED}).status_code == 200
    assert patch(admin_api, f"{CAMERAS}{cam.pk}/", {"main_stream_url": "", "notes": "x"}).status_code == 200
    cam.refresh_from_db()
    assert cam.main_stream_url == SECRET_URL
    r = patch(admin_api, f"{CAMERAS}{cam.pk}/", {"main_stream_url": "rtsp://u:n3w@10.1.2.4/s"})
    assert b"n3w" not in r.content and r.json()["main_stream_url_redacted"] == "rtsp://u:***@10.1.2.4/s"
    r = patch(admin_api, f"{CAMERAS}{cam.pk}/", {"clear_sub_stream_url": True})
    assert r.json()["sub_stream_url_redacted"] == ""
    cam.refresh_from_db()
    assert cam.sub_stream_url == "" and cam.main_stream_url == "rtsp://u:n3w@10.1.2.4/s"


def test_create_camera_defaults_and_representation(admin_api, seongdong):
    site = Site.objects.get(code="SD-P001")
    r = post(admin_api, CAMERAS, _camera_payload(site, secondary_purposes=[Purpose.DISASTER], megapixels=2.1))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["site"] == {"id": site.pk, "code": "SD-P001", "name": site.name}
    assert body["label"] == "SD-P001-9"
    assert body["point"] == {"type": "Point", "coordinates": [site.point.x, site.point.y]}  # the site's
    assert body["status"] == "online" and body["status_colour"] == CameraStatus.colour("online")
    assert body["status_label"] and body["kind_label"] and body["primary_purpose_label"]
    assert body["megapixels"] == 2.1
    assert body["secondary_purposes"] == [
        {"purpose": "disaster", "label": Purpose.label("disaster"), "active": False, "expansion": None}
    ]
    assert body["active_purposes"] == ["crime_prevention"]
    assert body["department"]["code"] == "seongdong-parks"
    assert body["dong"]["id"] == site.dong_id and body["owner"] == "district"


def test_update_camera(admin_api, seongdong):
    cam = Camera.objects.get(site__code="SD-A002", number=1)
    url = f"{CAMERAS}{cam.pk}/"
    r = patch(admin_api, url, {"lon": 127.041, "lat": 37.551, "view_direction": "북측", "retention_days": 60})
    assert r.status_code == 200, r.content
    assert r.json()["lon"] == 127.041 and r.json()["retention_days"] == 60
    r = patch(admin_api, url, {"status": "fault"})
    assert r.json()["status"] == "fault" and r.json()["status_changed_at"]
    full = {"site": cam.site_id, "number": 1, "kind": "fixed", "primary_purpose": "disaster",
            "secondary_purposes": ["facility"], "status": "online"}  # fmt: skip
    r = put(admin_api, url, full)
    assert r.status_code == 200, r.content
    assert r.json()["primary_purpose"] == "disaster" and r.json()["view_direction"] == "북측"
    assert [s["purpose"] for s in r.json()["secondary_purposes"]] == ["facility"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"main_stream_url": "not a url"}, "main_stream_url"),
        ({"main_stream_url": "file:///etc/passwd"}, "main_stream_url"),
        ({"number": 0}, "number"),
        ({"number": 1}, None),  # (site, number) taken
        ({"number": "x"}, "number"),
        ({"number": 10**30}, "number"),
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": 4000}, "retention_days"),
        ({"megapixels": "abc"}, "megapixels"),
        ({"megapixels": 1000}, "megapixels"),
        ({"lon": 127.04}, "lat"),
        ({"lat": 91, "lon": 127.04}, "lat"),
        ({"lat": 37.5, "lon": "east"}, "lon"),
        ({"primary_purpose": "spying"}, "primary_purpose"),
        ({"secondary_purposes": ["spying"]}, "secondary_purposes"),
        ({"secondary_purposes": "disaster"}, "secondary_purposes"),
        ({"status": "asleep"}, "status"),
        ({"kind": "dome"}, "kind"),
        ({"site": 999999}, "site"),
        ({"site": 10**30}, "site"),
        ({"site": "abc"}, "site"),
        ({"site": None}, "site"),
    ],
)
def test_camera_validation_errors(admin_api, seongdong, payload, field):
    site = Site.objects.get(code="SD-A001")
    before = Camera.objects.count()
    assert_error(post(admin_api, CAMERAS, {**_camera_payload(site), **payload}), 400, field)
    assert Camera.objects.count() == before


def test_required_fields(admin_api, seongdong):
    errs = assert_error(post(admin_api, CAMERAS, {}), 400)
    assert {"site", "number", "primary_purpose"} <= {e["field"] for e in errs}


def test_delete_camera(admin_api, api, seongdong):
    cam = Camera.objects.get(site__code="SD-A003", number=1)
    assert_error(api.delete(f"{CAMERAS}{cam.pk}/"), 403)
    assert admin_api.delete(f"{CAMERAS}{cam.pk}/").status_code == 204
    assert not Camera.objects.filter(pk=cam.pk).exists()
    assert_error(admin_api.get(f"{CAMERAS}{cam.pk}/"), 404)
    assert_error(admin_api.delete(f"{CAMERAS}{cam.pk}/"), 404)


def test_read_only_roles_cannot_write(api, police_api, seongdong):
    site = Site.objects.get(code="SD-A001")
    cam = Camera.objects.filter(site=site).first()
    for client in (api, police_api):
        assert client.get(f"{CAMERAS}{cam.pk}/").status_code == 200
        assert_error(post(client, CAMERAS, _camera_payload(site)), 403)
        assert_error(patch(client, f"{CAMERAS}{cam.pk}/", {"notes": "x"}), 403)
        assert_error(post(client, SITES, {"code": "Z1", "lon": 127.04, "lat": 37.55, "department": 1}), 403)


# --- department CCTV manager -----------------------------------------------------------------------


def test_department_manager_sees_and_edits_only_own_rows(parks_api, seongdong):
    own = Camera.objects.filter(site__department__code="seongdong-parks").first()
    other = Camera.objects.exclude(site__department__code="seongdong-parks").first()
    assert parks_api.get(CAMERAS).json()["count"] == 43
    assert parks_api.get(SITES).json()["count"] == 34
    assert_error(parks_api.get(f"{CAMERAS}{other.pk}/"), 404)
    assert_error(parks_api.get(f"{SITES}{other.site_id}/"), 404)
    assert_error(patch(parks_api, f"{CAMERAS}{other.pk}/", {"notes": "x"}), 404)
    assert patch(parks_api, f"{CAMERAS}{own.pk}/", {"notes": "점검 완료"}).status_code == 200
    # a camera on another department's site: that site is not a valid choice
    assert_error(post(parks_api, CAMERAS, _camera_payload(other.site)), 400, "site")
    # nor may an own camera move there
    assert_error(patch(parks_api, f"{CAMERAS}{own.pk}/", {"site": other.site_id}), 400, "site")
    r = post(parks_api, CAMERAS, _camera_payload(own.site, number=20))
    assert r.status_code == 201, r.content
    assert_error(parks_api.delete(f"{CAMERAS}{own.pk}/"), 403)  # no registry.delete


def test_department_manager_cannot_create_sites_elsewhere(parks_api, seongdong):
    parks = Organisation.objects.get(code="seongdong-parks")
    other = Organisation.objects.get(code="seongdong-sanitation")
    payload = {"code": "PX01", "name": "새 공원", "lon": 127.04, "lat": 37.55}
    assert_error(post(parks_api, SITES, {**payload, "department": other.pk}), 403)
    assert not Site.objects.filter(code="PX01").exists()
    r = post(parks_api, SITES, {**payload, "department": parks.pk})
    assert r.status_code == 201, r.content
    site_id = r.json()["id"]
    assert_error(patch(parks_api, f"{SITES}{site_id}/", {"department": other.pk}), 403)
    assert Site.objects.get(pk=site_id).department_id == parks.pk


# --- sites -----------------------------------------------------------------------------------------


def test_create_site_computes_dong(admin_api, seongdong):
    dept = Organisation.objects.get(code="seongdong-autonomous-admin")
    dong = AdminDong.objects.get(name="성수1가1동")
    c = dong.geom.point_on_surface
    r = post(admin_api, SITES, {"code": "Z001", "name": "시험", "lon": c.x, "lat": c.y, "department": dept.pk,
                                "installed_on": "2020-05-01", "has_emergency_bell": True})  # fmt: skip
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["dong"]["id"] == dong.pk and body["source"] == "manual" and body["camera_count"] == 0
    assert body["has_emergency_bell"] is True and body["is_synthetic"] is False
    r = patch(admin_api, f"{SITES}{body['id']}/", {"lon": 127.3, "lat": 37.3})  # outside every dong
    assert r.status_code == 200 and r.json()["dong"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"code": "SD-A001"}, "code"),  # taken
        ({"code": ""}, "code"),
        ({"lon": None, "lat": None}, "lon"),
        ({"lat": 37.55, "lon": None}, "lon"),
        ({"lat": 127.04, "lon": 37.55}, "lat"),
        ({"lat": 10, "lon": 10}, "lon"),
        ({"department": 999999}, "department"),
        ({"department": "x"}, "department"),
        ({"owner": "army"}, "owner"),
        ({"installed_on": "yesterday"}, "installed_on"),
        ({"installed_on_precision": "week"}, "installed_on_precision"),
    ],
)
def test_site_validation_errors(admin_api, seongdong, payload, field):
    dept = Organisation.objects.get(code="seongdong-parks")
    base = {"code": "Z002", "lon": 127.04, "lat": 37.55, "department": dept.pk}
    data = {k: v for k, v in {**base, **payload}.items() if v is not None}
    assert_error(post(admin_api, SITES, data), 400, field)


def test_delete_site_with_its_cameras(admin_api, parks_api, seongdong):
    site = Site.objects.get(code="SD-P002")
    assert_error(parks_api.delete(f"{SITES}{site.pk}/"), 403)
    assert admin_api.delete(f"{SITES}{site.pk}/").status_code == 204
    assert not Camera.objects.filter(site_id=site.pk).exists()
