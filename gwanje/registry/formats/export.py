"""Export of the camera registry: the national standard format (one row per site, re-importable),
GeoJSON (one Feature per camera) and a flat CSV (one row per camera). Stream URLs are never
exported: the writers below name every field they write."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import BinaryIO

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from gwanje.accounts.choices import OrganisationKind
from gwanje.accounts.models import Organisation
from gwanje.registry.choices import CameraStatus
from gwanje.registry.filters import CameraFilterSet
from gwanje.registry.formats.common import FormatError, format_date
from gwanje.registry.formats.standard import COLUMNS, PURPOSE_LABELS, SITE_CODE_COLUMN
from gwanje.registry.models import Camera, Site
from gwanje.registry.queries import cameras_for_display

EXPORT_FORMATS = ("standard", "geojson", "csv")
EXPORT_ENCODINGS = ("utf-8", "utf-8-sig", "cp949")
_CHUNK = 2000

CSV_COLUMNS = [
    "site_code", "camera_number", "site_name", "kind", "status", "primary_purpose",
    "active_secondary_purposes", "inactive_secondary_purposes", "department_code", "department",
    "dong_code", "dong", "road_address", "jibun_address", "latitude", "longitude", "view_direction",
    "megapixels", "retention_days", "owner", "is_mobile", "has_onsite_storage", "has_emergency_bell",
    "is_smart_shelter", "installed_on", "source", "is_synthetic", "notes",
]  # fmt: skip


def filter_cameras(
    *,
    departments: Iterable[str] = (),
    status: Iterable[str] = (),
    purpose: Iterable[str] = (),
    kind: Iterable[str] = (),
    site: str = "",
    queryset: QuerySet[Camera] | None = None,
) -> QuerySet[Camera]:
    """Cameras selected by the registry's one filter class (department given by organisation code)."""
    qs = Camera.objects.all() if queryset is None else queryset
    data = QueryDict(mutable=True)
    codes = list(departments)
    if codes:
        orgs = dict(Organisation.objects.filter(code__in=codes).values_list("code", "pk"))
        unknown = [c for c in codes if c not in orgs]
        if unknown:
            raise FormatError(_("No organisation with the code %(code)s.") % {"code": ", ".join(unknown)})
        with_sites = set(
            Site.objects.filter(department_id__in=orgs.values()).values_list("department_id", flat=True)
        )
        if not with_sites:
            return qs.none()
        data.setlist("department", [str(pk) for pk in with_sites])
    data.setlist("status", list(status))
    data.setlist("purpose", list(purpose))
    data.setlist("kind", list(kind))
    if site:
        data["site"] = site
    fs = CameraFilterSet(data, queryset=qs)
    if not fs.is_valid():
        problems = "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in fs.errors.items())
        raise FormatError(_("Invalid filter: %(problems)s") % {"problems": problems})
    return fs.qs


def _cameras(qs: QuerySet[Camera]) -> Iterator[Camera]:
    qs = cameras_for_display(qs).select_related("site__department__parent").order_by("site__code", "number")
    return qs.iterator(chunk_size=_CHUNK)


def _department_name(org: Organisation) -> str:
    if org.parent_id and org.kind == OrganisationKind.DEPARTMENT:
        return f"{org.parent.name} {org.name}"
    return org.name


def _root(org: Organisation) -> Organisation:
    seen = 0
    while org.parent_id and seen < 10:
        org = org.parent
        seen += 1
    return org


def _mode(values: list):
    """The most common value; on a tie the first one seen."""
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)


def _coord(value: float) -> str:
    return repr(float(value))


class _Writer:
    """Encodes text in the chosen encoding, naming the site when a character does not fit."""

    def __init__(self, out: BinaryIO, encoding: str) -> None:
        if encoding not in EXPORT_ENCODINGS:
            raise FormatError(
                _("Unknown encoding %(enc)s: use utf-8, utf-8-sig or cp949.") % {"enc": encoding}
            )
        self.out = out
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        if encoding == "utf-8-sig":
            out.write(b"\xef\xbb\xbf")

    def write(self, text: str, where: str = "") -> None:
        try:
            self.out.write(text.encode(self.encoding))
        except UnicodeEncodeError as exc:
            raise FormatError(
                _("%(where)s: the character %(char)r cannot be written in %(enc)s; export as utf-8.")
                % {"where": where, "char": exc.object[exc.start : exc.end], "enc": self.encoding}
            ) from None


def _csv_line(values: list) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(values)
    return buf.getvalue()


def export_cameras(
    out: BinaryIO, fmt: str, cameras: QuerySet[Camera] | None = None, encoding: str = "utf-8"
) -> int:
    """Write the cameras (all when None) to `out`; returns the number of rows or features."""
    qs = Camera.objects.all() if cameras is None else cameras
    if fmt == "geojson":
        if encoding not in ("utf-8", "utf-8-sig"):
            raise FormatError(_("GeoJSON is always written in UTF-8."))
        return _geojson(_Writer(out, "utf-8"), qs)
    if fmt == "csv":
        return _flat_csv(_Writer(out, encoding), qs)
    if fmt == "standard":
        return _standard(_Writer(out, encoding), qs)
    raise FormatError(_("Unknown format %(f)s.") % {"f": fmt})


