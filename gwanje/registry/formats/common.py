"""Shared parts of the camera-list formats: decoding, reading CSV rows with their line numbers,
row issues (line, column, reason), coordinates, dates, organisations and the district check."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib.gis.gdal import CoordTransform, SpatialReference
from django.contrib.gis.geos import Point
from django.utils import timezone
from django.utils.translation import gettext as _

from gwanje.accounts.models import Organisation
from gwanje.geo.queries import DongLocator, in_korea
from gwanje.registry.choices import DatePrecision

ENCODINGS = ("auto", "utf-8", "cp949")
ERROR = "error"
WARNING = "warning"
# A point this close to a loaded district is imported with a warning; farther away it is an error.
DISTRICT_WARNING_M = 1000.0
_METRIC_SRID = 5179  # Korea 2000 / Unified CS (UTM-K), metres


class FormatError(Exception):
    """The file as a whole cannot be read: wrong encoding, not a CSV, wrong columns."""


@dataclass(frozen=True)
class RowIssue:
    """A problem of one row: shown to the user as `line 12, 위도: reason`."""

    line: int
    column: str
    code: str
    message: str
    severity: str = ERROR
    value: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        where = _("line %(line)s") % {"line": self.line}
        if self.column:
            where += f", {self.column}"
        text = f"{where}: {self.message}"
        if self.value:
            text += f" ({self.value!r})" if len(self.value) <= 60 else f" ({self.value[:57]!r}…)"
        return text


class Issues:
    """Collects the issues of a file; lines that have an error are skipped."""

    def __init__(self) -> None:
        self.items: list[RowIssue] = []
        self.bad_lines: set[int] = set()

    def error(self, line: int, column: str, code: str, message: str, value: str = "") -> None:
        self.items.append(RowIssue(line, column, code, message, ERROR, value))
        self.bad_lines.add(line)

    def warning(self, line: int, column: str, code: str, message: str, value: str = "") -> None:
        self.items.append(RowIssue(line, column, code, message, WARNING, value))

    def sorted(self) -> list[RowIssue]:
        return sorted(self.items, key=lambda i: (i.line, i.severity != ERROR))


# --- reading ----------------------------------------------------------------------------------


def detect_encoding(data: bytes) -> str:
    """BOM → utf-8-sig; strict UTF-8 decodes → utf-8; otherwise cp949 (EUC-KR)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp949"
    return "utf-8"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """The text of an uploaded/read file and the encoding used, or a FormatError saying why not."""
    if encoding not in ENCODINGS:
        raise FormatError(_("Unknown encoding %(enc)s: use auto, utf-8 or cp949.") % {"enc": encoding})
    if not data.strip():
        raise FormatError(_("The file is empty."))
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FormatError(_("This is a spreadsheet workbook, not a CSV file: save it as CSV first."))
    if b"\x00" in data[:65536]:
        raise FormatError(_("This is not a text (CSV) file."))
    used = detect_encoding(data) if encoding == "auto" else encoding
    if used == "utf-8" and data.startswith(b"\xef\xbb\xbf"):
        used = "utf-8-sig"  # an explicit utf-8 still drops a byte-order mark
    try:
        text = data.decode(used)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if used.startswith("utf-8") else "CP949 (EUC-KR)"
        raise FormatError(
            _(
                "The file cannot be read as %(enc)s text (bad byte at line %(line)s). "
                "Save it as UTF-8 or CP949, or choose another encoding."
            )
            % {"enc": name, "line": _line_of(data, exc.start)}
        ) from None
    if "\x00" in text:
        raise FormatError(_("This is not a text (CSV) file."))
    return text, used


@dataclass
class Table:
    """The header (stripped names) and the data rows, each with its line number in the file."""

    header: list[str]
    rows: list[tuple[int, list[str]]]
    header_line: int = 1


