"""Legal holds (법적 보존): a camera's recorded video of a period kept for an investigation.

Retention (gwanje.video.retention) never deletes a segment that overlaps an unreleased hold of its
camera — whatever the hold's `expires_at` says: an expired hold is only flagged for review, a
person releases it. Placing and releasing need the `video.holds` action and are written to the
access log (place: action "grant", release: action "delete") in the same transaction as the change.

Both lock the camera row, as the retention job does for each camera, so a hold placed while the
job runs is either seen by it or placed after the deletion (never lost in between).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from gwanje.core import permissions
from gwanje.video.models import LegalHold, Segment

MIN_REASON = 5
MAX_CASE_NUMBER = 60


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hold_subject(hold: LegalHold) -> str:
    """The access-log subject of a hold: `hold:12 camera:345 2026-11-24T01:00:00Z/2026-11-24T02:00:00Z`."""
    return f"hold:{hold.pk} camera:{hold.camera_id} {_iso(hold.start)}/{_iso(hold.end)}"


def visible_cameras(user):
    from gwanje.registry.models import Camera

    return permissions.restrict(user, "registry.view", Camera.objects.all())


def visible_holds(user) -> QuerySet[LegalHold]:
    """Holds of the cameras the user may see (none without `video.holds`)."""
    if not permissions.allowed(user, "video.holds"):
        return LegalHold.objects.none()
    return LegalHold.objects.filter(camera__in=visible_cameras(user).values("pk"))


def unreleased(camera=None) -> QuerySet[LegalHold]:
    """Holds in force (not released; expired ones included — they only need review)."""
    qs = LegalHold.objects.filter(released_at__isnull=True)
    return qs.filter(camera=camera) if camera is not None else qs


def due_for_review(now: dt.datetime | None = None) -> QuerySet[LegalHold]:
    """Unreleased holds whose review date has passed: still protecting video, flagged for a person."""
    return unreleased().filter(expires_at__lt=now or timezone.now())


def held_segments(hold: LegalHold) -> QuerySet[Segment]:
    return Segment.objects.filter(camera_id=hold.camera_id, start__lt=hold.end, end__gt=hold.start)


def place_hold(
    user,
    camera,
    start: dt.datetime,
    end: dt.datetime,
    reason: str,
    case_number: str = "",
    expires_at: dt.datetime | None = None,
    request=None,
) -> LegalHold:
    """Hold `camera`'s video from `start` to `end`: retention will not delete it until released.

    Raises PermissionDenied without `video.holds`, ValidationError (by field) for bad input."""
    from gwanje.audit import services as audit
    from gwanje.registry.models import Camera

    permissions.require(user, "video.holds")
    now = timezone.now()
    errors: dict[str, str] = {}
    reason = " ".join((reason or "").split())
    case_number = " ".join((case_number or "").split())
    if len(reason) < MIN_REASON:
        errors["reason"] = _("Say why the video must be kept (at least %(n)s characters).") % {
            "n": MIN_REASON
        }
    if len(case_number) > MAX_CASE_NUMBER:
        errors["case_number"] = _("The case number is at most %(n)s characters.") % {"n": MAX_CASE_NUMBER}
    for name, value in (("start", start), ("end", end), ("expires_at", expires_at)):
        if value is not None and (not isinstance(value, dt.datetime) or timezone.is_naive(value)):
            errors[name] = _("Give a date and time with a time zone.")
    if start is None:
        errors["start"] = _("Give the start of the period.")
    if end is None:
        errors["end"] = _("Give the end of the period.")
    if not errors:
        if start >= end:
            errors["end"] = _("The period must end after it starts.")
        elif end > now:
            errors["end"] = _("The period cannot lie in the future: only recorded video can be held.")
        if expires_at is not None and expires_at <= now:
            errors["expires_at"] = _("The review date must be in the future.")
    if camera is None or not visible_cameras(user).filter(pk=camera.pk).exists():
        errors["camera"] = _("No such camera.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # The retention job locks the camera row too (see the module docstring).
        Camera.objects.select_for_update().filter(pk=camera.pk).first()
        hold = LegalHold.objects.create(
            camera=camera,
            start=start,
            end=end,
            case_number=case_number,
            reason=reason,
            owner=user,
            expires_at=expires_at,
        )
        audit.record_access(
            user=user,
            action="grant",
            subject_type="legal_hold",
            subject=hold_subject(hold),
            reason=reason,
            legal_basis=f"case {case_number}" if case_number else "",
            request=request,
        )
    return hold


def release_hold(user, hold: LegalHold, request=None) -> LegalHold:
    """Release a hold: its video falls back under the camera's retention period (the next retention
    run deletes what is past it)."""
    from gwanje.audit import services as audit

    permissions.require(user, "video.holds")
    if not visible_holds(user).filter(pk=hold.pk).exists():
        raise ValidationError({"hold": _("No such legal hold.")})
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if hold.released_at is not None:
            raise ValidationError({"hold": _("This legal hold has already been released.")})
        hold.released_at = timezone.now()
        hold.released_by = user
        hold.save(update_fields=["released_at", "released_by"])
        audit.record_access(
            user=user,
            action="delete",
            subject_type="legal_hold",
            subject=hold_subject(hold),
            reason="legal hold released",
            legal_basis=f"case {hold.case_number}" if hold.case_number else "",
            request=request,
        )
    return hold
