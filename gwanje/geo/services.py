"""All writes to map layers (idempotent upserts keyed by natural codes)."""

from __future__ import annotations

from django.contrib.gis.geos import MultiPolygon, Point
from django.db import transaction

from gwanje.geo.models import AdminDong, ChildProtectionZone, District, PoliceOffice


@transaction.atomic
def upsert_district(*, code: str, name: str, geom: MultiPolygon, name_en: str = "") -> District:
    return District.objects.update_or_create(
        code=code, defaults={"name": name, "name_en": name_en, "geom": geom}
    )[0]


@transaction.atomic
def upsert_dong(
    *, code: str, name: str, district: District, geom: MultiPolygon, full_name: str = ""
) -> AdminDong:
    return AdminDong.objects.update_or_create(
        code=code, defaults={"name": name, "full_name": full_name, "district": district, "geom": geom}
    )[0]


@transaction.atomic
def upsert_police_office(*, name: str, address: str, point: Point) -> PoliceOffice:
    return PoliceOffice.objects.update_or_create(address=address, defaults={"name": name, "point": point})[0]


@transaction.atomic
def upsert_child_protection_zone(
    *, external_id: str, facility_name: str, facility_kind: str, address: str, point: Point
) -> ChildProtectionZone:
    return ChildProtectionZone.objects.update_or_create(
        external_id=external_id,
        defaults={
            "facility_name": facility_name,
            "facility_kind": facility_kind,
            "address": address,
            "point": point,
        },
    )[0]
