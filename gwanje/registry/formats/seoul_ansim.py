"""서울시 안심이 CCTV 연계 현황 (Seoul): one row per camera. Columns 자치구, 주소, 위도, 경도, 수량.

주소 packs site code, kind and place: `C318_(회전)_송정동 88-13`, `C515_(고정1)9_금호여중_금호로16길 24`,
`C692_(영상비상벨)6_두모갓교회_금호산2길 34`, `S004_스마트쉼터_옥수파출소_실내cctv`, `C014_(DFS)_…`,
or no kind at all. Rows sharing a site code are one site (개소) with several cameras (대수).
Camera numbers are the rank of each camera within its site by (kind, fixed number, raw 주소), so
re-importing the same rows in any order gives every camera the same number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.utils.translation import gettext as _

from gwanje.accounts.models import Organisation
from gwanje.registry.bulk import CameraSpec, SiteSpec
from gwanje.registry.choices import CameraKind, Purpose, Source
from gwanje.registry.formats.common import FormatError, Table, cell, parse_point, squash
from gwanje.registry.formats.importer import Context, Draft, Progress

NAME = "seoul-ansim"
SOURCE = Source.SEOUL_ANSIM
COLUMNS = ["자치구", "주소", "위도", "경도", "수량"]
OPTIONAL = {"수량"}
DEFAULT_DEPARTMENT = "seongdong-autonomous-admin"  # 자치행정과, when it exists
PRIMARY_PURPOSE = Purpose.CRIME_PREVENTION
SPREAD_WARNING_M = 200.0  # a camera this far from the rest of its site is probably misplaced

SITE_KEEP = (
    "road_address", "jibun_address", "owner", "is_mobile", "has_onsite_storage", "installed_on",
    "installed_on_precision", "notes",
)  # fmt: skip
CAMERA_KEEP = ("view_direction", "megapixels", "retention_days", "primary_purpose")
CAMERA_KEEP_POINT = False

# Kinds in 주소, in the order cameras are numbered within a site.
PTZ, FIXED, BELL, DFS, SHELTER, NONE = "회전", "고정", "영상비상벨", "DFS", "스마트쉼터", ""
_RANK = {PTZ: 0, FIXED: 1, BELL: 2, DFS: 3, SHELTER: 4, NONE: 5}
_CAMERA_KIND = {PTZ: CameraKind.PTZ, FIXED: CameraKind.FIXED}
_ADDRESS = re.compile(r"^(?P<code>[A-Za-z]{1,4}\d{1,6})_+(?P<rest>.*)$")
_PAREN = re.compile(r"^\((?P<kind>[^)]*)\)(?P<tail>.*)$")
_FIXED = re.compile(r"^고정\s*(?P<n>\d+)$")
_LEADING_NUMBER = re.compile(r"^\d+_+")


@dataclass(frozen=True)
class Address:
    """What a 주소 cell packs."""

    code: str
    kind: str  # one of PTZ, FIXED, BELL, DFS, SHELTER, NONE (or the unrecognised text)
    fixed_number: int
    place: str
    raw: str

    @property
    def camera_kind(self) -> str:
        return _CAMERA_KIND.get(self.kind, CameraKind.UNKNOWN)

    @property
    def order(self) -> tuple[int, int, str]:
        return (_RANK.get(self.kind, 6), self.fixed_number, self.raw)


def _place(text: str) -> str:
    return squash(text.replace("_", " "))


def parse_address(raw: str) -> Address | None:
    """Site code, kind and place of a 주소 cell; None when it has no site code."""
    raw = squash(raw)
    m = _ADDRESS.match(raw)
    if not m:
        return None
    code, rest = m.group("code").upper(), m.group("rest")
    kind, fixed_number, tail = NONE, 0, rest
    paren = _PAREN.match(rest)
    if paren:
        label = squash(paren.group("kind"))
        tail = paren.group("tail")
        fixed = _FIXED.match(label)
        if fixed:
            kind, fixed_number = FIXED, int(fixed.group("n"))
        elif label in (PTZ, BELL):
            kind = label
        elif label.upper() == DFS:
            kind = DFS
        else:
            kind = label or NONE
        if kind in (FIXED, BELL):
            tail = _LEADING_NUMBER.sub("", tail.lstrip("_"))
    elif rest.startswith(SHELTER):
        kind, tail = SHELTER, rest[len(SHELTER) :]
    return Address(code=code, kind=kind, fixed_number=fixed_number, place=_place(tail), raw=raw)


def column_index(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault("".join(name.split()), i)
    missing = [c for c in COLUMNS if c not in OPTIONAL and c not in index]
    if missing:
        if {"관리기관명", "설치목적구분", "카메라대수"} <= set(index):
            raise FormatError(_("This file looks like 전국CCTV표준데이터: choose the standard format."))
        raise FormatError(
            _("Missing columns: %(missing)s. A Seoul 안심이 list has the columns %(columns)s.")
            % {"missing": ", ".join(missing), "columns": ", ".join(COLUMNS)}
        )
    return index


def _default_department(ctx: Context) -> tuple[Organisation, bool]:
    if ctx.options.department is not None:
        return ctx.options.department, True
    org = Organisation.objects.filter(code=DEFAULT_DEPARTMENT).first()
    if org is None:
        raise FormatError(
            _("Choose a department: the default department (%(code)s) does not exist.")
            % {"code": DEFAULT_DEPARTMENT}
        )
    return org, False


@dataclass
class _Row:
    line: int
    address: Address
    point: Point
    lon: float
    lat: float


def parse(table: Table, ctx: Context, progress: Progress) -> tuple[list[Draft], int, int]:
    idx = column_index(table.header)
    width = len(table.header)
    department, explicit = _default_department(ctx)
    issues = ctx.issues
    expected_gu = ctx.places.names
    seen: dict[str, int] = {}
    by_site: dict[str, list[_Row]] = {}
    incomplete: set[str] = set()
    codes: set[str] = set()
    progress.start(_("Checking rows"), len(table.rows))
    for line, row in table.rows:
        progress.update(1)
        before = len(issues.items)
        if len(row) > width and any(c.strip() for c in row[width:]):
            issues.error(
                line,
                "",
                "too_many_fields",
                _("The row has %(n)s fields but the header has %(m)s (an unquoted comma?).")
                % {"n": len(row), "m": width},
            )
            misread = parse_address(cell(row, idx["주소"]))
            if misread is not None:
                codes.add(misread.code)
                incomplete.add(misread.code)
            continue
        raw = cell(row, idx["주소"])
        address = parse_address(raw)
        if address is None:
            issues.error(
                line,
                "주소",
                "no_site_code",
                _("The address does not start with a site code (like C318_(회전)_place)."),
                raw,
            )
        else:
            codes.add(address.code)
            if address.raw in seen:
                issues.error(
                    line, "주소", "duplicate", _("Duplicate of line %(line)s.") % {"line": seen[address.raw]}
                )
            else:
                seen[address.raw] = line
            if address.kind not in _RANK:
                issues.warning(
                    line,
                    "주소",
                    "unknown_kind",
                    _("Unrecognised camera kind; imported as unknown."),
                    address.kind,
                )
        gu = squash(cell(row, idx["자치구"]))
        if not expected_gu and gu:
            expected_gu = [gu]
        if not gu:
            issues.error(line, "자치구", "blank_district", _("The district (자치구) is blank."))
        elif gu not in expected_gu:
            issues.error(
                line,
                "자치구",
                "other_district",
                _("This row belongs to %(gu)s, not %(expected)s.")
                % {"gu": gu, "expected": ", ".join(expected_gu)},
            )
        quantity = cell(row, idx.get("수량"))
        if quantity not in ("", "1", "1.0"):
            issues.error(
                line,
                "수량",
                "invalid_quantity",
                _("Each row is one camera: the quantity must be 1."),
                quantity,
            )
        parsed = parse_point(issues, line, "위도", cell(row, idx["위도"]), "경도", cell(row, idx["경도"]))
        if parsed is not None:
            ctx.places.check(issues, line, "위도, 경도", *parsed)
        if any(i.is_error for i in issues.items[before:]):
            if address is not None:
                incomplete.add(address.code)
            continue
        by_site.setdefault(address.code, []).append(_Row(line, address, *parsed))
    drafts = [
        _draft(code, rows, department, explicit, code not in incomplete, ctx)
        for code, rows in by_site.items()
    ]
    return drafts, len(codes), len(table.rows)


def _site_name(rows: list[_Row]) -> str:
    for r in rows:
        if r.address.kind == PTZ and r.address.place:
            return r.address.place[:200]
    places = [r.address.place for r in rows if r.address.place]
    if not places:
        return ""
    common = places[0]
    for p in places[1:]:
        while not p.startswith(common):
            common = common[:-1]
    common = common.strip(" -_(")
    return (common if len(common) >= 2 else places[0])[:200]


def _draft(
    code: str, rows: list[_Row], department: Organisation, explicit: bool, complete: bool, ctx: Context
) -> Draft:
    rows.sort(key=lambda r: r.address.order)
    lon = round(sum(r.lon for r in rows) / len(rows), 7)
    lat = round(sum(r.lat for r in rows) / len(rows), 7)
    centre = Point(lon, lat, srid=4326)
    for r in rows:
        dx = (r.lon - lon) * 111_320 * math.cos(math.radians(lat))
        dy = (r.lat - lat) * 110_574
        metres = math.hypot(dx, dy)
        if metres > SPREAD_WARNING_M:
            ctx.issues.warning(
                r.line,
                "위도, 경도",
                "far_from_site",
                _("This camera is %(m)s m from the other cameras of site %(code)s.")
                % {"m": f"{metres:,.0f}", "code": code},
            )
    cameras = [
        CameraSpec(
            number=n,
            primary_purpose=PRIMARY_PURPOSE,
            kind=r.address.camera_kind,
            point=r.point,
            notes=r.address.raw,
        )
        for n, r in enumerate(rows, start=1)
    ]
    spec = SiteSpec(
        code=code,
        point=centre,
        department=department,
        name=_site_name(rows),
        has_emergency_bell=any(r.address.kind == BELL for r in rows),
        is_smart_shelter=any(r.address.kind == SHELTER for r in rows),
        source=SOURCE,
        is_synthetic=False,
        cameras=cameras,
    )
    return Draft(spec=spec, lines=[r.line for r in rows], department_explicit=explicit, complete=complete)