def read_table(text: str) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 1
    rows: list[tuple[int, list[str]]] = []
    last = 0
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lstrip("\ufeff").strip() for cell in row]
                while header and not header[-1]:
                    header.pop()
                header_line = start
                continue
            rows.append((start, row))
    except csv.Error as exc:
        raise FormatError(
            _("The CSV is malformed near line %(line)s: %(err)s") % {"line": last + 1, "err": exc}
        ) from None
    if header is None:
        raise FormatError(_("The file is empty."))
    return Table(header=header, rows=rows, header_line=header_line)


def cell(row: list[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def squash(value: str) -> str:
    """Whitespace collapsed to single spaces."""
    return " ".join(value.split())


# --- values -----------------------------------------------------------------------------------


def _number(raw: str) -> float | None:
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_point(
    issues: Issues, line: int, lat_col: str, lat_raw: str, lon_col: str, lon_raw: str
) -> tuple[Point, float, float] | None:
    """A WGS84 point (with its lon, lat) from 위도/경도 cells, or None with the reason recorded."""
    if not lat_raw or not lon_raw:
        blank = [c for c, v in ((lat_col, lat_raw), (lon_col, lon_raw)) if not v]
        issues.error(line, ", ".join(blank), "blank_coordinates", _("The coordinate is blank."))
        return None
    lat, lon = _number(lat_raw), _number(lon_raw)
    if lat is None or lon is None:
        col, raw = (lat_col, lat_raw) if lat is None else (lon_col, lon_raw)
        issues.error(line, col, "invalid_coordinates", _("The coordinate is not a number."), raw)
        return None
    if not in_korea(lon, lat):
        if in_korea(lat, lon):
            issues.error(
                line,
                f"{lat_col}, {lon_col}",
                "swapped_coordinates",
                _("Latitude and longitude look swapped."),
                f"{lat_raw}, {lon_raw}",
            )
        else:
            issues.error(
                line,
                f"{lat_col}, {lon_col}",
                "outside_korea",
                _("The location is outside Korea (latitude 33–39, longitude 124–132)."),
                f"{lat_raw}, {lon_raw}",
            )
        return None
    return Point(lon, lat, srid=4326), lon, lat


_DATE = re.compile(r"^(\d{4})(?:[-./](\d{1,2})(?:[-./](\d{1,2}))?|(\d{2})(\d{2})?)?\.?$")


def parse_date(raw: str, today: dt.date | None = None) -> tuple[dt.date | None, str] | None:
    """YYYY, YYYY-MM or YYYY-MM-DD (also with . or / or none) → (date, precision); blank → (None, DAY).
    None when the value is not a date (or is after `today`)."""
    raw = raw.strip()
    if not raw:
        return None, DatePrecision.DAY
    m = _DATE.match(raw)
    if not m:
        return None
    year = int(m.group(1))
    month, day = m.group(2) or m.group(4), m.group(3) or m.group(5)
    precision = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
    try:
        date = dt.date(year, int(month or 1), int(day or 1))
    except ValueError:
        return None
    if year < 1960 or date > (today or timezone.localdate()):
        return None
    return date, precision


def format_date(date: dt.date | None, precision: str) -> str:
    if date is None:
        return ""
    if precision == DatePrecision.YEAR:
        return f"{date.year:04d}"
    if precision == DatePrecision.MONTH:
        return f"{date.year:04d}-{date.month:02d}"
    return date.isoformat()


# --- organisations ----------------------------------------------------------------------------

_PROVINCE = re.compile(r"^\S+(?:특별시|광역시|특별자치시|특별자치도|도)\s+")


class OrganisationIndex:
    """Finds the Organisation a 관리기관명 names: by name, by "parent name", or after stripping
    a leading 시·도 ("서울특별시 성동구청" → 성동구청). Never creates one."""

    def __init__(self) -> None:
        orgs = list(Organisation.objects.select_related("parent"))
        self.by_pk = {o.pk: o for o in orgs}
        self._names: dict[str, list[Organisation]] = {}
        for o in orgs:
            keys = {squash(o.name)}
            if o.parent_id:
                keys.add(squash(f"{o.parent.name} {o.name}"))
            for key in keys:
                self._names.setdefault(key, []).append(o)

    def find(self, name: str) -> list[Organisation]:
        name = squash(name)
        found = self._names.get(name)
        if not found:
            stripped = _PROVINCE.sub("", name)
            found = self._names.get(stripped, [])
        return found

    def is_within(self, org_id: int | None, ancestor_id: int) -> bool:
        """True when `org_id` is `ancestor_id` or one of its (grand)children."""
        seen = 0
        while org_id is not None and seen < 20:
            if org_id == ancestor_id:
                return True
            org = self.by_pk.get(org_id)
            org_id = org.parent_id if org else None
            seen += 1
        return False


# --- where points are: 행정동 and the district check ------------------------------------------


@dataclass
class _District:
    name: str
    extent: tuple[float, float, float, float]
    prepared: object
    metric: object = field(repr=False)


class PlaceIndex(DongLocator):
    """The 행정동 of each row's point and the district check, for many points.

    A point inside one of the loaded 행정동 or 자치구 polygons is in the district. Outside but
    within DISTRICT_WARNING_M of a district → warning; farther → error; no district loaded → no
    check. The 행정동 found here is remembered for the same Point object, so `upsert_sites` (which
    receives this as its locator) does not look it up a second time.
    """

    def __init__(self, warn_m: float = DISTRICT_WARNING_M) -> None:
        from gwanje.geo.models import AdminDong, District

        super().__init__(list(AdminDong.objects.all()))
        self.warn_m = warn_m
        self._boxes = [(dong, *extent, prepared) for dong, extent, prepared in self._items]
        self._seen: dict[int, tuple[Point, object]] = {}
        self._by_cell: dict[tuple[int, int], tuple[object, object]] = {}
        self._to_metric = CoordTransform(SpatialReference(4326), SpatialReference(_METRIC_SRID))
        self.districts = [
            _District(d.name, d.geom.extent, d.geom.prepared, d.geom.transform(self._to_metric, clone=True))
            for d in District.objects.all()
        ]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.districts]

    def dong_at(self, point: Point, x: float, y: float):
        """The 행정동 containing `point` (whose coordinates are x, y), remembered for `locate`.
        Neighbouring points are mostly in the same 행정동: the one found last in the same small
        cell is tried first (interior only, so a point on a boundary gets DongLocator's answer)."""
        cell = (int(x * 500), int(y * 500))  # ~180 m x 220 m
        guess = self._by_cell.get(cell)
        if guess is not None and guess[1].contains(point):
            found = guess[0]
        else:
            found = None
            for dong, minx, miny, maxx, maxy, prepared in self._boxes:
                if minx <= x <= maxx and miny <= y <= maxy and prepared.intersects(point):
                    found = dong
                    self._by_cell[cell] = (dong, prepared)
                    break
        self._seen[id(point)] = (point, found)  # the reference keeps the id from being reused
        return found

    def locate(self, point: Point):
        hit = self._seen.get(id(point))
        if hit is not None and hit[0] is point:
            return hit[1]
        return super().locate(point)

    def outside_by(self, point: Point, x: float, y: float) -> tuple[str, float] | None:
        """None when in the district (or none is loaded); else (nearest district, metres)."""
        if not self.districts or self.dong_at(point, x, y) is not None:
            return None
        for d in self.districts:
            minx, miny, maxx, maxy = d.extent
            if minx <= x <= maxx and miny <= y <= maxy and d.prepared.contains(point):
                return None
        metric = point.transform(self._to_metric, clone=True)
        return min(((d.name, d.metric.distance(metric)) for d in self.districts), key=lambda t: t[1])

    def check(self, issues: Issues, line: int, column: str, point: Point, x: float, y: float) -> bool:
        """Record a warning or an error for a point outside the districts; False on error."""
        hit = self.outside_by(point, x, y)
        if hit is None:
            return True
        name, metres = hit
        values = {"m": f"{metres:,.0f}", "district": name}
        if metres <= self.warn_m:
            issues.warning(
                line,
                column,
                "near_district",
                _("The location is %(m)s m outside %(district)s; imported anyway.") % values,
            )
            return True
        issues.error(
            line, column, "outside_district", _("The location is %(m)s m outside %(district)s.") % values
        )
        return False


def iter_chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
