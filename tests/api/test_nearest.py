"""GET /api/v1/cameras/nearest/: checked against brute force (geographiclib over every camera) for
order and distance, with radius, n limits, filters, scoping and validation errors."""

from __future__ import annotations

import random

import pytest
from geographiclib.geodesic import Geodesic

from gwanje.accounts.models import Organisation
from gwanje.registry.choices import CameraKind, CameraStatus, Purpose
from gwanje.registry.models import Camera
from tests.api.conftest import API, assert_error

pytestmark = pytest.mark.django_db

NEAREST = f"{API}/cameras/nearest/"
TOLERANCE_M = 0.01


def brute(lat: float, lon: float, cameras) -> dict[int, float]:
    g = Geodesic.WGS84
    return {c.pk: g.Inverse(lat, lon, c.point.y, c.point.x)["s12"] for c in cameras}


def check_exact(results: list[dict], truth: dict[int, float], n: int, radius_m: float | None = None) -> None:
    """Same cameras in the same order as brute force (cameras at equal distance may swap) and
    every distance within 1 cm of geographiclib's."""
    pool = sorted(truth.values())
    if radius_m is not None:
        pool = [d for d in pool if d <= radius_m]
    expected_count = min(n, len(pool))
    assert len(results) == expected_count
    if not results:
        return
    got = [(r["id"], r["distance_m"]) for r in results]
    for i, (pk, d) in enumerate(got):
        assert abs(d - truth[pk]) < TOLERANCE_M, ("distance of", pk, d, truth[pk])
        assert abs(d - pool[i]) < TOLERANCE_M, ("rank", i, d, pool[i])
    dn = pool[expected_count - 1]
    must = {pk for pk, d in truth.items() if d < dn - TOLERANCE_M and (radius_m is None or d <= radius_m)}
    assert must <= {pk for pk, _d in got}
    assert [d for _pk, d in got] == sorted(d for _pk, d in got)


