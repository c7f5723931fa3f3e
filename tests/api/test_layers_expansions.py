"""Map layers (GeoJSON FeatureCollections), purpose-expansion records and organisations."""

from __future__ import annotations

import json

import pytest

from gwanje.accounts.roles import Role
from gwanje.registry.choices import Purpose
from gwanje.registry.models import Camera, PurposeExpansion
from tests.api.conftest import API, assert_error, ids

pytestmark = pytest.mark.django_db

EXPANSIONS = f"{API}/purpose-expansions/"


@pytest.mark.parametrize(
    ("layer", "count", "geometry"),
    [
        ("district", 1, "MultiPolygon"),
        ("dongs", 17, "MultiPolygon"),
        ("police-offices", 9, "Point"),
        ("child-protection-zones", 44, "Point"),
    ],
)
def test_layers_are_feature_collections(api, police_api, layer, count, geometry):
    for client in (api, police_api):
        r = client.get(f"{API}/layers/{layer}/", {"page_size": 2})  # not paginated
        assert r.status_code == 200
        body = r.json()
        assert body["type"] == "FeatureCollection" and len(body["features"]) == count
        for feature in body["features"]:
            assert feature["type"] == "Feature" and feature["geometry"]["type"] == geometry
            assert isinstance(feature["id"], int) and feature["properties"]
    if layer == "dongs":
        names = {f["properties"]["name"] for f in body["features"]}
        assert "성수1가1동" in names and all(len(f["properties"]["code"]) == 10 for f in body["features"])
    if layer == "district":
        assert body["features"][0]["properties"]["name"] == "성동구"
    if layer == "police-offices":
        lon, lat = body["features"][0]["geometry"]["coordinates"]
        assert 126.9 < lon < 127.2 and 37.4 < lat < 37.7


def _expansion(camera_ids: list[int], **extra) -> dict:
    return {
        "purpose": Purpose.ILLEGAL_DUMPING, "procedure": "admin_notice", "started_on": "2026-03-02",
        "decided_on": "2026-04-01", "document_number": "성동-2026-101", "approver": "성동구청장",
        "cameras": camera_ids, **extra,
    }  # fmt: skip


def test_recording_an_expansion_activates_the_purpose(admin_api, it_admin, seongdong):
    cams = list(Camera.objects.filter(site__code__in=["SD-A005", "SD-A006"]).values_list("pk", flat=True))
    before = ids(admin_api, f"{API}/cameras/", {"purpose": Purpose.ILLEGAL_DUMPING})
    r = admin_api.post(EXPANSIONS, json.dumps(_expansion(cams)), content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["cameras"] == sorted(cams) and body["created_by"] == it_admin.username
    assert body["purpose_label"] == Purpose.label(Purpose.ILLEGAL_DUMPING) and body["procedure_label"]
    after = ids(admin_api, f"{API}/cameras/", {"purpose": Purpose.ILLEGAL_DUMPING})
    assert after == before | set(cams)
    cam = admin_api.get(f"{API}/cameras/{cams[0]}/").json()
    dumping = next(s for s in cam["secondary_purposes"] if s["purpose"] == Purpose.ILLEGAL_DUMPING)
    label = Purpose.label("illegal_dumping")
    assert dumping == {"purpose": "illegal_dumping", "label": label, "active": True, "expansion": body["id"]}
    assert cam["active_purposes"] == ["crime_prevention", "illegal_dumping"]
    listed = admin_api.get(EXPANSIONS).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]
    assert admin_api.get(f"{EXPANSIONS}{body['id']}/").json()["document_number"] == "성동-2026-101"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"cameras": []}, "cameras"),
        ({"cameras": [999999]}, "cameras"),
        ({"cameras": [10**30]}, "cameras"),
        ({"cameras": ["x"]}, "cameras"),
        ({"cameras": "1,2"}, "cameras"),
        ({"purpose": "spying"}, "purpose"),
        ({"procedure": "vote"}, "procedure"),
        ({"ended_on": "2026-01-01"}, "ended_on"),
        ({"decided_on": "2026-01-01"}, "decided_on"),
        ({"started_on": "soon"}, "started_on"),
        ({"document_number": ""}, "document_number"),
    ],
)
def test_expansion_validation(admin_api, seongdong, extra, field):
    cam = Camera.objects.filter(site__code="SD-A007").values_list("pk", flat=True).first()
    payload = _expansion([cam], **extra)
    assert_error(admin_api.post(EXPANSIONS, json.dumps(payload), content_type="application/json"), 400, field)
    assert not PurposeExpansion.objects.exists()


def test_expansion_of_a_primary_purpose_only_is_refused(admin_api, seongdong):
    cams = list(Camera.objects.filter(site__code="SD-D001").values_list("pk", flat=True))  # dumping cameras
    r = admin_api.post(EXPANSIONS, json.dumps(_expansion(cams)), content_type="application/json")
    assert_error(r, 400, "purpose")


def test_expansions_need_their_action(api, parks_api, police_api, seongdong):
    cam = Camera.objects.first()
    for client in (api, parks_api, police_api):
        assert_error(client.get(EXPANSIONS), 403)
        r = client.post(EXPANSIONS, json.dumps(_expansion([cam.pk])), content_type="application/json")
        assert_error(r, 403)


def test_organisations(client_for, make_user, api, seongdong):
    supervisor = client_for(make_user(Role.SUPERVISOR))
    body = supervisor.get(f"{API}/organisations/").json()
    codes = {o["code"] for o in body["results"]}
    assert {"seongdong-parks", "seongdong-police", "seongdong-autonomous-admin"} <= codes
    police = next(o for o in body["results"] if o["code"] == "seongdong-police")
    assert police["is_police"] and police["kind"] == "police_station" and police["kind_label"]
    only = supervisor.get(f"{API}/organisations/", {"kind": "department"}).json()["results"]
    assert only and {o["kind"] for o in only} == {"department"}
    assert supervisor.get(f"{API}/organisations/{police['id']}/").json()["name"] == police["name"]
    assert_error(api.get(f"{API}/organisations/"), 403)  # agents lack accounts.view
