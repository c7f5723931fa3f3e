"""The grant check the choke point asks (`core.access`); free of the audit module's imports."""

from __future__ import annotations

from gwanje.situations.choices import IncidentStatus
from gwanje.situations.models import VideoGrant


def active_grant(user, camera, start, end, now):
    """The grant that lets `user` see `camera` now (and the recorded period start–end), or None."""
    qs = VideoGrant.objects.filter(
        user=user,
        cameras=camera,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).exclude(incident__status__in=IncidentStatus.FINISHED)
    if start is not None:
        qs = qs.filter(window_start__lte=start)
    if end is not None:
        qs = qs.filter(window_end__gte=end)
    return qs.select_related("incident").order_by("-expires_at").first()
