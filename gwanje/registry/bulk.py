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
from gwanje.geo.queries import DongLocator
from gwanje.registry.choices import CameraKind, CameraStatus, DatePrecision, Owner, Purpose, Source
from gwanje.registry.models import Camera, SecondaryPurpose, Site

_BATCH = 2000


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


_SITE_FIELDS = [
    "name",
    "road_address",
    "jibun_address",
    "point",
    "dong",
    "department",
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
_CAMERA_FIELDS = [
    "kind",
    "point",
    "view_direction",
    "megapixels",
    "primary_purpose",
    "retention_days",
    "status",
    "status_changed_at",
    "notes",
]


def _same(a, b) -> bool:
    if isinstance(a, Point) or isinstance(b, Point):
        return a is not None and b is not None and a.equals_exact(b, 1e-9)
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return (a is None and b is None) or (a is not None and b is not None and Decimal(a) == Decimal(b))
    return a == b


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
    """Create or update sites and their cameras in one transaction (all or nothing)."""
    specs = list(specs)
    for spec in specs:
        _check_spec(spec)
    codes = [s.code for s in specs]
    if len(codes) != len(set(codes)):
        raise ValidationError({"code": "the same site code appears twice in one upsert"})
    locator = locator or DongLocator()
    result = UpsertResult()

    for start in range(0, len(specs), _BATCH):
        chunk = specs[start : start + _BATCH]
        existing = {s.code: s for s in Site.objects.filter(code__in=[c.code for c in chunk])}
        to_create, to_update = [], []
        for spec in chunk:
            values = {f: getattr(spec, f) for f in _SITE_FIELDS if f != "dong"}
            values["dong"] = locator.locate(spec.point)
            site = existing.get(spec.code)
            if site is None:
                to_create.append(Site(code=spec.code, **values))
            else:
                changed = False
                for name, value in values.items():
                    if name in ("dong", "department"):  # compare ids: no query per site
                        same = getattr(site, f"{name}_id") == (value.pk if value else None)
                    else:
                        same = _same(getattr(site, name), value)
                    if not same:
                        setattr(site, name, value)
                        changed = True
                if changed:
                    site.updated_at = timezone.now()
                    to_update.append(site)
                else:
                    result.sites_unchanged += 1
        Site.objects.bulk_create(to_create, batch_size=500)
        if to_update:
            Site.objects.bulk_update(to_update, _SITE_FIELDS + ["updated_at"], batch_size=500)
        result.sites_created += len(to_create)
        result.sites_updated += len(to_update)
        by_code = {s.code: s for s in to_create + to_update}
        by_code.update({c: s for c, s in existing.items() if c not in by_code})
        _upsert_cameras(chunk, by_code, result)
        if progress:
            progress(len(chunk))
    return result


def _upsert_cameras(chunk: list[SiteSpec], sites: dict[str, Site], result: UpsertResult) -> None:
    site_ids = [sites[s.code].pk for s in chunk]
    existing: dict[tuple[int, int], Camera] = {
        (c.site_id, c.number): c for c in Camera.objects.filter(site_id__in=site_ids)
    }
    by_site: dict[int, list[Camera]] = {}
    for cam in existing.values():
        by_site.setdefault(cam.site_id, []).append(cam)
    to_create, to_update, retire = [], [], []
    secondary: dict[tuple[int, int], list[str]] = {}
    for spec in chunk:
        site = sites[spec.code]
        seen = set()
        for cs in spec.cameras:
            key = (site.pk, cs.number)
            seen.add(cs.number)
            values = {
                "kind": cs.kind,
                "point": cs.point or spec.point,
                "view_direction": cs.view_direction,
                "megapixels": cs.megapixels,
                "primary_purpose": cs.primary_purpose,
                "retention_days": cs.retention_days,
                "notes": cs.notes,
            }
            cam = existing.get(key)
            if cam is None:
                cam = Camera(site=site, number=cs.number, status=cs.status or CameraStatus.ONLINE, **values)
                to_create.append(cam)
            else:
                if cs.status is not None:
                    values["status"] = cs.status
                changed = [n for n, v in values.items() if not _same(getattr(cam, n), v)]
                for n in changed:
                    setattr(cam, n, values[n])
                if changed:
                    cam.updated_at = timezone.now()
                    to_update.append(cam)
                else:
                    result.cameras_unchanged += 1
            if cs.secondary is not None:
                secondary[key] = [p for p in cs.secondary if p != cs.primary_purpose]
        if spec.retire_missing:
            for cam in by_site.get(site.pk, ()):
                if cam.number not in seen and cam.status != CameraStatus.RETIRED:
                    cam.status = CameraStatus.RETIRED
                    cam.status_changed_at = cam.updated_at = timezone.now()
                    retire.append(cam)
    Camera.objects.bulk_create(to_create, batch_size=500)
    if to_update or retire:
        Camera.objects.bulk_update(to_update + retire, _CAMERA_FIELDS + ["updated_at"], batch_size=500)
    result.cameras_created += len(to_create)
    result.cameras_updated += len(to_update)
    result.cameras_retired += len(retire)
    if secondary:
        _sync_secondary(secondary, {(c.site_id, c.number): c.pk for c in to_create + list(existing.values())})


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
