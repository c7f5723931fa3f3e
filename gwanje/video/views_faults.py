"""The camera-faults page (`video.faults`): open faults first (reason, since), recently recovered
ones, recording gaps and open video alarms. One view serves the page and, for htmx, the
fragment it refreshes every 10 s (sent with X-Gwanje-Poll, so polling is not user activity)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from gwanje.core import permissions
from gwanje.registry.models import Camera
from gwanje.video.choices import FaultReason
from gwanje.video.models import CameraFault, RecordingGap, VideoAlarm

RECENT_DAYS = 7
LIMIT = 100


def duration_text(delta: dt.timedelta) -> str:
    """A short length: "45 s", "12 min 5 s", "3 h 20 min", "2 d 4 h"."""
    total = max(0, int(delta.total_seconds()))
    d, rest = divmod(total, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    if d:
        return _("%(d)s d %(h)s h") % {"d": d, "h": h}
    if h:
        return _("%(h)s h %(m)s min") % {"h": h, "m": m}
    if m:
        return _("%(m)s min %(s)s s") % {"m": m, "s": s}
    return _("%(s)s s") % {"s": s}


def faults_context(user, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    since = now - dt.timedelta(days=RECENT_DAYS)
    cameras = permissions.restrict(user, "video.faults", Camera.objects.all()).values("pk")
    faults = CameraFault.objects.filter(camera__in=cameras).select_related("camera__site")
    open_faults = list(faults.filter(ended_at__isnull=True).order_by("started_at", "id")[: LIMIT * 10])
    closed = list(faults.filter(ended_at__gte=since).order_by("-ended_at", "-id")[:LIMIT])
    gaps = RecordingGap.objects.filter(camera__in=cameras).select_related("camera__site")
    gaps = list(gaps.filter(end__isnull=True).order_by("start", "id")[: LIMIT * 10]) + list(
        gaps.filter(end__gte=since).order_by("-end", "-id")[:LIMIT]
    )  # ongoing first
    open_by_reason = (
        CameraFault.objects.filter(camera__in=cameras, ended_at__isnull=True)
        .order_by()
        .values("reason")
        .annotate(n=Count("id"))
    )
    by_reason = {row["reason"]: row["n"] for row in open_by_reason}
    summary = [
        {"value": r["value"], "label": r["label"], "colour": r["colour"], "count": by_reason[r["value"]]}
        for r in FaultReason.legend()
        if by_reason.get(r["value"])
    ]
    for f in open_faults:
        f.colour, f.lasted = FaultReason.colour(f.reason), duration_text(now - f.started_at)
    for f in closed:
        f.colour, f.lasted = FaultReason.colour(f.reason), duration_text(f.ended_at - f.started_at)
    for g in gaps:
        g.lasted = duration_text((g.end or now) - g.start)
    return {
        "now": now,
        "open_faults": open_faults,
        "open_count": sum(by_reason.values()),
        "summary": summary,
        "closed_faults": closed,
        "gaps": gaps,
        "alarms": list(VideoAlarm.objects.filter(cleared_at__isnull=True).order_by("-raised_at")),
        "recent_days": RECENT_DAYS,
    }


@permissions.requires("video.faults")
@require_GET
def faults(request):
    context = faults_context(request.user)
    if request.htmx:
        return render(request, "video/faults_content.html", context)
    return render(request, "video/faults.html", context)
