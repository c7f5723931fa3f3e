"""All writes to incidents and video grants.

A grant (agreement Art. 9⑤) lets one police user view the video of the cameras within a radius of
an open incident until it expires (default 2 h), is revoked, or the incident closes — whichever
comes first. Creating one is itself an access-log record (action "grant") and a permission-change
record; revoking one and closing its incident are permission changes.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gwanje.audit import services as audit
from gwanje.core import permissions
from gwanje.geo.queries import in_korea, nearest
from gwanje.registry.choices import CameraStatus
from gwanje.registry.models import Camera
from gwanje.situations.choices import GrantState, IncidentStatus
from gwanje.situations.models import (
    DEFAULT_GRANT_HOURS,
    DEFAULT_GRANT_RADIUS_M,
    Incident,
    VideoGrant,
    YearCounter,
)

MIN_REASON = 5
MAX_GRANT_HOURS = 4
MAX_LOOKBACK = dt.timedelta(hours=24)  # recorded video from at most a day before the incident
LEGAL_BASIS = "협약 제9조⑤"


def _next_number(now: dt.datetime) -> str:
    year = timezone.localtime(now).year
    YearCounter.objects.get_or_create(year=year)
    YearCounter.objects.filter(year=year).update(last=F("last") + 1)  # locks the row until commit
    last = YearCounter.objects.get(year=year).last
    return f"{year}-{last:06d}"


@transaction.atomic
def open_incident(*, user, title: str, lon: float, lat: float, address: str = "") -> Incident:
    permissions.require(user, "incidents.manage")
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": _("Give the incident a title.")})
    if not in_korea(lon, lat):
        raise ValidationError(
            {"point": _("The location is outside Korea (latitude 33–39, longitude 124–132).")}
        )
    now = timezone.now()
    return Incident.objects.create(
        number=_next_number(now),
        title=title[:200],
        point=Point(lon, lat, srid=4326),
        address=(address or "")[:200],
        opened_at=now,
        opened_by=user,
    )


@transaction.atomic
def close_incident(*, user, incident: Incident, request=None) -> Incident:
    """Close an incident; its grants end at once (each recorded as expired)."""
    permissions.require(user, "incidents.manage")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if not incident.is_open:
        raise ValidationError(_("The incident is already closed."))
    now = timezone.now()
    active = [g for g in incident.grants.select_related("user") if g.state(now) == GrantState.ACTIVE]
    incident.status, incident.closed_at, incident.closed_by = IncidentStatus.CLOSED, now, user
    incident.save(update_fields=["status", "closed_at", "closed_by"])
    for grant in active:
        audit.record_change(
            actor=user,
            action="grant_expired",
            subject_user=grant.user,
            target=f"grant:{grant.pk}",
            before={"state": GrantState.ACTIVE},
            after={"state": GrantState.INCIDENT_CLOSED, "incident": incident.number},
            request=request,
        )
    return incident


def cameras_near(incident: Incident, radius_m: int) -> list[Camera]:
    lon, lat = incident.point.coords
    qs = Camera.objects.exclude(status=CameraStatus.RETIRED)
    return [h.obj for h in nearest(qs, lon, lat, n=10_000, radius_m=radius_m)]


@transaction.atomic
def create_grant(
    *,
    user,
    incident: Incident,
    reason: str,
    radius_m: int = DEFAULT_GRANT_RADIUS_M,
    hours: float = DEFAULT_GRANT_HOURS,
    window_start: dt.datetime | None = None,
    window_end: dt.datetime | None = None,
    request=None,
) -> VideoGrant:
    permissions.require(user, "grants.create")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    errors = {}
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON:
        errors["reason"] = _("Say why you need the video (at least %(n)s characters).") % {"n": MIN_REASON}
    if not 50 <= radius_m <= 5000:
        errors["radius_m"] = _("The radius must be 50–5,000 m.")
    if not 0 < hours <= MAX_GRANT_HOURS:
        errors["hours"] = _("A grant lasts at most %(n)s hours.") % {"n": MAX_GRANT_HOURS}
    if not incident.is_open:
        errors["incident"] = _("The incident is closed: no new video grants.")
    elif any(
        g.state() == GrantState.ACTIVE for g in incident.grants.filter(user=user, revoked_at__isnull=True)
    ):
        # One live grant per user and incident: a wider radius or a longer time means revoking the
        # current one first, so every grant's reason stays on record.
        errors["incident"] = _("You already hold an active video grant for this incident; revoke it first.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    expires_at = now + dt.timedelta(hours=hours)
    window_start = window_start or incident.opened_at - dt.timedelta(hours=1)
    window_end = window_end or expires_at
    if window_start >= window_end:
        raise ValidationError({"window_start": _("The video period must start before it ends.")})
    if window_start < incident.opened_at - MAX_LOOKBACK or window_end > expires_at:
        raise ValidationError(
            {
                "window_start": _(
                    "The video period must lie between a day before the incident and the grant's expiry."
                )
            }
        )
    cameras = cameras_near(incident, radius_m)
    if not cameras:
        raise ValidationError(
            {"radius_m": _("No camera lies within %(m)s m of the incident.") % {"m": radius_m}}
        )
    grant = VideoGrant.objects.create(
        incident=incident,
        user=user,
        reason=reason,
        radius_m=radius_m,
        window_start=window_start,
        window_end=window_end,
        created_at=now,
        expires_at=expires_at,
    )
    grant.cameras.set(cameras)
    audit.record_access(
        user=user,
        action="grant",
        subject_type="incident",
        subject=f"incident:{incident.number} grant:{grant.pk} cameras:{len(cameras)} radius:{radius_m}m",
        reason=reason,
        legal_basis=LEGAL_BASIS,
        request=request,
    )
    audit.record_change(
        actor=user,
        action="grant_created",
        subject_user=user,
        target=f"grant:{grant.pk}",
        after={
            "incident": incident.number,
            "cameras": len(cameras),
            "radius_m": radius_m,
            "expires_at": expires_at.isoformat(),
            "window": [window_start.isoformat(), window_end.isoformat()],
        },
        request=request,
    )
    return grant


def can_revoke(user, grant: VideoGrant) -> bool:
    return grant.user_id == user.pk or permissions.allowed(user, "grants.revoke")


@transaction.atomic
def revoke_grant(*, actor, grant: VideoGrant, reason: str = "", request=None) -> VideoGrant:
    grant = VideoGrant.objects.select_for_update().select_related("incident").get(pk=grant.pk)
    if not can_revoke(actor, grant):
        raise PermissionDenied(_("You may revoke only your own grants."))
    state = grant.state()
    if state != GrantState.ACTIVE:
        raise ValidationError(
            _("The grant has already ended (%(state)s).") % {"state": GrantState.label(state)}
        )
    grant.revoked_at, grant.revoked_by = timezone.now(), actor
    grant.revoke_reason = " ".join((reason or "").split())[:200]
    grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit.record_change(
        actor=actor,
        action="grant_revoked",
        subject_user=grant.user,
        target=f"grant:{grant.pk}",
        before={"state": GrantState.ACTIVE},
        after={"state": GrantState.REVOKED, "reason": grant.revoke_reason},
        request=request,
    )
    return grant


def visible_grants(user):
    """Every grant for supervisors; a police user's own otherwise; none for anyone else."""
    qs = VideoGrant.objects.select_related("incident", "user", "user__organisation", "revoked_by")
    if permissions.allowed(user, "grants.view_all"):
        return qs
    if permissions.allowed(user, "grants.create"):
        return qs.filter(user=user)
    return qs.none()
