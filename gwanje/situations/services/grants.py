"""All writes to video grants.

A grant (agreement Art. 9⑤) lets one police user view the video of the cameras within a radius of
an open incident until it expires (default 2 h), is revoked, or the incident closes — whichever
comes first. Creating one is itself an access-log record (action "grant") and a permission-change
record; revoking one and closing its incident are permission changes.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gwanje.audit import services as audit
from gwanje.core import permissions
from gwanje.geo.queries import nearest
from gwanje.registry.choices import CameraStatus
from gwanje.registry.models import Camera
from gwanje.situations.choices import GrantState
from gwanje.situations.models import DEFAULT_GRANT_HOURS, DEFAULT_GRANT_RADIUS_M, Incident, VideoGrant

MIN_REASON = 5
MAX_GRANT_HOURS = 4
MAX_LOOKBACK = dt.timedelta(hours=24)  # recorded video from at most a day before the incident
LEGAL_BASIS = "협약 제9조⑤"


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


def end_grants_of(incident: Incident, *, actor, now, request=None) -> int:
    """The incident has finished: its active grants end now, each recorded as a permission change.
    Called by the workflow inside the closing transaction."""
    grants = incident.grants.select_related("user")
    active = [g for g in grants if g.revoked_at is None and now < g.expires_at]
    for grant in active:
        audit.record_change(
            actor=actor,
            action="grant_expired",
            subject_user=grant.user,
            target=f"grant:{grant.pk}",
            before={"state": GrantState.ACTIVE},
            after={"state": GrantState.INCIDENT_CLOSED, "incident": incident.number},
            request=request,
        )
    return len(active)
