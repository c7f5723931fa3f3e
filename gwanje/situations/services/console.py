"""The consoles' feed. A change an operator must see writes one ConsoleEvent in the same transaction
as the change; after commit, `notify()` wakes the web processes' hubs (the MQTT module registers a
hook that publishes a wake-up message; a hub also polls, so a lost wake-up only delays)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from gwanje.situations.choices import IncidentKind, IncidentStatus, Party
from gwanje.situations.models import ConsoleEvent, Incident

log = logging.getLogger(__name__)
_HOOKS: list[Callable[[int], None]] = []


def on_notify(fn: Callable[[int], None]) -> None:
    """Register fn(seq) to run after each commit that wrote console events (cheap, thread-safe)."""
    if fn not in _HOOKS:
        _HOOKS.append(fn)


def notify(seq: int) -> None:
    for fn in list(_HOOKS):
        try:
            fn(seq)
        except Exception:  # a wake-up is an optimisation: never fail the caller for it
            log.exception("console wake-up hook failed")


def summary(incident: Incident, *, escalations: list[str] | None = None) -> dict:
    """What every console shows of an incident. No plate numbers, SOS subject ids or images: those
    are on the incident page, whose views are logged."""
    lon, lat = incident.point.coords
    if escalations is None:
        escalations = [e.timer for e in incident.escalations.all() if e.cleared_at is None]
    return {
        "id": incident.pk,
        "number": incident.number,
        "kind": incident.kind,
        "kind_label": IncidentKind.label(incident.kind),
        "status": incident.status,
        "status_label": IncidentStatus.label(incident.status),
        "colour": IncidentStatus.colour(incident.status),
        "kind_colour": IncidentKind.colour(incident.kind),
        "title": incident.title,
        "lon": round(lon, 7),
        "lat": round(lat, 7),
        "address": incident.address,
        "opened_at": incident.opened_at.isoformat(),
        "last_event_at": incident.last_event_at.isoformat(),
        "updated_at": incident.updated_at.isoformat(),
        "event_count": incident.event_count,
        "first_party": incident.first_party,
        "responder_party": incident.responder_party,
        "current_party": incident.current_party,
        "current_party_label": Party.label(incident.current_party),
        "is_open": incident.is_open,
        "escalations": escalations,
        "position_count": incident.positions.count() if incident.kind == IncidentKind.SOS else 0,
        "url": reverse("situations:incident_detail", args=[incident.pk]),
    }


def publish(incident: Incident, event: str, *, escalations: list[str] | None = None) -> ConsoleEvent:
    """Write the feed row for this change (inside the caller's transaction) and wake the hubs after
    commit."""
    row = ConsoleEvent.objects.create(
        incident=incident, event=event, at=timezone.now(), payload=summary(incident, escalations=escalations)
    )
    transaction.on_commit(lambda: notify(row.pk))
    return row
