"""All writes to the registry (DESIGN rule 1): one transaction each, validated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gwanje.geo.queries import DongLocator, in_korea
from gwanje.registry.choices import CameraStatus, Purpose
from gwanje.registry.models import Camera, PurposeExpansion, SecondaryPurpose, Site


def make_point(lon: Any, lat: Any, *, field: str = "point") -> Point:
    """A WGS84 point from user input, or a ValidationError naming what is wrong."""
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ValidationError({field: _("Longitude and latitude must be numbers.")}) from None
    if not in_korea(x, y):
        if in_korea(y, x):
            raise ValidationError({field: _("Latitude and longitude look swapped.")})
        raise ValidationError(
            {field: _("The location must lie in Korea (latitude 33–39, longitude 124–132).")}
        )
    return Point(x, y, srid=4326)


def _validate(obj, exclude: Iterable[str] = ()) -> None:
    obj.full_clean(exclude=list(exclude), validate_unique=True, validate_constraints=True)


@transaction.atomic
def save_site(site: Site, *, locator: DongLocator | None = None, by=None) -> Site:
    """Create or update a site; the 행정동 is computed from its location."""
    if site.point is None:
        raise ValidationError({"point": _("A site needs a location.")})
    make_point(site.point.x, site.point.y)
    site.dong = (locator or DongLocator()).locate(site.point)
    _validate(site)
    site.save()
    return site


@transaction.atomic
def save_camera(camera: Camera, *, secondary: Iterable[str] | None = None, by=None) -> Camera:
    """Create or update a camera. `secondary` replaces its secondary purposes (records kept)."""
    if camera.point is None and camera.site_id:
        camera.point = camera.site.point
    if camera.pk:
        previous = Camera.objects.filter(pk=camera.pk).values_list("status", flat=True).first()
        if previous != camera.status:
            camera.status_changed_at = timezone.now()
    _validate(camera)
    camera.save()
    if secondary is not None:
        set_secondary_purposes(camera, secondary)
    return camera


def set_secondary_purposes(camera: Camera, purposes: Iterable[str]) -> None:
    wanted = {p for p in purposes if p != camera.primary_purpose}
    unknown = wanted - set(Purpose.values())
    if unknown:
        raise ValidationError(
            {"secondary_purposes": _("Unknown purpose: %(p)s") % {"p": ", ".join(sorted(unknown))}}
        )
    camera.secondary_purposes.exclude(purpose__in=wanted).delete()
    have = set(camera.secondary_purposes.values_list("purpose", flat=True))
    SecondaryPurpose.objects.bulk_create(
        [SecondaryPurpose(camera=camera, purpose=p) for p in sorted(wanted - have)]
    )


@transaction.atomic
def set_camera_status(camera: Camera, status: str, *, by=None) -> Camera:
    if status not in CameraStatus.values():
        raise ValidationError({"status": _("Unknown camera status: %(s)s") % {"s": status}})
    if camera.status != status:
        camera.status = status
        camera.status_changed_at = timezone.now()
        camera.save(update_fields=["status", "status_changed_at", "updated_at"])
    return camera


@transaction.atomic
def update_purpose_expansion_notes(record: PurposeExpansion, notes: str, *, by=None) -> PurposeExpansion:
    """A recorded procedure is evidence: after recording, only its notes may change."""
    record.notes = notes
    record.save(update_fields=["notes"])
    return record


def check_purpose_expansion(
    *, purpose: str, started_on: dt.date, decided_on: dt.date, ended_on: dt.date | None, camera_ids: list[int]
) -> None:
    """The rules a purpose-expansion record must meet (forms call this too, to show them as errors)."""
    if purpose not in Purpose.values():
        raise ValidationError({"purpose": _("Unknown purpose: %(p)s") % {"p": purpose}})
    if ended_on and ended_on < started_on:
        raise ValidationError({"ended_on": _("The procedure cannot end before it starts.")})
    if decided_on < started_on:
        raise ValidationError({"decided_on": _("The decision cannot precede the procedure.")})
    if not camera_ids:
        raise ValidationError({"cameras": _("Choose at least one camera.")})
    primary = Camera.objects.filter(pk__in=camera_ids, primary_purpose=purpose).count()
    if primary == len(set(camera_ids)):
        raise ValidationError({"purpose": _("This is already the primary purpose of every chosen camera.")})


@transaction.atomic
def record_purpose_expansion(
    *,
    purpose: str,
    procedure: str,
    started_on: dt.date,
    decided_on: dt.date,
    document_number: str,
    approver: str,
    cameras: Iterable[Camera],
    ended_on: dt.date | None = None,
    notes: str = "",
    by=None,
) -> PurposeExpansion:
    """Record a lawful purpose-expansion procedure; it activates `purpose` on `cameras`."""
    camera_ids = [c.pk for c in cameras]
    check_purpose_expansion(
        purpose=purpose,
        started_on=started_on,
        decided_on=decided_on,
        ended_on=ended_on,
        camera_ids=camera_ids,
    )
    record = PurposeExpansion(
        purpose=purpose,
        procedure=procedure,
        started_on=started_on,
        ended_on=ended_on,
        decided_on=decided_on,
        document_number=document_number,
        approver=approver,
        notes=notes,
        created_by=by,
    )
    _validate(record, exclude=["created_by"])
    record.save()
    existing = set(
        SecondaryPurpose.objects.filter(camera_id__in=camera_ids, purpose=purpose).values_list(
            "camera_id", flat=True
        )
    )
    SecondaryPurpose.objects.filter(camera_id__in=camera_ids, purpose=purpose).update(expansion=record)
    new_ids = (
        set(
            Camera.objects.filter(pk__in=camera_ids)
            .exclude(primary_purpose=purpose)
            .values_list("pk", flat=True)
        )
        - existing
    )
    SecondaryPurpose.objects.bulk_create(
        [SecondaryPurpose(camera_id=cid, purpose=purpose, expansion=record) for cid in sorted(new_ids)]
    )
    return record


@transaction.atomic
def delete_camera(camera: Camera, *, by=None) -> None:
    camera.delete()


@transaction.atomic
def delete_site(site: Site, *, by=None) -> None:
    site.delete()


def apply_stream_url(camera: Camera, field: str, new_value: str | None, *, clear: bool = False) -> None:
    """Stream URLs are write-only: a blank input keeps the stored URL; `clear` removes it."""
    if field not in ("main_stream_url", "sub_stream_url"):
        raise ValueError(field)
    if new_value:
        setattr(camera, field, new_value.strip())
    elif clear:
        setattr(camera, field, "")


@transaction.atomic
def point_cameras_at(urls: list[tuple[str, str]], *, replaceable_prefix: str, by=None) -> list[Camera]:
    """Demo wiring: give the first len(urls) centrally recorded cameras (sites without 현장저장, by
    site code then number; retired cameras left out) the (main, sub) stream URLs in `urls`, in order.

    Only cameras whose stream URLs are blank or start with `replaceable_prefix` (e.g. the
    simulator's "rtsp://127.0.0.1:8554/") are touched: a camera with any other URL is skipped,
    and cameras beyond the first len(urls) that still point under the prefix are cleared (a run
    with fewer simulated cameras). Idempotent. Returns the cameras that were changed."""
    changed = []
    pending = list(urls)
    cameras = (
        Camera.objects.filter(site__has_onsite_storage=False)
        .exclude(status=CameraStatus.RETIRED)
        .select_related("site")
        .order_by("site__code", "number")
    )
    for camera in cameras.iterator(chunk_size=500):
        current = (camera.main_stream_url or "", camera.sub_stream_url or "")
        if not all(url == "" or url.startswith(replaceable_prefix) for url in current):
            continue
        wanted = pending.pop(0) if pending else ("", "")
        if current == wanted:
            continue
        camera.main_stream_url, camera.sub_stream_url = wanted
        camera.save(update_fields=["main_stream_url", "sub_stream_url", "updated_at"])
        changed.append(camera)
    return changed
