"""전국CCTV표준데이터 (national standard data): one row per installation place (site).

Columns in order: 관리기관명, 소재지도로명주소, 소재지지번주소, 설치목적구분, 카메라대수, 카메라화소수,
촬영방면정보, 보관일수, 설치연월, 관리기관전화번호, 위도, 경도, 데이터기준일자, 제공기관코드, 제공기관명.
Columns are found by name: a leading 번호 column and missing 제공기관코드/제공기관명 are tolerated.
Gwanje's own export adds a trailing 개소코드 (site code) column so that an export re-imports onto
the same sites; without it the code is derived from the row (see `site_code`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from gwanje.registry.bulk import CameraSpec, SiteSpec
from gwanje.registry.choices import CameraKind, Purpose, Source
from gwanje.registry.formats.common import (
    FormatError,
    Issues,
    Table,
    parse_date,
    parse_point,
    squash,
)
from gwanje.registry.formats.importer import Context, Draft, Progress

NAME = "standard"
SOURCE = Source.STANDARD
COLUMNS = [
    "관리기관명", "소재지도로명주소", "소재지지번주소", "설치목적구분", "카메라대수", "카메라화소수",
    "촬영방면정보", "보관일수", "설치연월", "관리기관전화번호", "위도", "경도", "데이터기준일자",
    "제공기관코드", "제공기관명",
]  # fmt: skip
OPTIONAL = {"제공기관코드", "제공기관명"}
SITE_CODE_COLUMN = "개소코드"  # Gwanje extension, written by the export

# 설치목적구분 → Purpose. 기타 has no equivalent: an error unless mapped (--other-purpose).
PURPOSES = {
    "생활방범": Purpose.CRIME_PREVENTION,
    "차량방범": Purpose.VEHICLE_CRIME,
    "교통단속": Purpose.ILLEGAL_PARKING,
    "교통정보수집": Purpose.TRAFFIC_INFO,
    "어린이보호": Purpose.CHILD_PROTECTION,
    "쓰레기단속": Purpose.ILLEGAL_DUMPING,
    "시설물관리": Purpose.FACILITY,
    "재난재해": Purpose.DISASTER,
}
OTHER = "기타"
PURPOSE_LABELS = {v: k for k, v in PURPOSES.items()}  # for the export

SITE_KEEP = (
    "name",
    "owner",
    "is_mobile",
    "has_onsite_storage",
    "has_emergency_bell",
    "is_smart_shelter",
    "notes",
)
CAMERA_KEEP = ("kind", "notes")
CAMERA_KEEP_POINT = True

DEFAULT_RETENTION = 30
MAX_CAMERAS = 999
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_REGION = re.compile(r"^\S+(?:특별시|광역시|특별자치시|특별자치도|도)\s+\S+(?:구|군|시)\s+")


def _norm(name: str) -> str:
    return "".join(name.split())


def column_index(header: list[str]) -> dict[str, int]:
    """Where each known column is; FormatError naming what is missing."""
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(_norm(name), i)
    missing = [c for c in COLUMNS if c not in OPTIONAL and c not in index]
    if missing:
        if {"자치구", "주소", "위도", "경도"} <= set(index):
            raise FormatError(_("This file looks like a Seoul 안심이 list: choose the seoul-ansim format."))
        raise FormatError(
            _("Missing columns: %(missing)s. A 전국CCTV표준데이터 file has the columns %(columns)s.")
            % {"missing": ", ".join(missing), "columns": ", ".join(COLUMNS)}
        )
    return index


def site_code(org_name: str, address: str, lat: str, lon: str, purpose: str, direction: str) -> str:
    """A stable code for a standard row without a site code: "S" + 10 hex digits of
    sha1(관리기관명|address|lat 5 dp|lon 5 dp|설치목적구분|촬영방면정보). Purpose and direction are in
    the key because real files list several installations at one coordinate."""

    def coord(raw: str) -> str:
        try:
            return f"{float(raw):.5f}"
        except ValueError:
            return raw

    key = "|".join(
        [squash(org_name), squash(address), coord(lat), coord(lon), _norm(purpose), squash(direction)]
    )
    return "S" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10].upper()  # noqa: S324 - a key, not security


def short_address(address: str) -> str:
    """The address without its leading 시·도 and 시·군·구, used as the name of a new site."""
    return _REGION.sub("", address)[:200]


def parse_megapixels(raw: str) -> Decimal | None | bool:
    """카메라화소수 in 만 pixels (200 → 2.0 MP); raw pixel counts are accepted too. False: invalid."""
    raw = raw.replace(",", "").replace("화소", "").replace("만", "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return False
    if not value.is_finite() or value <= 0:
        return False
    mp = value / Decimal(1_000_000) if value >= 10_000 else value / 100
    mp = mp.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return mp if Decimal("0.1") <= mp <= 99 else False


def _int(raw: str) -> int | None:
    raw = raw.replace(",", "").strip()
    if raw.endswith(".0"):
        raw = raw[:-2]
    return int(raw) if raw.isdigit() else None


@dataclass(frozen=True)
class _Bad:
    """Why a cell's value is rejected (cached per distinct value, reported per line)."""

    code: str
    message: str


