"""`gwanje import-cameras --format standard`: 전국CCTV표준데이터 files, good and broken."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from gwanje.accounts.models import Organisation
from gwanje.registry.choices import CameraKind, CameraStatus, DatePrecision, Purpose, Source
from gwanje.registry.formats import ImportOptions, import_cameras
from gwanje.registry.formats.standard import site_code
from gwanje.registry.models import Camera, Site

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = FIXTURES / "standard-format-example.csv"
EXAMPLE_CP949 = FIXTURES / "standard-format-example.cp949.csv"
BROKEN = FIXTURES / "standard-broken.csv"


def command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("import-cameras", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failing(*args: str) -> tuple[CommandError, str]:
    err = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError) as exc:
        call_command("import-cameras", *map(str, args), stdout=io.StringIO(), stderr=err)
    return exc.value, err.getvalue()


def imported(path: Path, **options):
    with translation.override("en"):
        return import_cameras(path.read_bytes(), ImportOptions(format="standard", **options))


def counts() -> tuple[int, int]:
    return Site.objects.count(), Camera.objects.count()


def test_cp949_example_lands_as_twelve_sites_with_thirty_cameras():
    before = counts()
    out, err = command(EXAMPLE_CP949, "--format", "standard")
    assert counts() == (before[0] + 12, before[1] + 30)
    assert "Sites: 12 created, 0 updated, 0 unchanged, 0 skipped." in out
    assert "Cameras: 30 created" in out
    assert "(cp949)" in out and err == ""

    site = Site.objects.get(jibun_address="서울특별시 성동구 송정동 88-13")
    assert site.name == "송정동 88-13"
    assert site.source == Source.STANDARD and not site.is_synthetic
    assert site.department.code == "seongdong-gu"  # 관리기관명 "서울특별시 성동구청" → 성동구청
    assert site.dong is not None and site.dong.name == "송정동"
    assert (site.installed_on, site.installed_on_precision) == (dt.date(2017, 3, 1), DatePrecision.MONTH)
    cams = list(site.cameras.order_by("number"))
    assert [c.number for c in cams] == [1, 2]
    assert {(c.primary_purpose, c.kind, c.retention_days, c.view_direction) for c in cams} == {
        (Purpose.CRIME_PREVENTION, CameraKind.UNKNOWN, 30, "북측")
    }
    four_mp = Camera.objects.filter(site__source=Source.STANDARD, megapixels=Decimal("4.0"))
    assert four_mp.count() == 1  # 카메라화소수 400 (만 pixels)


def test_utf8_and_cp949_files_are_the_same_sites_and_reimport_changes_nothing():
    first = imported(EXAMPLE)
    assert first.encoding == "utf-8" and first.applied
    before = counts()
    again = imported(EXAMPLE_CP949)
    assert again.encoding == "cp949"
    s = again.summary()
    assert (s["sites_created"], s["sites_updated"], s["sites_unchanged"]) == (0, 0, 12)
    assert (s["cameras_created"], s["cameras_updated"], s["cameras_unchanged"]) == (0, 0, 30)
    assert counts() == before


def test_bom_leading_number_column_and_missing_last_columns():
    before = counts()
    report = imported(FIXTURES / "standard-bom-numbered.csv")
    assert report.encoding == "utf-8-sig" and not report.issues
    assert counts() == (before[0] + 2, before[1] + 3)
    road = Site.objects.get(road_address="서울특별시 성동구 왕십리로 222")
    assert (road.installed_on, road.installed_on_precision) == (dt.date(2019, 5, 7), DatePrecision.DAY)
    assert set(road.cameras.values_list("retention_days", flat=True)) == {30}  # blank 보관일수 → 30
    jibun = Site.objects.get(jibun_address="서울특별시 성동구 행당동 304-46")
    assert (jibun.installed_on, jibun.installed_on_precision) == (dt.date(2015, 1, 1), DatePrecision.YEAR)
    assert set(jibun.cameras.values_list("retention_days", "primary_purpose")) == {
        (60, Purpose.ILLEGAL_DUMPING)
    }


BROKEN_ROWS = {
    # line: (column, code)
    3: ("위도, 경도", "blank_coordinates"),
    4: ("위도", "invalid_coordinates"),
    5: ("위도, 경도", "swapped_coordinates"),
    6: ("위도, 경도", "outside_korea"),
    7: ("설치연월", "bad_date"),
    8: ("설치목적구분", "unknown_purpose"),
    9: ("", "duplicate"),
    10: ("설치목적구분", "unknown_purpose"),  # 기타
    12: ("위도, 경도", "outside_district"),  # about 4 km outside 성동구
    13: ("카메라대수", "invalid_count"),
    14: ("보관일수", "invalid_retention"),
    15: ("관리기관명", "unknown_department"),
}


def test_every_bad_row_is_reported_with_line_column_and_reason():
    report = imported(BROKEN, dry_run=True)
    assert {i.line: (i.column, i.code) for i in report.errors} == BROKEN_ROWS
    assert [(w.line, w.code) for w in report.warnings] == [(11, "near_district")]  # ~690 m outside
    assert "686 m outside 성동구" in report.warnings[0].message
    with translation.override("en"):
        by_line = {i.line: str(i) for i in report.errors}
    assert by_line[5] == "line 5, 위도, 경도: Latitude and longitude look swapped. ('127.0436, 37.5475')"
    assert by_line[9] == "line 9: Duplicate of line 2 (same place)."
    assert by_line[7].startswith("line 7, 설치연월: Not a valid installation date")


def test_a_file_with_errors_changes_nothing_and_exits_non_zero():
    before = counts()
    error, err = failing(BROKEN, "--format", "standard")
    assert error.returncode == 1
    assert "12 rows have errors: nothing was imported" in str(error)
    assert "error: line 3, 위도, 경도: The coordinate is blank." in err
    assert "warning: line 11" in err
    assert counts() == before
    assert not Site.objects.filter(jibun_address="서울특별시 성동구 송정동 88-13").exists()


def test_skip_invalid_imports_the_valid_rows_only():
    before = counts()
    out, err = command(BROKEN, "--format", "standard", "--skip-invalid")
    # lines 2 (2 cameras), 11 (2, near the border) and 16 (3)
    assert counts() == (before[0] + 3, before[1] + 7)
    assert "Sites: 3 created, 0 updated, 0 unchanged, 12 skipped." in out
    assert Site.objects.filter(jibun_address="서울특별시 광진구 자양동 1").exists()
    assert not Site.objects.filter(jibun_address__startswith="서울특별시 성동구 성수동1가").exists()


def test_other_purpose_says_what_기타_means():
    report = imported(BROKEN, dry_run=True, other_purpose=Purpose.FACILITY)
    assert 10 not in {i.line for i in report.errors}


def test_dry_run_changes_nothing_and_predicts_the_import_exactly():
    before = counts()
    out, _ = command(EXAMPLE, "--format", "standard", "--dry-run")
    assert "Dry run: nothing was changed" in out
    assert counts() == before
    predicted = imported(EXAMPLE, dry_run=True).summary()
    actual = imported(EXAMPLE).summary()
    assert predicted == actual and actual["sites_created"] == 12


def test_changing_the_camera_count_retires_or_adds_cameras():
    header, row = EXAMPLE.read_text(encoding="utf-8").splitlines()[:2]
    three = f"{header}\n{row.replace(',생활방범,2,', ',생활방범,3,')}\n".encode()
    one = f"{header}\n{row.replace(',생활방범,2,', ',생활방범,1,')}\n".encode()
    with translation.override("en"):
        first = import_cameras(three, ImportOptions(format="standard"))
        assert first.summary()["cameras_created"] == 3
        fewer = import_cameras(one, ImportOptions(format="standard"))
    assert fewer.summary()["cameras_retired"] == 2
    site = Site.objects.get(jibun_address="서울특별시 성동구 송정동 88-13")
    assert list(site.cameras.order_by("number").values_list("number", "status")) == [
        (1, CameraStatus.ONLINE),
        (2, CameraStatus.RETIRED),
        (3, CameraStatus.RETIRED),
    ]


def test_department_option_and_keeping_a_department_under_the_named_office():
    parks = Organisation.objects.get(code="seongdong-parks")
    command(EXAMPLE, "--format", "standard", "--department", "seongdong-parks")
    assert Site.objects.filter(source=Source.STANDARD, department=parks).count() == 12
    # 관리기관명 names 성동구청, the office 공원녹지과 belongs to: the department stays.
    report = imported(EXAMPLE)
    assert report.summary()["sites_unchanged"] == 12
    assert Site.objects.filter(source=Source.STANDARD, department=parks).count() == 12
    # A file that names a department moves the site to it.
    text = EXAMPLE.read_text(encoding="utf-8").replace("서울특별시 성동구청,", "성동구청 청소행정과,")
    with translation.override("en"):
        import_cameras(text.encode(), ImportOptions(format="standard"))
    assert Site.objects.filter(source=Source.STANDARD, department__code="seongdong-sanitation").count() == 12


def test_unknown_department_code_is_a_clear_error():
    error, _ = failing(EXAMPLE, "--format", "standard", "--department", "nope")
    assert "No organisation with the code nope." in str(error)


def test_site_code_is_stable_and_ignores_spacing():
    a = site_code(
        "서울특별시 성동구청", "서울특별시 성동구 송정동 88-13", "37.5554", "127.0706", "생활방범", "북측"
    )
    b = site_code(
        "서울특별시  성동구청",
        "서울특별시 성동구  송정동 88-13",
        "37.555400",
        "127.07060",
        "생활 방범",
        "북측",
    )
    assert a == b and a.startswith("S") and len(a) == 11
    assert a != site_code(
        "서울특별시 성동구청", "서울특별시 성동구 송정동 88-13", "37.5554", "127.0706", "교통단속", "북측"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\x00\x01\x02garbage\xff\xfe" * 20, "This is not a text (CSV) file."),
        (b"PK\x03\x04 workbook", "save it as CSV first"),
        ("이름,주소\n가,나\n".encode(), "Missing columns: 관리기관명"),
        (
            "자치구,주소,위도,경도,수량\n성동구,C1_(회전)_a,37.55,127.05,1\n".encode(),
            "choose the seoul-ansim format",
        ),
    ],
)
def test_bad_files_give_a_clear_message_not_a_traceback(tmp_path, content, message):
    path = tmp_path / "input.csv"
    path.write_bytes(content)
    error, _ = failing(path, "--format", "standard")
    assert message in str(error)


def test_missing_file_and_wrong_encoding(tmp_path):
    error, _ = failing(tmp_path / "nowhere.csv", "--format", "standard")
    assert "File not found" in str(error)
    error, _ = failing(EXAMPLE_CP949, "--format", "standard", "--encoding", "utf-8")
    assert "cannot be read as UTF-8" in str(error)


def test_no_progress_bar_when_stderr_is_not_a_terminal():
    _, err = command(EXAMPLE, "--format", "standard")
    assert "Checking rows" not in err and "it/s" not in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal():
    terminal = _Terminal()
    with translation.override("en"):
        call_command(
            "import-cameras", str(EXAMPLE), "--format", "standard", stdout=io.StringIO(), stderr=terminal
        )
    assert "Checking rows" in terminal.getvalue() and "Writing sites" in terminal.getvalue()


def test_a_header_without_rows_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text(EXAMPLE.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    error, _ = failing(path, "--format", "standard")
    assert "The file has a header but no rows." in str(error)
