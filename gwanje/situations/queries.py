"""Read helpers of the situations app (no writes)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from gwanje.core import permissions
from gwanje.geo.queries import nearest
from gwanje.registry.choices import CameraStatus
from gwanje.registry.models import Camera
from gwanje.situations.choices import IncidentKind, IncidentStatus
from gwanje.situations.models import Incident
from gwanje.situations.services.workflow import parties_of

NEAREST = 8
NEAREST_RADIUS_M = 1000


def incidents_for(user, *, open_only: bool = False, mine: bool = False) -> QuerySet:
    qs = permissions.restrict(user, "incidents.view", Incident.objects.all())
    if open_only:
        qs = qs.exclude(status__in=IncidentStatus.FINISHED)
    if mine:
        parties = parties_of(user)
        early = [IncidentStatus.NEW, IncidentStatus.ACKNOWLEDGED, IncidentStatus.CONFIRMED]
        qs = qs.filter(
            Q(status__in=early, first_party__in=parties)
            | (~Q(status__in=early) & Q(responder_party__in=parties))
        )
    return qs.select_related("opened_by").prefetch_related("escalations")


def has_personal_data(incident: Incident) -> bool:
    """SOS subjects and their track, plates and event images are personal information: showing
    them is written to the access log."""
    return incident.kind in (IncidentKind.SOS, IncidentKind.PLATE) or incident.images.exists()


def nearest_cameras(user, incident: Incident) -> list[dict]:
    qs = permissions.restrict(user, "registry.view", Camera.objects.exclude(status=CameraStatus.RETIRED))
    lon, lat = incident.point.coords
    return [
        {
            "id": hit.obj.pk,
            "label": hit.obj.label,
            "distance_m": round(hit.distance_m),
            "status": hit.obj.status,
            "status_colour": CameraStatus.colour(hit.obj.status),
        }
        for hit in nearest(qs.select_related("site"), lon, lat, n=NEAREST, radius_m=NEAREST_RADIUS_M)
    ]


def track(incident: Incident) -> list[list]:
    return [
        [round(p.point.x, 7), round(p.point.y, 7), p.at.isoformat()]
        for p in incident.positions.order_by("at", "id")
    ]
