"""Every route declares the choke-point action(s) it needs (deny by default, DESIGN rule 2).

A new page or API endpoint that neither declares `permission_actions` (the `permissions.requires`
or `permissions.declares` decorators, or `permission_actions` on an API view behind
ChokePointPermission) nor is listed below with a reason breaks the build."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

from gwanje.core import permissions
from gwanje.core.api import ChokePointPermission

# Routes open without an action, and why.
OPEN = {
    "accounts/login/": "the login page",
    "accounts/logout/": "logging out",
    "i18n/setlang/": "choosing the language",
    "jsi18n/": "the JavaScript translation catalogue",
    "api/v1/schema/": "the OpenAPI schema: logged-in users, no data",
    "api/v1/docs/": "Swagger UI: logged-in users, no data",
    "api/v1/events/<slug:kind>/": "device webhooks: signed by the device's secret (HMAC), no user",
}
# Prefixes served by views that check for themselves: the admin site requires admin.access
# (GwanjeAdminSite.has_permission) and each admin the model's actions.
OPEN_PREFIXES = ("admin/",)
# Accounts pages every logged-in user needs for themselves (password, second factor).
OWN_ACCOUNT_PREFIX = "accounts/"


def _routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        pattern = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _routes(p, pattern)
        elif isinstance(p, URLPattern):
            yield pattern.lstrip("^").replace("\\Z", "").rstrip("$"), p.callback


def _declared(callback) -> dict:
    actions = getattr(callback, "permission_actions", None)
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if actions is None and cls is not None:
        if ChokePointPermission not in getattr(cls, "permission_classes", []):
            return {}
        actions = getattr(cls, "permission_actions", None)
    return actions or {}


def test_every_route_declares_its_actions_or_is_listed_open():
    missing, unknown, checked = [], [], 0
    for pattern, callback in _routes():
        if pattern in OPEN or pattern.startswith(OPEN_PREFIXES):
            continue
        if pattern.startswith(OWN_ACCOUNT_PREFIX) and getattr(callback, "own_account", False):
            continue
        actions = _declared(callback)
        checked += 1
        if not actions:
            missing.append(pattern)
        unknown += [f"{pattern}: {a}" for a in actions.values() if a not in permissions.ACTIONS]
    assert not missing, f"routes without a declared permission: {missing}"
    assert not unknown, unknown
    assert checked >= 15  # the walk reached the pages and the API


def test_the_open_list_names_only_routes_that_exist():
    patterns = {p for p, _cb in _routes()}
    assert set(OPEN) <= patterns, set(OPEN) - patterns
