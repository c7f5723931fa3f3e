"""Bulk upsert of sites with their cameras: the one write path of the deployment loader and the
importers (idempotent: keyed by site code and camera number; re-running updates, never duplicates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from gwanje.accounts.models import Organisation
from gwanje.core.perf import gc_paused
from gwanje.geo.queries import DongLocator
from gwanje.registry import rows
from gwanje.registry.choices import CameraKind, CameraStatus, DatePrecision, Owner, Purpose, Source
from gwanje.registry.models import Camera, SecondaryPurpose, Site

_BATCH = 5000


@dataclass
class CameraSpec:
    number: int
    primary_purpose: str
    kind: str = CameraKind.FIXED
    point: Point | None = None  # defaults to the site's point
    view_direction: str = ""
    megapixels: Decimal | None = None
    retention_days: int = 30
    status: str | None = None  # None: new cameras ONLINE, existing keep theirs
    notes: str = ""
    secondary: list[str] | None = None  # None leaves existing secondary purposes untouched


@dataclass
class SiteSpec:
    code: str
    point: Point
    department: Organisation
    # The point's (x, y) when the caller already has them as numbers: reading them back from a
    # GEOS point costs more than the insert itself at 100,000 sites.
    xy: tuple[float, float] | None = None
    name: str = ""
    road_address: str = ""
    jibun_address: str = ""
    owner: str = Owner.DISTRICT
    is_mobile: bool = False
    has_onsite_storage: bool = False
    has_emergency_bell: bool = False
    is_smart_shelter: bool = False
    installed_on: dt.date | None = None
    installed_on_precision: str = DatePrecision.DAY
    notes: str = ""
    is_synthetic: bool = False
    source: str = Source.MANUAL
    cameras: list[CameraSpec] = field(default_factory=list)
    # When True, cameras of the site that are not in `cameras` are retired (status RETIRED).
    retire_missing: bool = False


@dataclass
class UpsertResult:
    sites_created: int = 0
    sites_updated: int = 0
    sites_unchanged: int = 0
    cameras_created: int = 0
    cameras_updated: int = 0
    cameras_unchanged: int = 0
    cameras_retired: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


# Site columns compared and written, in this order; "point" stands for two values (x, y).
_SITE_COLUMNS = [
    "name",
    "road_address",
    "jibun_address",
    "point",
    "dong_id",
    "department_id",
    "owner",
    "is_mobile",
    "has_onsite_storage",
    "has_emergency_bell",
    "is_smart_shelter",
    "installed_on",
    "installed_on_precision",
    "notes",
    "is_synthetic",
    "source",
]
_SITE_VALUES = [c for c in _SITE_COLUMNS if c != "point"]
_SITE_XY = _SITE_COLUMNS.index("point")  # where x and y sit in a site's value tuple
# Camera columns compared and written by an upsert (status apart: see _upsert_cameras).
_CAMERA_COLUMNS = [
    "kind",
    "point",
    "view_direction",
    "megapixels",
    "primary_purpose",
    "retention_days",
    "notes",
]
_CAMERA_VALUES = [c for c in _CAMERA_COLUMNS if c != "point"]
_CAMERA_XY = _CAMERA_COLUMNS.index("point")
_TOLERANCE = 1e-9  # degrees: points this close are the same point


def _same_values(old: tuple, new: tuple, xy: int) -> bool:
    """Equal value tuples, the coordinates at `xy`, `xy + 1` compared with a tolerance."""
    if old == new:
        return True
    if old[:xy] != new[:xy] or old[xy + 2 :] != new[xy + 2 :]:
        return False
    return abs(old[xy] - new[xy]) <= _TOLERANCE and abs(old[xy + 1] - new[xy + 1]) <= _TOLERANCE


def _check_spec(spec: SiteSpec) -> None:
    if not spec.code:
        raise ValidationError({"code": "blank site code"})
    if spec.owner not in Owner.values():
        raise ValidationError({"owner": f"unknown owner {spec.owner!r}"})
    numbers = [c.number for c in spec.cameras]
    if len(numbers) != len(set(numbers)):
        raise ValidationError({"cameras": f"site {spec.code}: duplicate camera numbers"})
    for c in spec.cameras:
        if c.primary_purpose not in Purpose.values():
            raise ValidationError({"primary_purpose": f"unknown purpose {c.primary_purpose!r}"})
        if c.kind not in CameraKind.values():
            raise ValidationError({"kind": f"unknown kind {c.kind!r}"})
        if c.status is not None and c.status not in CameraStatus.values():
            raise ValidationError({"status": f"unknown status {c.status!r}"})
        if not 1 <= c.retention_days <= 3650:
            raise ValidationError({"retention_days": "retention days must be 1–3650"})
        for p in c.secondary or ():
            if p not in Purpose.values():
                raise ValidationError({"secondary": f"unknown purpose {p!r}"})


@transaction.atomic
def upsert_sites(
    specs: Iterable[SiteSpec],
    *,
    locator: DongLocator | None = None,
    progress: Callable[[int], None] | None = None,
) -> UpsertResult:
    """Create or update sites and their cameras in one transaction (all or nothing).

    Rows are compared and written as plain values (see `registry.rows`): existing sites and
    cameras are read with a few queries per batch, unchanged ones are not written at all."""
    specs = list(specs)
    for spec in specs:
        _check_spec(spec)
    codes = [s.code for s in specs]
    if len(codes) != len(set(codes)):
        raise ValidationError({"code": "the same site code appears twice in one upsert"})
    locator = locator or DongLocator()
    result = UpsertResult()
    now = timezone.now()
    with gc_paused():
        for start in range(0, len(specs), _BATCH):
            chunk = specs[start : start + _BATCH]
            site_ids, created = _upsert_site_rows(chunk, locator, now, result)
            _upsert_cameras(chunk, site_ids, created, now, result)
            if progress:
                progress(len(chunk))
    return result


def _upsert_site_rows(
    chunk: list[SiteSpec], locator: DongLocator, now: dt.datetime, result: UpsertResult
) -> tuple[dict[str, int], set[str]]:
    """Insert new and update changed sites of a batch: the id of every site by code, and the codes
    of the sites created."""
    existing = {
        row[0]: row[1:]
        for row in Site.objects.filter(code__in=[s.code for s in chunk])
        .order_by()
        .annotate(_x=rows.X, _y=rows.Y)
        .values_list("code", "pk", *_SITE_VALUES[:_SITE_XY], "_x", "_y", *_SITE_VALUES[_SITE_XY:])
    }
    ids = {code: row[0] for code, row in existing.items()}
    to_insert, to_update = [], []
    for spec in chunk:
        dong = locator.locate(spec.point)
        x, y = spec.xy or spec.point.coords[:2]
        values = (
            spec.name,
            spec.road_address,
            spec.jibun_address,
            x,
            y,
            dong.pk if dong else None,
            spec.department.pk,
            spec.owner,
            spec.is_mobile,
            spec.has_onsite_storage,
            spec.has_emergency_bell,
            spec.is_smart_shelter,
            spec.installed_on,
            spec.installed_on_precision,
            spec.notes,
            spec.is_synthetic,
            spec.source,
        )
        old = existing.get(spec.code)
        if old is None:
            to_insert.append((spec.code, *values))
        elif _same_values(old[1:], values, _SITE_XY):
            result.sites_unchanged += 1
        else:
            to_update.append((*values, old[0]))
    stamp = rows.db_datetime(now)
    new_ids = rows.insert(
        "registry_site",
        ["code", *_SITE_COLUMNS, "created_at", "updated_at"],
        [(*r, stamp, stamp) for r in to_insert],
    )
    assignments = ", ".join(f'"{c}" = {rows.point_sql() if c == "point" else "%s"}' for c in _SITE_COLUMNS)
    rows.execute_many(
        f'UPDATE "registry_site" SET {assignments}, "updated_at" = %s WHERE id = %s',  # noqa: S608 - constants
        [(*r[:-1], stamp, r[-1]) for r in to_update],
    )
    result.sites_created += len(to_insert)
    result.sites_updated += len(to_update)
    ids.update(zip([r[0] for r in to_insert], new_ids, strict=True))
    return ids, {r[0] for r in to_insert}


def _upsert_cameras(
    chunk: list[SiteSpec], site_ids: dict[str, int], created: set[str], now: dt.datetime, result: UpsertResult
) -> None:
    existing: dict[tuple[int, int], tuple] = {}  # (site id, number) → (id, status, *values)
    by_site: dict[int, list[tuple[int, int, str]]] = {}  # site id → [(number, id, status)]
    camera_qs = (
        Camera.objects.filter(site_id__in=[site_ids[s.code] for s in chunk if s.code not in created])
        .order_by()
        .annotate(_x=rows.X, _y=rows.Y)
        .values_list(
            "site_id",
            "number",
            "pk",
            "status",
            *_CAMERA_VALUES[:_CAMERA_XY],
            "_x",
            "_y",
            *_CAMERA_VALUES[_CAMERA_XY:],
        )
    )
    for row in camera_qs:
        existing[(row[0], row[1])] = row[2:]
        by_site.setdefault(row[0], []).append((row[1], row[2], row[3]))
    stamp = rows.db_datetime(now)
    to_insert, to_update, retire = [], [], []
    secondary: dict[tuple[int, int], list[str]] = {}
    for spec in chunk:
        site_id = site_ids[spec.code]
        site_xy = spec.xy or spec.point.coords[:2]
        seen = set()
        for cs in spec.cameras:
            key = (site_id, cs.number)
            seen.add(cs.number)
            x, y = cs.point.coords[:2] if cs.point is not None else site_xy
            values = (
                cs.kind,
                x,
                y,
                cs.view_direction,
                cs.megapixels,
                cs.primary_purpose,
                cs.retention_days,
                cs.notes,
            )
            old = existing.get(key)
            if old is None:
                status = cs.status or CameraStatus.ONLINE
                to_insert.append((site_id, cs.number, *values, status, "", "", stamp, stamp))
            else:
                status = cs.status or old[1]
                if status == old[1] and _same_values(old[2:], values, _CAMERA_XY):
                    result.cameras_unchanged += 1
                else:
                    to_update.append((*values, status, status, stamp, stamp, old[0]))
            if cs.secondary is not None:
                secondary[key] = [p for p in cs.secondary if p != cs.primary_purpose]
        if spec.retire_missing:
            retire += [
                (pk,)
                for number, pk, status in by_site.get(site_id, ())
                if number not in seen and status != CameraStatus.RETIRED
            ]
    new_ids = rows.insert(
        "registry_camera",
        [
            "site_id",
            "number",
            *_CAMERA_COLUMNS,
            "status",
            "main_stream_url",
            "sub_stream_url",
            "created_at",
            "updated_at",
        ],
        to_insert,
        ids=bool(secondary),  # only secondary purposes need the new cameras' ids
    )
    assignments = ", ".join(f'"{c}" = {rows.point_sql() if c == "point" else "%s"}' for c in _CAMERA_COLUMNS)
    # SET expressions see the row as it was: status_changed_at moves only when the status does.
    rows.execute_many(
        f'UPDATE "registry_camera" SET {assignments}, "status" = %s, '  # noqa: S608 - constants
        '"status_changed_at" = CASE WHEN "status" = %s THEN "status_changed_at" ELSE %s END, '
        '"updated_at" = %s WHERE id = %s',
        to_update,
    )
    rows.execute_many(
        'UPDATE "registry_camera" SET "status" = %s, "status_changed_at" = %s, "updated_at" = %s '
        "WHERE id = %s",
        [(CameraStatus.RETIRED, stamp, stamp, pk) for (pk,) in retire],
    )
    result.cameras_created += len(to_insert)
    result.cameras_updated += len(to_update)
    result.cameras_retired += len(retire)
    if secondary:
        ids = {key: row[0] for key, row in existing.items()}
        ids.update(zip([(r[0], r[1]) for r in to_insert], new_ids, strict=True))
        _sync_secondary(secondary, ids)


def _sync_secondary(wanted: dict[tuple[int, int], list[str]], ids: dict[tuple[int, int], int]) -> None:
    camera_ids = [ids[k] for k in wanted]
    have: dict[int, set[str]] = {}
    for cid, purpose in SecondaryPurpose.objects.filter(camera_id__in=camera_ids).values_list(
        "camera_id", "purpose"
    ):
        have.setdefault(cid, set()).add(purpose)
    new_rows = []
    for key, purposes in wanted.items():
        cid = ids[key]
        current = have.get(cid, set())
        stale = current - set(purposes)
        if stale:
            SecondaryPurpose.objects.filter(camera_id=cid, purpose__in=stale).delete()
        new_rows += [SecondaryPurpose(camera_id=cid, purpose=p) for p in sorted(set(purposes) - current)]
    SecondaryPurpose.objects.bulk_create(new_rows, batch_size=1000)