def _purposes(cam: Camera) -> tuple[list[str], list[str]]:
    secondary = sorted(cam.secondary_purposes.all(), key=lambda sp: sp.purpose)
    active = [sp.purpose for sp in secondary if sp.is_active]
    inactive = [sp.purpose for sp in secondary if not sp.is_active]
    return active, inactive


def _geojson(w: _Writer, qs: QuerySet[Camera]) -> int:
    w.write('{"type": "FeatureCollection", "features": [\n')
    n = 0
    for cam in _cameras(qs):
        site = cam.site
        active, inactive = _purposes(cam)
        feature = {
            "type": "Feature",
            "id": f"{site.code}-{cam.number}",
            "geometry": {"type": "Point", "coordinates": [cam.point.x, cam.point.y]},
            "properties": {
                "site_code": site.code,
                "camera_number": cam.number,
                "site_name": site.name,
                "kind": cam.kind,
                "status": cam.status,
                "department_code": site.department.code,
                "department": site.department.name,
                "primary_purpose": cam.primary_purpose,
                "active_secondary_purposes": active,
                "inactive_secondary_purposes": inactive,
                "dong": site.dong.name if site.dong_id else None,
                "dong_code": site.dong.code if site.dong_id else None,
                "road_address": site.road_address,
                "jibun_address": site.jibun_address,
                "view_direction": cam.view_direction,
                "megapixels": float(cam.megapixels) if cam.megapixels is not None else None,
                "retention_days": cam.retention_days,
                "owner": site.owner,
                "has_emergency_bell": site.has_emergency_bell,
                "is_smart_shelter": site.is_smart_shelter,
                "is_synthetic": site.is_synthetic,
                "source": site.source,
            },
        }
        w.write((",\n" if n else "") + json.dumps(feature, ensure_ascii=False))
        n += 1
    w.write("\n]}\n")
    return n


def _flat_csv(w: _Writer, qs: QuerySet[Camera]) -> int:
    w.write(_csv_line(CSV_COLUMNS))
    n = 0
    for cam in _cameras(qs):
        site = cam.site
        active, inactive = _purposes(cam)
        dong = site.dong
        values = [
            site.code, cam.number, site.name, cam.kind, cam.status, cam.primary_purpose, ";".join(active),
            ";".join(inactive), site.department.code, site.department.name,
            dong.code if dong else "", dong.name if dong else "", site.road_address, site.jibun_address,
            _coord(cam.point.y), _coord(cam.point.x), cam.view_direction,
            "" if cam.megapixels is None else str(cam.megapixels), cam.retention_days, site.owner,
            int(site.is_mobile), int(site.has_onsite_storage), int(site.has_emergency_bell),
            int(site.is_smart_shelter), format_date(site.installed_on, site.installed_on_precision),
            site.source, int(site.is_synthetic), cam.notes,
        ]  # fmt: skip
        w.write(_csv_line(values), where=f"{site.code}-{cam.number}")
        n += 1
    return n


def _standard(w: _Writer, qs: QuerySet[Camera]) -> int:
    """One row per site with at least one camera in service, in the standard column order, plus
    the site code (개소코드) so that the file re-imports onto the same sites."""
    w.write(_csv_line([*COLUMNS, SITE_CODE_COLUMN]))
    today = timezone.localdate().isoformat()
    n = 0
    for _site_id, group in groupby(_cameras(qs), key=lambda c: c.site_id):
        cams = [c for c in group if c.status != CameraStatus.RETIRED]
        if cams:
            site = cams[0].site
            w.write(_csv_line(_standard_row(site, cams, today)), where=site.code)
            n += 1
    return n


def _standard_row(site: Site, cams: list[Camera], today: str) -> list:
    dept = site.department
    megapixels = _mode([c.megapixels for c in cams])
    values = {
        "관리기관명": _department_name(dept),
        "소재지도로명주소": site.road_address,
        "소재지지번주소": site.jibun_address,
        "설치목적구분": PURPOSE_LABELS[_mode([c.primary_purpose for c in cams])],
        "카메라대수": len(cams),
        "카메라화소수": "" if megapixels is None else f"{megapixels * 100:.0f}",
        "촬영방면정보": _mode([c.view_direction for c in cams]),
        "보관일수": _mode([c.retention_days for c in cams]),
        "설치연월": format_date(site.installed_on, site.installed_on_precision),
        "관리기관전화번호": dept.phone or (dept.parent.phone if dept.parent_id else ""),
        "위도": _coord(site.point.y),
        "경도": _coord(site.point.x),
        "데이터기준일자": today,
        "제공기관코드": "",
        "제공기관명": _root(dept).name,
    }
    return [values[c] for c in COLUMNS] + [site.code]
