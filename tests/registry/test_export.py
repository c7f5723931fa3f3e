"""`gwanje export-cameras`: the standard format (re-importable), GeoJSON and a flat CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from gwanje.registry import services
from gwanje.registry.choices import CameraStatus, ExpansionProcedure, Purpose
from gwanje.registry.formats import ImportOptions, import_cameras
from gwanje.registry.formats.standard import COLUMNS
from gwanje.registry.models import Camera, Site

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"


def export(*args: str) -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("export-cameras", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def export_file(tmp_path, *args: str) -> bytes:
    path = tmp_path / "out"
    with translation.override("en"):
        call_command("export-cameras", *args, "-o", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    return path.read_bytes()


def import_bytes(data: bytes, fmt: str = "standard"):
    with translation.override("en"):
        return import_cameras(data, ImportOptions(format=fmt))


def test_standard_export_re_imports_onto_the_same_sites_unchanged(tmp_path):
    import_bytes((FIXTURES / "standard-format-example.csv").read_bytes())
    data = export_file(
        tmp_path, "--format", "standard", "--department", "seongdong-gu", "--encoding", "cp949"
    )
    rows = list(csv.reader(io.StringIO(data.decode("cp949"))))
    assert rows[0] == [*COLUMNS, "개소코드"]
    assert len(rows) == 13  # one row per site
    by_code = {r[-1]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    site = Site.objects.get(jibun_address="서울특별시 성동구 송정동 88-13")
    row = by_code[site.code]
    assert (row["관리기관명"], row["설치목적구분"], row["카메라대수"], row["설치연월"]) == (
        "성동구청",
        "생활방범",
        "2",
        "2017-03",
    )
    assert (row["위도"], row["경도"]) == ("37.5554", "127.0706")

    before = Site.objects.count(), Camera.objects.count()
    s = import_bytes(data).summary()
    assert (s["sites_created"], s["sites_updated"], s["sites_unchanged"]) == (0, 0, 12)
    assert (s["cameras_created"], s["cameras_updated"], s["cameras_unchanged"], s["cameras_retired"]) == (
        0,
        0,
        30,
        0,
    )
    assert (Site.objects.count(), Camera.objects.count()) == before


def test_exported_department_re_imports_without_new_or_lost_cameras(tmp_path):
    data = export_file(tmp_path, "--format", "standard", "--department", "seongdong-parks")
    assert len(data.decode("utf-8").splitlines()) == 1 + 34
    kinds = dict(Camera.objects.filter(site__department__code="seongdong-parks").values_list("pk", "kind"))
    before = Site.objects.count(), Camera.objects.count()
    s = import_bytes(data).summary()
    assert s["sites_created"] == 0 and s["cameras_created"] == 0 and s["cameras_retired"] == 0
    assert s["cameras_unchanged"] == 43  # kinds, purposes, points kept
    assert (Site.objects.count(), Camera.objects.count()) == before
    assert dict(Camera.objects.filter(pk__in=kinds).values_list("pk", "kind")) == kinds
    assert set(Site.objects.filter(department__code="seongdong-parks").values_list("source", flat=True)) == {
        "standard"
    }


def test_retired_cameras_are_not_counted_and_stay_retired(tmp_path):
    site = Site.objects.get(code="SD-A001")
    cams = list(site.cameras.order_by("number"))
    assert len(cams) == 3
    services.set_camera_status(cams[1], CameraStatus.RETIRED)
    data = export_file(tmp_path, "--format", "standard", "--site", "SD-A001")
    row = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))[0]
    assert row["카메라대수"] == "2"
    s = import_bytes(data).summary()
    assert s["cameras_created"] == 0 and s["cameras_retired"] == 0
    assert list(site.cameras.order_by("number").values_list("status", flat=True)) == [
        CameraStatus.ONLINE,
        CameraStatus.RETIRED,
        CameraStatus.ONLINE,
    ]


def test_geojson_has_one_feature_per_camera_with_purposes_department_and_dong(tmp_path):
    site = Site.objects.get(code="SD-A001")
    camera = site.cameras.get(number=1)
    services.record_purpose_expansion(
        purpose=Purpose.ILLEGAL_PARKING, procedure=ExpansionProcedure.ADMIN_NOTICE,
        started_on=dt.date(2025, 1, 2), decided_on=dt.date(2025, 2, 3), document_number="성동-2025-1",
        approver="구청장", cameras=[camera],
    )  # fmt: skip
    services.set_camera_status(site.cameras.get(number=2), CameraStatus.FAULT)
    doc = json.loads(
        export_file(tmp_path, "--format", "geojson", "--department", "seongdong-autonomous-admin")
    )
    assert doc["type"] == "FeatureCollection"
    assert (
        len(doc["features"])
        == Camera.objects.filter(site__department__code="seongdong-autonomous-admin").count()
    )
    features = {(f["properties"]["site_code"], f["properties"]["camera_number"]): f for f in doc["features"]}
    first = features[("SD-A001", 1)]
    assert first["geometry"] == {"type": "Point", "coordinates": [camera.point.x, camera.point.y]}
    p = first["properties"]
    assert p["department"] == "자치행정과" and p["department_code"] == "seongdong-autonomous-admin"
    assert p["kind"] == camera.kind and p["status"] == CameraStatus.ONLINE
    assert p["dong"] == site.dong.name
    assert p["primary_purpose"] == Purpose.CRIME_PREVENTION
    assert p["active_secondary_purposes"] == [Purpose.ILLEGAL_PARKING]
    assert p["inactive_secondary_purposes"] == sorted(
        [Purpose.ILLEGAL_DUMPING, Purpose.FACILITY, Purpose.DISASTER]
    )
    second = features[("SD-A001", 2)]["properties"]
    assert second["status"] == CameraStatus.FAULT and second["active_secondary_purposes"] == []


def test_flat_csv_is_one_row_per_camera():
    text = export("--format", "csv", "--department", "seongdong-parks")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 43
    row = next(r for r in rows if (r["site_code"], r["camera_number"]) == ("SD-P001", "1"))
    cam = Camera.objects.get(site__code="SD-P001", number=1)
    assert row["department"] == "공원녹지과" and row["primary_purpose"] == Purpose.FACILITY
    assert float(row["latitude"]) == cam.point.y and float(row["longitude"]) == cam.point.x
    assert row["dong"] == cam.site.dong.name
    assert row["inactive_secondary_purposes"].split(";") == sorted(
        [Purpose.CRIME_PREVENTION, Purpose.ILLEGAL_PARKING, Purpose.ILLEGAL_DUMPING, Purpose.DISASTER]
    )


def test_stream_urls_are_never_exported(tmp_path):
    camera = Camera.objects.get(site__code="SD-P001", number=1)
    camera.main_stream_url = "rtsp://admin:s3cret-pass@10.20.30.40:554/main"
    camera.sub_stream_url = "rtsp://admin:s3cret-pass@10.20.30.40:554/sub"
    services.save_camera(camera)
    for fmt in ("standard", "geojson", "csv"):
        data = export_file(tmp_path, "--format", fmt, "--site", "SD-P001")
        assert b"s3cret" not in data and b"rtsp" not in data and b"10.20.30.40" not in data, fmt


def test_encodings_and_filters(tmp_path):
    assert export_file(
        tmp_path, "--format", "csv", "--site", "SD-A001", "--encoding", "utf-8-sig"
    ).startswith(b"\xef\xbb\xbfsite_code,")
    assert (
        len(export("--format", "csv", "--status", "online", "--purpose", "illegal_dumping").splitlines())
        == 1 + 33
    )
    with translation.override("en"), pytest.raises(CommandError, match="GeoJSON is always written in UTF-8"):
        call_command("export-cameras", "--format", "geojson", "--encoding", "cp949", stdout=io.StringIO())
    with translation.override("en"), pytest.raises(CommandError, match="No organisation with the code nope"):
        call_command("export-cameras", "--format", "csv", "--department", "nope", stdout=io.StringIO())


def test_a_character_cp949_cannot_hold_is_a_clear_error(tmp_path):
    site = Site.objects.get(code="SD-A001")
    site.name = "성수 café ☕"
    site.save()
    with translation.override("en"), pytest.raises(CommandError, match="cannot be written in cp949"):
        call_command(
            "export-cameras",
            "--format",
            "csv",
            "--site",
            "SD-A001",
            "--encoding",
            "cp949",
            "-o",
            str(tmp_path / "x"),
        )
    assert not (tmp_path / "x").exists()  # no half-written file


def test_standard_round_trip_keeps_what_the_format_does_not_carry(tmp_path):
    """An 안심이 site exported as standard and imported back keeps its camera kinds, notes and the
    cameras' own points; only its source changes."""
    import_bytes((FIXTURES / "seoul-ansim-sample.csv").read_bytes(), fmt="seoul-ansim")
    before = list(
        Camera.objects.filter(site__code="C516").order_by("number").values_list("kind", "notes", "point")
    )
    assert len(before) == 5 and len({p.coords for _, _, p in before}) == 2  # two spots around the site
    s = import_bytes(export_file(tmp_path, "--format", "standard", "--site", "C516")).summary()
    assert (s["sites_updated"], s["cameras_unchanged"], s["cameras_created"], s["cameras_retired"]) == (
        1,
        5,
        0,
        0,
    )
    after = list(
        Camera.objects.filter(site__code="C516").order_by("number").values_list("kind", "notes", "point")
    )
    assert after == before
    assert Site.objects.get(code="C516").source == "standard"
