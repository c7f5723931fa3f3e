"""The Seongdong default deployment matches Annex 1 exactly."""

import pytest
from django.db import connection
from django.db.models import Count

from gwanje import deployments
from gwanje.geo.models import AdminDong, ChildProtectionZone, District, PoliceOffice
from gwanje.registry.choices import Owner, Purpose
from gwanje.registry.models import Camera, SecondaryPurpose, Site

pytestmark = pytest.mark.django_db

ANNEX1_BY_DEPARTMENT = {
    "자치행정과": (315, 750),
    "교통지도과": (77 + 49, 167 + 49),
    "교통행정과": (9, 20),
    "공원녹지과": (34, 43),
    "청소행정과": (33, 33),
    "성동경찰서": (7, 7),
}


def test_totals_are_annex1():
    assert Site.objects.count() == 524
    assert Camera.objects.count() == 1069


def test_counts_per_department():
    got = {
        row["department__name"]: (row["sites"], row["cameras"])
        for row in Site.objects.values("department__name").annotate(
            sites=Count("id", distinct=True), cameras=Count("cameras")
        )
    }
    assert got == ANNEX1_BY_DEPARTMENT


def test_seven_annex_rows_by_primary_purpose_and_prefix():
    rows = {
        prefix: (
            Site.objects.filter(code__startswith=f"SD-{prefix}").count(),
            Camera.objects.filter(site__code__startswith=f"SD-{prefix}").count(),
        )
        for prefix in "ATGBPDK"
    }
    assert rows == {
        "A": (315, 750),
        "T": (77, 167),
        "G": (49, 49),
        "B": (9, 20),
        "P": (34, 43),
        "D": (33, 33),
        "K": (7, 7),
    }
    assert set(
        Camera.objects.filter(site__code__startswith="SD-D").values_list("primary_purpose", flat=True)
    ) == {Purpose.ILLEGAL_DUMPING}


def test_flags_notes_and_police_owned():
    assert Site.objects.filter(has_onsite_storage=True).count() == 9
    assert Camera.objects.filter(site__has_onsite_storage=True).count() == 20
    assert Site.objects.filter(is_mobile=True).count() == 33
    police = Camera.objects.filter(site__owner=Owner.POLICE)
    assert police.count() == 7
    assert set(police.values_list("site__department__name", flat=True)) == {"성동경찰서"}
    assert not Site.objects.filter(is_synthetic=False).exists()
    assert not Site.objects.exclude(road_address="", jibun_address="").exists(), "no invented addresses"


def test_secondary_purposes_loaded_but_inactive_without_expansion_record():
    cam = Camera.objects.filter(site__code="SD-A001").first()
    assert set(cam.secondary_purposes.values_list("purpose", flat=True)) == {
        Purpose.ILLEGAL_PARKING,
        Purpose.ILLEGAL_DUMPING,
        Purpose.FACILITY,
        Purpose.DISASTER,
    }
    assert not SecondaryPurpose.objects.filter(expansion__isnull=False).exists()
    # the police row lists only its primary purpose
    assert not SecondaryPurpose.objects.filter(camera__site__owner=Owner.POLICE).exists()


def test_every_site_lies_inside_its_dong():
    assert not Site.objects.filter(dong__isnull=True).exists()
    for site in Site.objects.select_related("dong")[:600]:
        assert site.dong.geom.contains(site.point), site.code


def test_map_layers():
    assert District.objects.count() == 1
    assert AdminDong.objects.count() == 17
    assert PoliceOffice.objects.count() == 9
    assert ChildProtectionZone.objects.count() == 44
    assert PoliceOffice.objects.filter(name="성수지구대").exists()


def test_rerunning_changes_nothing():
    before = (Site.objects.count(), Camera.objects.count(), SecondaryPurpose.objects.count())
    summary = deployments.load("seongdong", log=lambda *a: None)
    assert summary["sites_created"] == summary["cameras_created"] == 0
    assert summary["sites_unchanged"] == 524 and summary["cameras_unchanged"] == 1069
    assert (Site.objects.count(), Camera.objects.count(), SecondaryPurpose.objects.count()) == before


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SpatiaLite R*Tree registration")
def test_every_geometry_column_has_its_spatial_index():
    with connection.cursor() as c:
        c.execute(
            "SELECT f_table_name, spatial_index_enabled FROM geometry_columns "
            "WHERE f_table_name NOT LIKE 'iso_%'"
        )
        rows = dict(c.fetchall())
    assert rows and all(rows.values()), rows


def test_synthetic_codes_never_collide_with_real_site_codes():
    """A real 안심이 import (codes like C318, G025) must never update a synthetic site."""
    assert not Site.objects.exclude(code__startswith="SD-").exists()