def _points(count: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    pts = [(rng.uniform(37.53, 37.58), rng.uniform(127.00, 127.08)) for _ in range(count)]
    # outside the district, far away (Busan), and on a camera itself
    cam = Camera.objects.order_by("pk")[5]
    return [*pts, (37.45, 126.90), (35.10, 129.04), (cam.point.y, cam.point.x)]


def test_matches_brute_force(api, seongdong):
    cameras = list(Camera.objects.all())
    for lat, lon in _points(10, seed=7):
        truth = brute(lat, lon, cameras)
        for n in (1, 10, 100):
            r = api.get(NEAREST, {"lat": lat, "lon": lon, "n": n})
            assert r.status_code == 200, r.content[:300]
            body = r.json()
            assert set(body) == {"count", "results"}
            assert body["count"] == len(body["results"])
            check_exact(body["results"], truth, n)


def test_default_n_and_result_shape(api, seongdong):
    body = api.get(NEAREST, {"lat": "37.55", "lon": "127.04"}).json()
    assert body["count"] == 10
    first = body["results"][0]
    for key in (
        "id",
        "site",
        "label",
        "kind",
        "kind_label",
        "point",
        "lon",
        "lat",
        "status",
        "status_label",
        "status_colour",
        "department",
        "dong",
        "owner",
        "primary_purpose",
        "secondary_purposes",
        "active_purposes",
        "main_stream_url_redacted",
        "distance_m",
    ):
        assert key in first, key
    assert isinstance(first["distance_m"], float)
    assert "main_stream_url" not in first


def test_radius(api, seongdong):
    cameras = list(Camera.objects.all())
    lat, lon = 37.5505, 127.0405
    truth = brute(lat, lon, cameras)
    for radius in (50.0, 300.0, 800.0, 50_000.0):
        body = api.get(NEAREST, {"lat": lat, "lon": lon, "n": 100, "radius_m": radius}).json()
        check_exact(body["results"], truth, 100, radius_m=radius)
        assert all(r["distance_m"] <= radius for r in body["results"])
    inside_300 = sum(d <= 300 for d in truth.values())
    assert 0 < inside_300 < 100
    assert api.get(NEAREST, {"lat": lat, "lon": lon, "n": 100, "radius_m": 300}).json()["count"] == inside_300
    far = api.get(NEAREST, {"lat": 35.1, "lon": 129.0, "radius_m": 50_000}).json()
    assert far == {"count": 0, "results": []}


def test_other_filters_narrow_the_search(api, seongdong):
    parks = Organisation.objects.get(code="seongdong-parks")
    lat, lon = 37.561, 127.035
    cases = [
        ({"department": parks.pk}, Camera.objects.filter(site__department=parks)),
        ({"kind": CameraKind.PTZ}, Camera.objects.filter(kind=CameraKind.PTZ)),
        ({"purpose": Purpose.ILLEGAL_DUMPING},
         Camera.objects.filter(primary_purpose=Purpose.ILLEGAL_DUMPING)),
        ({"owner": "police"}, Camera.objects.filter(site__owner="police")),
        ({"bbox": "127.00,37.55,127.03,37.57"},
         [c for c in Camera.objects.all() if 127.00 <= c.point.x <= 127.03 and 37.55 <= c.point.y <= 37.57]),
        ({"department": parks.pk, "kind": CameraKind.FIXED},
         Camera.objects.filter(site__department=parks, kind=CameraKind.FIXED)),
        ({"status": CameraStatus.FAULT}, []),
    ]  # fmt: skip
    for params, pool in cases:
        truth = brute(lat, lon, pool)
        body = api.get(NEAREST, {"lat": lat, "lon": lon, "n": 20, **params}).json()
        check_exact(body["results"], truth, 20)
    # with a radius too
    truth = brute(lat, lon, Camera.objects.filter(site__department=parks))
    body = api.get(
        NEAREST, {"lat": lat, "lon": lon, "n": 50, "radius_m": 1500, "department": parks.pk}
    ).json()
    check_exact(body["results"], truth, 50, radius_m=1500)
    assert_error(api.get(NEAREST, {"lat": lat, "lon": lon, "bbox": "x"}), 400, "bbox")


def test_department_manager_finds_only_own_cameras(parks_api, police_api, seongdong):
    lat, lon = 37.55, 127.04
    parks_cameras = Camera.objects.filter(site__department__code="seongdong-parks")
    body = parks_api.get(NEAREST, {"lat": lat, "lon": lon, "n": 100}).json()
    check_exact(body["results"], brute(lat, lon, parks_cameras), 100)
    assert body["count"] == 43
    assert {r["department"]["code"] for r in body["results"]} == {"seongdong-parks"}
    everything = police_api.get(NEAREST, {"lat": lat, "lon": lon, "n": 100}).json()
    check_exact(everything["results"], brute(lat, lon, Camera.objects.all()), 100)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lon": 127.04}, "lat"),
        ({"lat": 37.55}, "lon"),
        ({"lat": "abc", "lon": 127.04}, "lat"),
        ({"lat": 37.55, "lon": ""}, "lon"),
        ({"lat": "nan", "lon": 127.04}, "lat"),
        ({"lat": "inf", "lon": 127.04}, "lat"),
        ({"lat": "1e999", "lon": 127.04}, "lat"),
        ({"lat": 91, "lon": 127.04}, "lat"),
        ({"lat": 32.99, "lon": 127.04}, "lat"),
        ({"lat": 39.01, "lon": 127.04}, "lat"),
        ({"lat": 37.55, "lon": 123.99}, "lon"),
        ({"lat": 37.55, "lon": 132.01}, "lon"),
        ({"lat": 127.04, "lon": 37.55}, "lat"),  # swapped
        ({"lat": 127.04, "lon": 37.55}, "lon"),
        ({"lat": 37.55, "lon": 127.04, "n": 0}, "n"),
        ({"lat": 37.55, "lon": 127.04, "n": 101}, "n"),
        ({"lat": 37.55, "lon": 127.04, "n": -3}, "n"),
        ({"lat": 37.55, "lon": 127.04, "n": "ten"}, "n"),
        ({"lat": 37.55, "lon": 127.04, "n": 2.5}, "n"),
        ({"lat": 37.55, "lon": 127.04, "n": 10**40}, "n"),
        ({"lat": 37.55, "lon": 127.04, "radius_m": 0}, "radius_m"),
        ({"lat": 37.55, "lon": 127.04, "radius_m": -1}, "radius_m"),
        ({"lat": 37.55, "lon": 127.04, "radius_m": 50_000.5}, "radius_m"),
        ({"lat": 37.55, "lon": 127.04, "radius_m": "far"}, "radius_m"),
        ({"lat": 37.55, "lon": 127.04, "radius_m": "nan"}, "radius_m"),
    ],
)
def test_validation_errors_name_the_field(api, seongdong, params, field):
    errs = assert_error(api.get(NEAREST, params), 400, field)
    assert all(e["code"] for e in errs)


def test_n_limits(api, seongdong):
    assert api.get(NEAREST, {"lat": 37.55, "lon": 127.04, "n": 1}).json()["count"] == 1
    assert api.get(NEAREST, {"lat": 37.55, "lon": 127.04, "n": 100}).json()["count"] == 100
    assert api.get(NEAREST, {"lat": 37.55, "lon": 127.04, "n": "100"}).json()["count"] == 100


def test_not_paginated_and_ignores_page_params(api, seongdong):
    body = api.get(NEAREST, {"lat": 37.55, "lon": 127.04, "n": 30, "page": 7, "page_size": 2}).json()
    assert set(body) == {"count", "results"} and body["count"] == 30


def test_anonymous_is_refused_as_json():
    from django.test import Client

    assert_error(Client().get(NEAREST, {"lat": 37.55, "lon": 127.04}), 401)
