"""Logged access to personal information: the choke point's decision and its access-log record.

Video is personal information. Every video path (live, playback, export, snapshot) asks
`authorize_video()` (or `require_video()`), which decides with the permission matrix and, for police
roles, the incident-bound grant (agreement Art. 9⑤), and writes the access-log record — allowed or
denied — in one transaction. Relays of open streams re-check `video_decision()` (no record) so that
a grant that expires or is revoked cuts them off.

Call these outside a transaction that may roll back: a denied record must survive the refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gwanje.core import permissions

# (user, camera, start, end, now) -> the grant that allows it, or None; registered by situations.
GrantCheck = Callable[..., object | None]
_grant_check: GrantCheck | None = None

_LOG_ACTION = {
    "video.live": "view",
    "video.playback": "view",
    "video.export": "export",
    "video.snapshot": "download",
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # role | scope | grant | no_grant
    grant: object | None = None

    @property
    def legal_basis(self) -> str:
        if self.grant is None:
            return ""
        incident = self.grant.incident
        return f"grant:{self.grant.pk} incident:{incident.number} (협약 제9조⑤)"


def register_grant_check(check: GrantCheck) -> None:
    global _grant_check
    _grant_check = check


def needs_grant(user, action: str) -> bool:
    """True when the user may do `action` only through a grant: every role of theirs that allows
    it is a police role (a superuser or a district role never needs one)."""
    if user.is_superuser:
        return False
    giving = {r for r in permissions.roles_of(user) if action in permissions.MATRIX.get(r, ())}
    return bool(giving) and giving <= set(permissions.GRANT_BOUND_ROLES)


def video_decision(user, action: str, camera, *, start=None, end=None, now=None) -> Decision:
    """May `user` do `action` (video.live / video.playback / video.export) on `camera` (for
    recorded video: the period start–end)? No record is written."""
    if action not in permissions.VIDEO_ACTIONS:
        raise ValueError(f"not a video action: {action!r}")
    if not permissions.allowed(user, action):
        return Decision(False, "role")
    from gwanje.registry.models import Camera

    if not permissions.restrict(user, "registry.view", Camera.objects.filter(pk=camera.pk)).exists():
        return Decision(False, "scope")
    if action in ("video.playback", "video.export") and (start is None or end is None):
        raise ValueError("recorded video is decided for a period: give start and end")
    if needs_grant(user, action):
        if _grant_check is None:
            return Decision(False, "no_grant")
        grant = _grant_check(user, camera, start, end, now or timezone.now())
        return Decision(True, "grant", grant) if grant is not None else Decision(False, "no_grant")
    return Decision(True, "role")


def _iso(t) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t else ""


def _subject(camera, start, end) -> str:
    text = f"camera:{camera.pk} {camera.site.code}-{camera.number}"
    if start or end:
        text += f" {_iso(start)}/{_iso(end)}"
    return text


def authorize_video(
    user, action: str, camera, *, start=None, end=None, reason: str = "", request=None
) -> Decision:
    """Decide and write the access-log record (allowed or denied) in one transaction."""
    from gwanje.audit import services as audit

    decision = video_decision(user, action, camera, start=start, end=end)
    with transaction.atomic():
        audit.record_access(
            user=user,
            action=_LOG_ACTION[action],
            subject_type="camera",
            subject=_subject(camera, start, end),
            result="allowed" if decision.allowed else "denied",
            reason=reason or f"{action} ({decision.reason})",
            legal_basis=decision.legal_basis,
            request=request,
        )
    return decision


def require_video(user, action: str, camera, **kwargs) -> Decision:
    """`authorize_video`, raising PermissionDenied (403) when refused."""
    decision = authorize_video(user, action, camera, **kwargs)
    if not decision.allowed:
        if decision.reason == "no_grant":
            raise PermissionDenied(
                _("Police may view this camera's video only under an open incident's video grant.")
            )
        raise PermissionDenied(_("You do not have permission for this action."))
    return decision


def record_out_of_scope(request, model, pk, *, what: str = "view") -> None:
    """A request for a row that exists but lies outside the user's scope (another department's
    camera, another user's grant): answered 404 by the caller, and written to the access log as a
    denied attempt. Nothing is written for rows that do not exist."""
    from gwanje.audit import services as audit

    try:
        exists = model._default_manager.filter(pk=pk).exists()
    except (TypeError, ValueError):
        return
    if not exists:
        return
    label = model._meta.model_name
    with transaction.atomic():
        audit.record_access(
            user=request.user,
            action="view",
            subject_type=label,
            subject=f"{label}:{pk}",
            result="denied",
            reason=f"{what}: outside the user's scope",
            request=request,
        )


def visible_or_404(request, visible, pk, *, what: str = "view"):
    """`visible.get(pk=pk)`, or Http404 after `record_out_of_scope`."""
    from django.http import Http404

    try:
        return visible.get(pk=pk)
    except visible.model.DoesNotExist:
        record_out_of_scope(request, visible.model, pk, what=what)
        raise Http404 from None
