"""GET /api/v1/cameras/: every filter alone against an independent expectation, every pair of
filters as the intersection of the two, and the sites list with its filters."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.gis.geos import Polygon

from gwanje.accounts.models import Organisation
from gwanje.geo.models import AdminDong
from gwanje.registry import services
from gwanje.registry.choices import CameraKind, CameraStatus, ExpansionProcedure, Owner, Purpose
from gwanje.registry.models import Camera, Site
from tests.api.conftest import API, assert_error, ids

pytestmark = pytest.mark.django_db

CAMERAS = f"{API}/cameras/"
SITES = f"{API}/sites/"
BBOX = (127.02, 37.54, 127.05, 37.56)


@pytest.fixture
def registry_state(seongdong):
    """Some variety beyond the deployment: statuses, a view direction, an active secondary purpose."""
    pks = list(Camera.objects.order_by("id").values_list("pk", flat=True))
    Camera.objects.filter(pk__in=pks[::50]).update(status=CameraStatus.OFFLINE)
    Camera.objects.filter(pk__in=pks[7::90]).update(status=CameraStatus.FAULT)
    special = Camera.objects.get(site__code="SD-A010", number=1)
    special.view_direction = "왕십리역 방면"
    services.save_camera(special)
    services.record_purpose_expansion(
        purpose=Purpose.FACILITY,
        procedure=ExpansionProcedure.ADMIN_NOTICE,
        started_on=dt.date(2026, 1, 5),
        decided_on=dt.date(2026, 2, 1),
        document_number="성동-2026-17",
        approver="성동구청장",
        cameras=Camera.objects.filter(site__code__in=["SD-A001", "SD-A002", "SD-T001"]),
    )


def _expected(predicate, rows: list[Camera] | None = None) -> set[int]:
    if rows is None:
        rows = _all_cameras()
    return {c.pk for c in rows if predicate(c)}


def _all_cameras() -> list[Camera]:
    return list(Camera.objects.select_related("site").prefetch_related("secondary_purposes"))


def _active(c: Camera) -> set[str]:
    return {c.primary_purpose} | {sp.purpose for sp in c.secondary_purposes.all() if sp.expansion_id}


def _text(c: Camera, needle: str) -> bool:
    hay = [c.site.code, c.site.name, c.site.road_address, c.site.jibun_address, c.view_direction, c.notes]
    return any(needle.lower() in h.lower() for h in hay)


def _in_bbox(c: Camera) -> bool:
    return BBOX[0] <= c.point.x <= BBOX[2] and BBOX[1] <= c.point.y <= BBOX[3]


def _cases() -> dict[str, tuple[dict, object]]:
    """name -> (query params, predicate of the cameras it must return)."""
    parks = Organisation.objects.get(code="seongdong-parks")
    traffic = Organisation.objects.get(code="seongdong-traffic-guidance")
    dong = AdminDong.objects.get(name="성수1가1동")
    dong2 = AdminDong.objects.get(name="마장동")
    return {
        "department": ({"department": parks.pk}, lambda c: c.site.department_id == parks.pk),
        "departments": (
            {"department": [parks.pk, traffic.pk]},
            lambda c: c.site.department_id in (parks.pk, traffic.pk),
        ),
        "purpose": ({"purpose": Purpose.FACILITY}, lambda c: Purpose.FACILITY in _active(c)),
        "purposes": (
            {"purpose": [Purpose.ILLEGAL_DUMPING, Purpose.DISASTER]},
            lambda c: bool({Purpose.ILLEGAL_DUMPING, Purpose.DISASTER} & _active(c)),
        ),
        "kind": ({"kind": CameraKind.PTZ}, lambda c: c.kind == CameraKind.PTZ),
        "status": (
            {"status": [CameraStatus.OFFLINE, CameraStatus.FAULT]},
            lambda c: c.status in (CameraStatus.OFFLINE, CameraStatus.FAULT),
        ),
        "owner": ({"owner": Owner.POLICE}, lambda c: c.site.owner == Owner.POLICE),
        "dong": ({"dong": [dong.pk, dong2.pk]}, lambda c: c.site.dong_id in (dong.pk, dong2.pk)),
        "bbox": ({"bbox": ",".join(map(str, BBOX))}, _in_bbox),
        "q": ({"q": "공원"}, lambda c: _text(c, "공원")),
        "q_direction": ({"q": "왕십리역"}, lambda c: _text(c, "왕십리역")),
        "site": ({"site": "sd-a010"}, lambda c: c.site.code == "SD-A010"),
    }


def test_each_filter_alone(api, registry_state):
    rows = _all_cameras()
    for name, (params, predicate) in _cases().items():
        expected = _expected(predicate, rows)
        assert expected, f"{name}: the case must select something"
        assert ids(api, CAMERAS, params) == expected, name


def test_known_counts(api, registry_state):
    cases = _cases()
    assert len(ids(api, CAMERAS, cases["department"][0])) == 43
    assert len(ids(api, CAMERAS, cases["owner"][0])) == 7
    # facility: bicycle storage (20) + parks (43) primary, plus the 3 sites' cameras of the expansion
    expanded = Camera.objects.filter(site__code__in=["SD-A001", "SD-A002", "SD-T001"]).count()
    assert len(ids(api, CAMERAS, cases["purpose"][0])) == 20 + 43 + expanded
    assert len(ids(api, CAMERAS)) == 1069


def test_inactive_secondary_purposes_do_not_match(api, seongdong):
    # Every A camera lists `facility` as a secondary purpose, but no expansion record covers it.
    got = ids(api, CAMERAS, {"purpose": Purpose.FACILITY})
    assert not Camera.objects.filter(pk__in=got, site__code__startswith="SD-A").exists()
    assert len(got) == 63


PAIR_NAMES = ["department", "purpose", "kind", "status", "owner", "dong", "bbox", "q", "site"]


def test_pairs_of_filters_intersect(api, registry_state):
    cases, rows = _cases(), _all_cameras()
    nonempty = 0
    for a, b in itertools.combinations(PAIR_NAMES, 2):
        (pa, fa), (pb, fb) = cases[a], cases[b]
        expected = _expected(lambda c, fa=fa, fb=fb: fa(c) and fb(c), rows)
        assert ids(api, CAMERAS, {**pa, **pb}) == expected, (a, b)
        nonempty += bool(expected)
    assert nonempty >= 20  # most pairs select something, so the check has teeth


def test_all_filters_together(api, registry_state):
    cases = _cases()
    names = ["departments", "kind", "dong", "q"]
    params = {k: v for n in names for k, v in cases[n][0].items()}
    params["q"] = "00"  # site codes like T001
    expected = _expected(lambda c: all(cases[n][1](c) for n in names[:-1]) and _text(c, "00"))
    assert expected
    assert ids(api, CAMERAS, params) == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"department": "abc"}, "department"),
        ({"department": 999999}, "department"),
        ({"department": 10**30}, "department"),
        ({"department": "9" * 5000}, "department"),
        ({"dong": [1, -(10**20)]}, "dong"),
        ({"dong": "x"}, "dong"),
        ({"purpose": "flying"}, "purpose"),
        ({"kind": "dome"}, "kind"),
        ({"status": "asleep"}, "status"),
        ({"owner": "army"}, "owner"),
        ({"bbox": "garbage"}, "bbox"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "127.05,37.54,127.02,37.56"}, "bbox"),
        ({"bbox": "0,0,1,1"}, "bbox"),
        ({"bbox": "nan,nan,nan,nan"}, "bbox"),
        ({"bbox": "1e999,1,2,3"}, "bbox"),
    ],
)
def test_bad_filter_values_are_400_naming_the_filter(api, seongdong, params, field):
    assert_error(api.get(CAMERAS, params), 400, field)


def test_pagination(api, seongdong):
    r = api.get(CAMERAS, {"page_size": 25, "page": 2})
    body = r.json()
    assert body["count"] == 1069 and len(body["results"]) == 25
    assert body["previous"] and body["next"]
    first = api.get(CAMERAS, {"page_size": 25}).json()["results"]
    assert not {c["id"] for c in first} & {c["id"] for c in body["results"]}
    assert len(api.get(CAMERAS).json()["results"]) == 100  # default page size
    assert len(api.get(CAMERAS, {"page_size": 10**9}).json()["results"]) == 1000  # capped
    assert len(api.get(CAMERAS, {"page_size": "abc"}).json()["results"]) == 100
    assert len(api.get(CAMERAS, {"page_size": -5}).json()["results"]) == 100
    for page in (0, 99, "abc", 10**30, "1e400"):
        assert_error(api.get(CAMERAS, {"page": page}), 404)


# --- sites -----------------------------------------------------------------------------------------


def test_site_list_and_filters(api, seongdong):
    parks = Organisation.objects.get(code="seongdong-parks")
    assert len(ids(api, SITES)) == 524
    assert len(ids(api, SITES, {"department": parks.pk})) == 34
    assert len(ids(api, SITES, {"owner": Owner.POLICE})) == 7
    assert ids(api, SITES, {"is_mobile": "true"}) == set(
        Site.objects.filter(is_mobile=True).values_list("pk", flat=True)
    )
    assert len(ids(api, SITES, {"has_onsite_storage": "true", "department": parks.pk})) == 0
    dong = AdminDong.objects.get(name="성수1가1동")
    assert ids(api, SITES, {"dong": dong.pk}) == set(
        Site.objects.filter(dong=dong).values_list("pk", flat=True)
    )
    box = Polygon.from_bbox(BBOX)
    inside = {s.pk for s in Site.objects.all() if box.covers(s.point)}
    assert ids(api, SITES, {"bbox": ",".join(map(str, BBOX))}) == inside
    assert ids(api, SITES, {"q": "P01"}) == set(
        Site.objects.filter(code__startswith="SD-P01").values_list("pk", flat=True)
    )
    first = api.get(SITES, {"page_size": 3}).json()["results"]
    assert [s["code"] for s in first] == ["SD-A001", "SD-A002", "SD-A003"]
    a001 = Site.objects.get(code="SD-A001")
    assert first[0]["camera_count"] == a001.cameras.count()
    assert first[0]["department"]["code"] == "seongdong-autonomous-admin"
    assert first[0]["point"] == {"type": "Point", "coordinates": [a001.point.x, a001.point.y]}
    assert len(ids(api, SITES, {"is_mobile": "perhaps"})) == 524  # not a boolean: the filter is ignored


def test_query_count_does_not_grow_with_the_page(api, seongdong, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        assert len(api.get(CAMERAS, {"page_size": 10}).json()["results"]) == 10
    with django_assert_max_num_queries(8):
        assert len(api.get(CAMERAS, {"page_size": 500}).json()["results"]) == 500
    with django_assert_max_num_queries(8):
        assert len(api.get(SITES, {"page_size": 500}).json()["results"]) == 500
    with django_assert_max_num_queries(8):
        assert api.get(f"{CAMERAS}nearest/", {"lat": 37.55, "lon": 127.04, "n": 100}).json()["count"] == 100


def test_options_describes_without_errors(api, admin_api, seongdong):
    cam = Camera.objects.first()
    for client in (api, admin_api):
        for url in (CAMERAS, f"{CAMERAS}{cam.pk}/", SITES, f"{CAMERAS}nearest/"):
            r = client.options(url)
            assert r.status_code == 200, (url, r.content[:300])
            assert r.json()["name"]
