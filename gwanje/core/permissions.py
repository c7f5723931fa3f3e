"""The one permission choke point (DESIGN rule 2): deny by default.

Every view, API endpoint, admin action, export, command and job asks here:
- `allowed(user, action)`   -> bool, from the roles x actions MATRIX below;
- `require(user, action)`   -> raises PermissionDenied;
- `restrict(user, action, queryset)` -> the rows this user may touch for that action
  (empty when the action is not allowed; narrowed by the model's registered row scope).

The matrix is code. `gwanje permissions-matrix` renders it into docs/permissions.md and a test
fails when that file is stale.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _

from gwanje.accounts.roles import Role

# --- actions ------------------------------------------------------------------------------
# (code, description) - the description is shown in docs/permissions.md.
ACTIONS: dict[str, Any] = {
    "registry.view": _("View sites and cameras (registry data, map)"),
    "registry.change": _("Create and edit sites and cameras"),
    "registry.delete": _("Delete sites and cameras"),
    "registry.import": _("Import camera lists"),
    "registry.export": _("Export the camera registry"),
    "registry.purpose_expansion": _("Record purpose-expansion procedures"),
    "geo.view": _("View map layers (boundaries, police offices, zones)"),
    "geo.change": _("Edit map layers"),
    "accounts.view": _("View organisations and accounts"),
    "accounts.manage": _("Create and change accounts, organisations and roles"),
    "admin.access": _("Use the back-office (Django admin)"),
    "api.token": _("Issue API tokens for integrations"),
    # Video is personal information: police roles only under an incident grant (Art. 9⑤), and every
    # view is written to the access log.
    "video.live": _("Watch live video"),
    "video.playback": _("Play back recorded video"),
    "video.export": _("Export or download recorded video clips"),
    "video.snapshot": _("Save a snapshot (JPEG) of live or recorded video for an incident report"),
    "video.faults": _("See camera health, recording faults and video alarms"),
    "video.holds": _("Place and release legal holds on recorded video"),
    "incidents.view": _("View incidents"),
    "incidents.manage": _("Open incidents by hand and close any incident"),
    "incidents.handle": _("Take incident workflow steps, as the division of duties assigns them"),
    "duty.manage": _("Edit the division of duties (Annex 2) and its SLA timers"),
    "intake.view": _("See event devices and the dead letters of event intake"),
    "intake.manage": _("Register event devices and their credentials"),
    "grants.create": _("Request an incident-bound video grant (police)"),
    "grants.view_all": _("See every video grant, live"),
    "grants.revoke": _("Revoke any video grant"),
    "audit.view": _("View the access log, login events and permission-change history"),
    "audit.review": _("Record the monthly access-log review"),
    "audit.export": _("Export the access log and reviews (XLSX/CSV)"),
}

R = Role
_VIEW = {"registry.view", "geo.view"}
_WATCH = {"video.live", "video.playback", "video.snapshot", "incidents.view"}
# Police roles: every video action is further bound to an open incident grant (see GRANT_BOUND).
_POLICE = _VIEW | _WATCH | {"grants.create"}
# The stationed officer and the 112 room judge, dispatch and close (Art. 10); investigators only look.
_POLICE_DUTY = _POLICE | {"incidents.handle"}
MATRIX: dict[str, set[str]] = {
    R.MONITORING_AGENT: _VIEW | _WATCH | {"incidents.manage", "incidents.handle", "video.faults"},
    R.SUPERVISOR: _VIEW
    | _WATCH
    | {
        "registry.export",
        "accounts.view",
        "video.export",
        "video.faults",
        "video.holds",
        "incidents.manage",
        "incidents.handle",
        "duty.manage",
        "intake.view",
        "grants.view_all",
        "grants.revoke",
        "audit.view",
        "audit.review",
        "audit.export",
    },
    R.IT_ADMIN: _VIEW
    | {
        "registry.change",
        "registry.delete",
        "registry.import",
        "registry.export",
        "registry.purpose_expansion",
        "geo.change",
        "accounts.view",
        "accounts.manage",
        "admin.access",
        "video.faults",
        "intake.view",
        "intake.manage",
    },
    # Row-scoped to the manager's own department (see the registry's scopes).
    R.DEPARTMENT_MANAGER: _VIEW | {"registry.change", "registry.import", "registry.export"},
    R.POLICE_STATIONED: _POLICE_DUTY,
    R.POLICE_112: _POLICE_DUTY,
    R.POLICE_INVESTIGATOR: _POLICE | {"video.export"},
    # Maintenance contractors fix cameras: they see faults, not video; by day they answer emergency
    # bells first (Annex 2), so they see and handle the incidents routed to maintenance (row scope).
    R.CONTRACTOR: _VIEW | {"video.faults", "incidents.view", "incidents.handle"},
    R.SYSTEM_ADMIN: set(ACTIONS),
}
# Roles whose video actions need a live incident grant for the camera (agreement Art. 9⑤).
GRANT_BOUND_ROLES = Role.POLICE
VIDEO_ACTIONS = frozenset({"video.live", "video.playback", "video.export", "video.snapshot"})
# Roles that may do any of these must sign in with a second factor (TOTP).
MFA_ACTIONS = VIDEO_ACTIONS | {"accounts.manage"}

# Sanity: the matrix names only known actions and roles.
assert all(a in ACTIONS for actions in MATRIX.values() for a in actions)
assert set(MATRIX) == set(Role.values())

# --- row scopes -----------------------------------------------------------------------------
Scope = Callable[[Any, str, QuerySet], QuerySet]
_SCOPES: dict[type[Model], Scope] = {}


def register_scope(model: type[Model], scope: Scope) -> None:
    """Register how rows of `model` are narrowed for a user (called from AppConfig.ready)."""
    _SCOPES[model] = scope


def roles_of(user) -> frozenset[str]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_gwanje_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._gwanje_roles = cached
    return cached


def allowed(user, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return any(action in MATRIX.get(role, ()) for role in roles_of(user))


def require(user, action: str) -> None:
    if not allowed(user, action):
        raise PermissionDenied(_("You do not have permission for this action."))


def restrict(user, action: str, queryset: QuerySet) -> QuerySet:
    if not allowed(user, action):
        return queryset.none()
    if user.is_superuser:
        return queryset
    scope = _SCOPES.get(queryset.model)
    return scope(user, action, queryset) if scope else queryset


def requires(*actions: str):
    """Decorator of a page view: login required, then every action in `actions` must be allowed
    (403 otherwise). The actions are kept on the view as `permission_actions`, so a test can check
    that every route declares what it needs."""
    from functools import wraps

    from django.contrib.auth.decorators import login_required

    for action in actions:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")

    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            for action in actions:
                require(request.user, action)
            return view(request, *args, **kwargs)

        wrapped = login_required(checked)
        wrapped.permission_actions = {"read": actions[0], "write": actions[-1]} if actions else {}
        return wrapped

    return decorate


def declares(*actions: str):
    """Decorator of a view that checks its actions itself (a JSON endpoint answering 403 in the
    API's error format): records them as `permission_actions` for the route test."""
    for action in actions:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")

    def decorate(view):
        view.permission_actions = {"read": actions[0], "write": actions[-1]}
        return view

    return decorate


def requires_mfa(user) -> bool:
    """True when the account must use a second factor: it may watch or export video or manage
    accounts (or is a superuser)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or any(allowed(user, action) for action in MFA_ACTIONS)


def is_scoped_to_department(user) -> bool:
    """True when every role of the user that grants registry rights is department-scoped."""
    roles = roles_of(user)
    return bool(roles) and not user.is_superuser and roles <= {Role.DEPARTMENT_MANAGER}


class ActionsFor:
    """Template helper: {% if can.registry_change %} ... (dots become underscores)."""

    def __init__(self, user) -> None:
        self._user = user

    def __getattr__(self, name: str) -> bool:
        if name.startswith("_"):
            raise AttributeError(name)
        action = name.replace("_", ".", 1)
        return action in ACTIONS and allowed(self._user, action)


def matrix_markdown() -> str:
    """docs/permissions.md, generated from MATRIX (gwanje permissions-matrix)."""
    from django.utils import translation

    roles = Role.values()
    with translation.override("en"):
        head = "| action | " + " | ".join(f"{Role.label(r)}<br>`{r}`" for r in roles) + " |"
        lines = [
            "# Permissions matrix",
            "",
            "Generated by `gwanje permissions-matrix` from `gwanje/core/permissions.py`; do not edit.",
            "Deny by default: an action not marked here is refused. Superusers may do everything.",
            "`scoped` = only rows of the user's own department.",
            "",
            head,
            "|---|" + "---|" * len(roles),
        ]
        for action, description in ACTIONS.items():
            cells = []
            for r in roles:
                mark = ""
                if action in MATRIX[r]:
                    mark = (
                        "scoped" if r == Role.DEPARTMENT_MANAGER and action.startswith("registry.") else "yes"
                    )
                cells.append(mark)
            lines.append(f"| `{action}` — {description} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
