"""The bulk write path (`registry.bulk.upsert_sites` over `registry.rows`): plain-row inserts and
updates must leave the same database the ORM would — spatial indexes included — and nothing at all
when they fail."""

from __future__ import annotations

import gc
from decimal import Decimal

import pytest
from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection

from gwanje.accounts.models import Organisation
from gwanje.core.perf import gc_paused
from gwanje.geo.queries import DongLocator, nearest
from gwanje.registry import bulk
from gwanje.registry.bulk import CameraSpec, SiteSpec, upsert_sites
from gwanje.registry.choices import CameraKind, CameraStatus, Purpose
from gwanje.registry.models import Camera, SecondaryPurpose, Site

pytestmark = pytest.mark.django_db

# Points inside Seongdong (왕십리 area), a few hundred metres apart.
BASE = (127.0300, 37.5600)


def _spec(code: str, i: int, cameras: int, dept: Organisation, **kw) -> SiteSpec:
    x, y = BASE[0] + i * 0.001, BASE[1] + (i % 7) * 0.0007
    return SiteSpec(
        code=code,
        point=Point(x, y, srid=4326),
        xy=(x, y) if i % 2 else None,  # both ways of giving the coordinates
        department=dept,
        name=f"테스트 {i}",
        installed_on=None,
        cameras=[
            CameraSpec(number=n, primary_purpose=Purpose.CRIME_PREVENTION, megapixels=Decimal("2.0"))
            for n in range(1, cameras + 1)
        ],
        **kw,
    )


@pytest.fixture
def dept():
    return Organisation.objects.get(code="seongdong-parks")


def _rtree_ids(table: str) -> set[int]:
    with connection.cursor() as c:
        c.execute(f'SELECT pkid FROM "idx_{table}_point"')  # noqa: S608 - constant
        return {r[0] for r in c.fetchall()}


def _triggers(table: str) -> set[str]:
    with connection.cursor() as c:
        c.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", (table,))
        return {r[0] for r in c.fetchall()}


def test_new_sites_and_cameras_land_with_their_own_ids_points_and_values(dept, monkeypatch):
    monkeypatch.setattr(bulk, "_BATCH", 7)  # several batches, each with inserts
    specs = [_spec(f"T-{i:03d}", i, 1 + i % 4, dept) for i in range(30)]
    result = upsert_sites(specs)
    assert Site.objects.filter(code__startswith="T-", dong__isnull=False).count() > 10
    assert (result.sites_created, result.cameras_created) == (30, sum(1 + i % 4 for i in range(30)))
    for i, spec in enumerate(specs):
        site = Site.objects.get(code=spec.code)
        assert site.point.equals_exact(spec.point, 1e-12) and site.name == f"테스트 {i}"
        assert site.dong == DongLocator().locate(spec.point) and site.department == dept
        cameras = list(site.cameras.order_by("number"))
        assert [c.number for c in cameras] == list(range(1, 2 + i % 4))
        assert all(c.point.equals_exact(spec.point, 1e-12) for c in cameras)
        assert all(c.megapixels == Decimal("2.0") and c.status == CameraStatus.ONLINE for c in cameras)
        assert all(c.main_stream_url == "" and c.created_at == c.updated_at for c in cameras)


def test_new_rows_are_found_through_the_spatial_index(dept):
    specs = [_spec(f"T-{i:03d}", i, 2, dept) for i in range(12)]
    upsert_sites(specs)
    x, y = specs[5].point.coords
    hits = nearest(Camera.objects.all(), x, y, n=2, radius_m=30)
    assert [(h.obj.site.code, round(h.distance_m, 3)) for h in hits] == [("T-005", 0), ("T-005", 0)]
    if connection.vendor == "sqlite":
        for table, model in (("registry_site", Site), ("registry_camera", Camera)):
            assert _rtree_ids(table) == set(model.objects.values_list("pk", flat=True))
            assert {f"gii_{table}_point", f"tmi_{table}_point", f"ggi_{table}_point"} <= _triggers(table)


