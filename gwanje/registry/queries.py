"""Read helpers of the registry."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from gwanje.registry.models import Camera, SecondaryPurpose


def active_purpose_q(purpose: str) -> Q:
    """Cameras usable for `purpose`: primary, or secondary with a purpose-expansion record."""
    active_secondary = SecondaryPurpose.objects.filter(
        camera=OuterRef("pk"), purpose=purpose, expansion__isnull=False
    )
    return Q(primary_purpose=purpose) | Q(Exists(active_secondary))


def cameras_for_display(qs: QuerySet[Camera] | None = None) -> QuerySet[Camera]:
    qs = Camera.objects.all() if qs is None else qs
    return qs.select_related("site", "site__department", "site__dong").prefetch_related(
        Prefetch("secondary_purposes", queryset=SecondaryPurpose.objects.select_related("expansion"))
    )


def active_purposes(camera: Camera) -> list[str]:
    """Primary purpose first, then secondary purposes that a purpose-expansion record covers."""
    out = [camera.primary_purpose]
    out += [sp.purpose for sp in camera.secondary_purposes.all() if sp.is_active and sp.purpose not in out]
    return out


def counts_by_department(qs: QuerySet[Camera]) -> list[dict]:
    return list(
        qs.values("site__department__name")
        .annotate(cameras=Count("id"), sites=Count("site", distinct=True))
        .order_by("site__department__name")
    )
