"""`gwanje import-cameras --format seoul-ansim`: Seoul's 안심이 list (one row per camera)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from gwanje.accounts.models import Organisation
from gwanje.registry.choices import CameraKind, CameraStatus, Purpose, Source
from gwanje.registry.formats import ImportOptions, import_cameras
from gwanje.registry.formats.seoul_ansim import parse_address
from gwanje.registry.models import Camera, Site

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = FIXTURES / "seoul-ansim-sample.csv"
BROKEN = FIXTURES / "seoul-ansim-broken.csv"


def imported(data: bytes, **options):
    with translation.override("en"):
        return import_cameras(data, ImportOptions(format="seoul-ansim", **options))


def sample_codes() -> set[str]:
    lines = SAMPLE.read_text(encoding="utf-8-sig").splitlines()[1:]
    return {line.split(",")[1].split("_")[0] for line in lines}


def test_the_sample_is_29_sites_with_110_cameras():
    codes = sample_codes()
    assert len(codes) == 29
    existing = set(Site.objects.filter(code__in=codes).values_list("code", flat=True))
    # synthetic deployment sites are coded SD-…: a real code like G025 never lands on one of them
    assert existing == set()
    existing_cameras = Camera.objects.filter(site__code__in=existing).count()
    sites0, cameras0 = Site.objects.count(), Camera.objects.count()
    out = io.StringIO()
    with translation.override("en"):
        call_command(
            "import-cameras", str(SAMPLE), "--format", "seoul-ansim", stdout=out, stderr=io.StringIO()
        )
    assert "110 rows read (utf-8): 0 errors" in out.getvalue()
    assert "Sites: 29 created, 0 updated" in out.getvalue()
    assert Site.objects.count() - sites0 == 29
    assert Camera.objects.count() - cameras0 == 110 - existing_cameras
    sites = Site.objects.filter(code__in=codes)
    assert sites.count() == 29
    in_service = Camera.objects.filter(site__code__in=codes).exclude(status=CameraStatus.RETIRED)
    assert in_service.count() == 110
    assert set(sites.values_list("source", "is_synthetic")) == {(Source.SEOUL_ANSIM, False)}
    per_site = {s.code: s.cameras.exclude(status=CameraStatus.RETIRED).count() for s in sites}
    assert per_site["C183"] == 9 and per_site["C014"] == 5 and per_site["S004"] == 3 and per_site["W106"] == 1


def test_kinds_flags_names_and_notes():
    imported(SAMPLE.read_bytes())
    c014 = Site.objects.get(code="C014")
    kinds = list(c014.cameras.order_by("number").values_list("kind", "notes"))
    # numbered within the site: (회전) first, then (고정1), (고정2), …, then the rest
    assert kinds == [
        (CameraKind.PTZ, "C014_(회전)_무학봉15길 22 (주정차)"),
        (CameraKind.FIXED, "C014_(고정1)2_한마음정육점_무학봉15길 22"),
        (CameraKind.FIXED, "C014_(고정2)7_디케이연기아카데미_무학봉15길22"),
        (CameraKind.FIXED, "C014_(고정3)8_왕십리대로_무학봉15길 22"),
        (CameraKind.UNKNOWN, "C014_(DFS)_무학봉15길 23 무학초교 정문1"),
    ]
    assert c014.name == "무학봉15길 22 (주정차)"
    assert Site.objects.get(code="C318").name == "송정동 88-13"
    assert Site.objects.get(code="G025").name == "마장동 798-4"  # "(회전)" without "_"
    flagged = {
        s.code: (s.has_emergency_bell, s.is_smart_shelter)
        for s in Site.objects.filter(code__in=sample_codes())
    }
    assert {c for c, (bell, _) in flagged.items() if bell} == {"C692", "C702"}
    assert {c for c, (_, shelter) in flagged.items() if shelter} == {"S004"}
    assert Site.objects.get(code="S004").name == "옥수파출소"
    new = Camera.objects.filter(site__code="C318")
    assert set(new.values_list("primary_purpose", flat=True)) == {Purpose.CRIME_PREVENTION}
    cam = Camera.objects.get(site__code="C516", notes="C516_(고정4)4_행당로6길 24-9(분기)")
    assert (cam.point.x, cam.point.y) == (127.0269, 37.5545)  # each camera keeps its own point


def test_departments_new_sites_default_existing_sites_keep_theirs():
    imported(SAMPLE.read_bytes())
    assert Site.objects.get(code="C318").department.code == "seongdong-autonomous-admin"
    traffic = Organisation.objects.get(code="seongdong-traffic-guidance")
    Site.objects.filter(code="G025").update(department=traffic)  # the district moved it to 교통지도과
    imported(SAMPLE.read_bytes())
    assert Site.objects.get(code="G025").department_id == traffic.pk
    parks = Organisation.objects.get(code="seongdong-parks")
    imported(SAMPLE.read_bytes(), department=parks)
    assert set(Site.objects.filter(code__in=sample_codes()).values_list("department", flat=True)) == {
        parks.pk
    }


@pytest.mark.parametrize(
    ("address", "code", "kind", "place"),
    [
        ("C318_(회전)_송정동 88-13", "C318", CameraKind.PTZ, "송정동 88-13"),
        ("C320_(고정1)4_현대아파트", "C320", CameraKind.FIXED, "현대아파트"),
        ("C692_(영상비상벨)6_두모갓교회_금호산2길 34", "C692", CameraKind.UNKNOWN, "두모갓교회 금호산2길 34"),
        ("S004_스마트쉼터_옥수파출소_실내cctv", "S004", CameraKind.UNKNOWN, "옥수파출소 실내cctv"),
        (
            "C014_(DFS)_무학봉15길 23 무학초교 정문1",
            "C014",
            CameraKind.UNKNOWN,
            "무학봉15길 23 무학초교 정문1",
        ),
        ("C183_(고정5)1층 엘레베이터", "C183", CameraKind.FIXED, "1층 엘레베이터"),
        ("PS009_(회전)_서울숲길 25", "PS009", CameraKind.PTZ, "서울숲길 25"),
        ("Z006_행당동 1", "Z006", CameraKind.UNKNOWN, "행당동 1"),
    ],
)
def test_address_parts(address, code, kind, place):
    parsed = parse_address(address)
    assert (parsed.code, parsed.camera_kind, parsed.place) == (code, kind, place)


def test_every_row_of_the_sample_parses():
    for line in SAMPLE.read_text(encoding="utf-8-sig").splitlines()[1:]:
        assert parse_address(line.split(",")[1]) is not None, line
    assert parse_address("송정동 88-13") is None


def test_reimport_in_another_order_changes_nothing():
    imported(SAMPLE.read_bytes())
    header, *rows = SAMPLE.read_text(encoding="utf-8-sig").splitlines()
    shuffled = "\n".join([header, *reversed(rows)]).encode("utf-8")
    s = imported(shuffled).summary()
    assert (s["sites_created"], s["sites_updated"], s["sites_unchanged"]) == (0, 0, 29)
    assert (s["cameras_created"], s["cameras_updated"], s["cameras_unchanged"], s["cameras_retired"]) == (
        0,
        0,
        110,
        0,
    )


def test_broken_rows_are_reported_and_skipped():
    report = imported(BROKEN.read_bytes(), dry_run=True)
    errors = {(i.line, i.code) for i in report.errors}
    assert errors == {
        (4, "blank_coordinates"),
        (5, "other_district"),
        (5, "outside_district"),
        (6, "no_site_code"),
        (7, "duplicate"),
        (9, "outside_district"),
        (10, "invalid_quantity"),
    }
    assert [(w.line, w.code) for w in report.warnings] == [(8, "near_district")]
    assert next(i for i in report.errors if i.line == 5 and i.column == "자치구").message == (
        "This row belongs to 강남구, not 성동구."
    )
    assert report.blocked
    before = Site.objects.count()
    with translation.override("en"), pytest.raises(CommandError):
        call_command(
            "import-cameras",
            str(BROKEN),
            "--format",
            "seoul-ansim",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert Site.objects.count() == before

    report = imported(BROKEN.read_bytes(), skip_invalid=True)
    assert report.applied
    assert set(Site.objects.filter(code__startswith="Z").values_list("code", flat=True)) == {
        "Z001",
        "Z003",
        "Z006",
    }
    assert Camera.objects.get(site__code="Z006").kind == CameraKind.UNKNOWN  # no kind in 주소
    assert Site.objects.get(code="Z001").cameras.count() == 2


def test_a_site_with_a_skipped_row_keeps_its_other_cameras():
    rows = [
        "자치구,주소,위도,경도,수량",
        "성동구,Z001_(회전)_왕십리로 222,37.5612,127.0570,1",
        "성동구,Z001_(고정1)3_어린이집 방향,37.5612,127.0571,1",
        "성동구,Z001_(고정2)5_공원 방향,37.5612,127.0571,1",
    ]
    imported("\n".join(rows).encode())
    rows[3] = "성동구,Z001_(고정2)5_공원 방향,,127.0571,1"  # now broken
    report = imported("\n".join(rows).encode(), skip_invalid=True)
    assert report.summary()["cameras_retired"] == 0
    assert Camera.objects.filter(site__code="Z001", status=CameraStatus.ONLINE).count() == 3
    del rows[3]  # now simply gone from a clean list: retired
    assert imported("\n".join(rows).encode()).summary()["cameras_retired"] == 1


def test_without_the_default_department_one_must_be_chosen():
    Organisation.objects.filter(code="seongdong-autonomous-admin").update(code="renamed")
    with translation.override("en"), pytest.raises(CommandError, match="Choose a department"):
        call_command(
            "import-cameras",
            str(SAMPLE),
            "--format",
            "seoul-ansim",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    out = io.StringIO()
    with translation.override("en"):
        call_command(
            "import-cameras", str(SAMPLE), "--format", "seoul-ansim", "--department", "renamed",
            stdout=out, stderr=io.StringIO(),
        )  # fmt: skip
    assert "Sites: 29 created" in out.getvalue()