def test_a_moved_site_is_found_at_its_new_place(dept):
    upsert_sites([_spec("T-MOVE", 1, 1, dept)])
    moved = _spec("T-MOVE", 40, 1, dept)  # ~4 km east
    result = upsert_sites([moved])
    assert (result.sites_updated, result.cameras_updated) == (1, 1)
    x, y = moved.point.coords
    assert [h.obj.site.code for h in nearest(Camera.objects.all(), x, y, n=1, radius_m=5)] == ["T-MOVE"]


def test_upserting_the_same_specs_again_writes_nothing(dept):
    specs = [_spec(f"T-{i:03d}", i, 3, dept) for i in range(5)]
    upsert_sites(specs)
    stamps = list(Camera.objects.filter(site__code__startswith="T-").values_list("updated_at", flat=True))
    result = upsert_sites([_spec(f"T-{i:03d}", i, 3, dept) for i in range(5)])
    assert (result.sites_unchanged, result.cameras_unchanged) == (5, 15)
    assert result.sites_updated == result.cameras_updated == result.cameras_created == 0
    again = list(Camera.objects.filter(site__code__startswith="T-").values_list("updated_at", flat=True))
    assert again == stamps


def test_status_changed_at_moves_only_with_the_status(dept):
    upsert_sites([_spec("T-ST", 1, 2, dept)])
    spec = _spec("T-ST", 1, 2, dept)
    spec.cameras[0].status = CameraStatus.FAULT
    spec.cameras[1].view_direction = "북측"
    upsert_sites([spec])
    first, second = Camera.objects.filter(site__code="T-ST").order_by("number")
    assert first.status == CameraStatus.FAULT and first.status_changed_at is not None
    assert second.view_direction == "북측" and second.status_changed_at is None


def test_cameras_missing_from_a_complete_site_are_retired(dept):
    upsert_sites([_spec("T-RET", 1, 3, dept)])
    result = upsert_sites([_spec("T-RET", 1, 1, dept, retire_missing=True)])
    assert result.cameras_retired == 2
    statuses = dict(Camera.objects.filter(site__code="T-RET").values_list("number", "status"))
    assert statuses == {1: CameraStatus.ONLINE, 2: CameraStatus.RETIRED, 3: CameraStatus.RETIRED}


def test_secondary_purposes_of_new_cameras_follow_the_returned_ids(dept):
    specs = [_spec(f"T-{i:03d}", i, 2, dept) for i in range(3)]
    specs[1].cameras[1].secondary = [Purpose.DISASTER, Purpose.CRIME_PREVENTION]  # primary is dropped
    upsert_sites(specs)
    rows = list(SecondaryPurpose.objects.filter(camera__site__code__startswith="T-").values_list(
        "camera__site__code", "camera__number", "purpose"
    ))  # fmt: skip
    assert rows == [("T-001", 2, Purpose.DISASTER)]


def test_a_failing_batch_leaves_nothing_and_keeps_the_spatial_triggers(dept):
    before = (Site.objects.count(), Camera.objects.count())
    triggers = _triggers("registry_site") if connection.vendor == "sqlite" else set()
    unsaved = Organisation(name="저장되지 않은 부서")  # no id: the insert violates NOT NULL
    specs = [_spec("T-OK", 1, 2, dept), _spec("T-BAD", 2, 1, unsaved)]
    with pytest.raises(IntegrityError):
        upsert_sites(specs)
    assert (Site.objects.count(), Camera.objects.count()) == before
    if connection.vendor == "sqlite":
        assert _triggers("registry_site") == triggers
        assert _rtree_ids("registry_site") == set(Site.objects.values_list("pk", flat=True))
    upsert_sites([_spec("T-OK", 1, 2, dept)])  # and the table still takes rows
    assert Camera.objects.filter(site__code="T-OK", kind=CameraKind.FIXED).count() == 2


def test_gc_paused_restores_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: the inner block leaves it to the outer one
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError
    assert gc.isenabled()