class _Cells:
    """Parses the cells whose values repeat across a file (organisation, purpose, counts, dates),
    once per distinct value."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._cache: dict[tuple[str, str], object] = {}

    def get(self, column: str, raw: str):
        key = (column, raw)
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = getattr(self, _PARSERS[column])(raw)
            return value

    def department(self, raw: str):
        if not raw:
            return _Bad(
                "blank_department",
                _("The managing organisation is blank; choose a department for the import."),
            )
        found = self.ctx.organisations.find(raw)
        if not found:
            return _Bad(
                "unknown_department",
                _("No organisation of this name is registered; choose a department for the import."),
            )
        if len(found) > 1:
            return _Bad(
                "ambiguous_department",
                _("Several organisations have this name; choose a department for the import."),
            )
        return found[0]

    def purpose(self, raw: str):
        key = _norm(raw)
        purpose = PURPOSES.get(key)
        if purpose is not None:
            return purpose
        if key == OTHER and self.ctx.options.other_purpose:
            return self.ctx.options.other_purpose
        if key == OTHER:
            return _Bad(
                "unknown_purpose",
                _("기타 (other) has no equivalent purpose; say what it means (other purpose option)."),
            )
        if not key:
            return _Bad("unknown_purpose", _("The installation purpose is blank."))
        return _Bad("unknown_purpose", _("Unknown installation purpose."))

    def count(self, raw: str):
        count = _int(raw)
        if count is None or not 1 <= count <= MAX_CAMERAS:
            return _Bad(
                "invalid_count",
                _("The number of cameras must be a whole number from 1 to %(n)s.") % {"n": MAX_CAMERAS},
            )
        return count

    def megapixels(self, raw: str):
        value = parse_megapixels(raw)
        if value is False:
            return _Bad(
                "invalid_resolution", _("The resolution must be a number of 만 pixels (200 = 2 megapixels).")
            )
        return value

    def retention(self, raw: str):
        value = DEFAULT_RETENTION if not raw else _int(raw)
        if value is None or not 1 <= value <= 3650:
            return _Bad(
                "invalid_retention", _("The retention must be a whole number of days from 1 to 3650.")
            )
        return value

    def installed(self, raw: str):
        value = parse_date(raw, self.ctx.today)
        if value is None:
            return _Bad(
                "bad_date",
                _("Not a valid installation date (YYYY-MM, YYYY or YYYY-MM-DD, not in the future)."),
            )
        return value


_PARSERS = {
    "관리기관명": "department",
    "설치목적구분": "purpose",
    "카메라대수": "count",
    "카메라화소수": "megapixels",
    "보관일수": "retention",
    "설치연월": "installed",
}


def parse(table: Table, ctx: Context, progress: Progress) -> tuple[list[Draft], int, int]:
    """Drafts of the valid rows, the number of sites and of cameras in the file."""
    idx = column_index(table.header)
    width = len(table.header)
    seen: dict[str, int] = {}
    drafts: list[Draft] = []
    cameras = 0
    cells = _Cells(ctx)
    columns = [(name, idx.get(name)) for name in [*COLUMNS, SITE_CODE_COLUMN]]
    progress.start(_("Checking rows"), len(table.rows))
    for n, (line, row) in enumerate(table.rows, start=1):
        draft, count = _row(line, row, columns, width, ctx, cells, seen)
        cameras += count
        if draft is not None:
            drafts.append(draft)
        if n % 1000 == 0:
            progress.update(1000)
    progress.update(len(table.rows) % 1000)
    return drafts, len(table.rows), cameras


def _row(
    line: int,
    row: list[str],
    columns: list[tuple[str, int | None]],
    width: int,
    ctx: Context,
    cells: _Cells,
    seen: dict[str, int],
) -> tuple[Draft | None, int]:
    issues: Issues = ctx.issues
    if len(row) > width and any(c.strip() for c in row[width:]):
        issues.error(
            line,
            "",
            "too_many_fields",
            _("The row has %(n)s fields but the header has %(m)s (an unquoted comma?).")
            % {"n": len(row), "m": width},
        )
        return None, 0
    size = len(row)
    v = {name: (row[i].strip() if i is not None and i < size else "") for name, i in columns}
    errors = len(issues.bad_lines)
    org_raw, road, jibun = squash(v["관리기관명"]), squash(v["소재지도로명주소"]), squash(v["소재지지번주소"])
    purpose_raw, direction = v["설치목적구분"], squash(v["촬영방면정보"])
    lat_raw, lon_raw = v["위도"], v["경도"]

    # The site: its code first, so that a duplicate is reported even when the row has other errors.
    code = v[SITE_CODE_COLUMN]
    if code and not _CODE.match(code):
        issues.error(
            line,
            SITE_CODE_COLUMN,
            "invalid_site_code",
            _("A site code is 1–40 letters, digits, '-', '_' or '.'."),
            code,
        )
    if not code:
        code = site_code(org_raw, road or jibun, lat_raw, lon_raw, purpose_raw, direction)
    if code in seen:
        issues.error(
            line,
            SITE_CODE_COLUMN if v[SITE_CODE_COLUMN] else "",
            "duplicate",
            _("Duplicate of line %(line)s (same place).") % {"line": seen[code]},
        )
    else:
        seen[code] = line

    department = ctx.options.department or cells.get("관리기관명", org_raw)
    values = {
        column: cells.get(column, v[column])
        for column in ("설치목적구분", "카메라대수", "카메라화소수", "보관일수", "설치연월")
    }
    values["관리기관명"] = department
    for column, value in values.items():
        if isinstance(value, _Bad):
            issues.error(line, column, value.code, value.message, v[column])
    for column, value, limit in (
        ("소재지도로명주소", road, 200),
        ("소재지지번주소", jibun, 200),
        ("촬영방면정보", direction, 100),
    ):
        if len(value) > limit:
            issues.error(line, column, "too_long", _("Longer than %(n)s characters.") % {"n": limit})
    parsed = parse_point(issues, line, "위도", lat_raw, "경도", lon_raw)
    if parsed is not None:
        ctx.places.check(issues, line, "위도, 경도", *parsed)

    count = values["카메라대수"]
    count = 0 if isinstance(count, _Bad) else count
    if len(issues.bad_lines) > errors or line in issues.bad_lines:
        return None, count
    installed = values["설치연월"]
    spec = SiteSpec(
        code=code,
        point=parsed[0],
        xy=parsed[1:],
        department=department,
        name=short_address(road or jibun),
        road_address=road,
        jibun_address=jibun,
        installed_on=installed[0],
        installed_on_precision=installed[1],
        source=SOURCE,
        is_synthetic=False,
    )
    template = CameraSpec(
        number=0,
        primary_purpose=values["설치목적구분"],
        kind=CameraKind.UNKNOWN,
        view_direction=direction,
        megapixels=values["카메라화소수"],
        retention_days=values["보관일수"],
    )
    explicit = True  # 관리기관명 names an organisation, or the import chose one
    return Draft(
        spec=spec, lines=[line], department_explicit=explicit, camera_count=count, camera_template=template
    ), count
