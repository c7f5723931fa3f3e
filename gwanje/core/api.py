"""REST API plumbing shared by every app: choke-point permission, pagination, error bodies.

Error body (every 4xx from /api/v1/):
    {"errors": [{"field": "lat", "code": "invalid", "message": "..."}]}
`field` is null for errors not tied to one input field.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, pagination, permissions
from rest_framework.response import Response

from gwanje.core import permissions as choke

_SAFE = {"GET", "HEAD", "OPTIONS"}


class ChokePointPermission(permissions.BasePermission):
    """Asks gwanje.core.permissions for the action the view declares; deny by default.

    A view declares `permission_actions = {"read": "registry.view", "write": "registry.change"}`
    (optionally per DRF action name: {"nearest": "registry.view", ...}). A view that declares
    nothing is refused.
    """

    def has_permission(self, request, view) -> bool:
        actions: dict[str, str] = getattr(view, "permission_actions", {}) or {}
        name = getattr(view, "action", None)
        action = actions.get(name) if name else None
        if action is None:
            action = actions.get("read" if request.method in _SAFE else "write")
        if action is None:
            return False
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        return choke.allowed(request.user, action)


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


def _flatten(detail, field: str | None = None) -> list[dict]:
    out: list[dict] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "__all__", "detail") else key
            if field and name:
                name = f"{field}.{name}"
            out.extend(_flatten(value, name or field))
    elif isinstance(detail, list):
        for item in detail:
            out.extend(_flatten(item, field))
    else:
        code = getattr(detail, "code", None) or "invalid"
        out.append({"field": field, "code": code, "message": str(detail)})
    return out


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    from rest_framework.views import exception_handler as drf_exception_handler  # avoids an import cycle

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    errors = _flatten(response.data)
    for error in errors:
        if error["code"] == "invalid" and isinstance(exc, exceptions.APIException) and not isinstance(
            exc, exceptions.ValidationError
        ):
            error["code"] = exc.default_code
    response.data = {"errors": errors}
    return response


def error_response(status: int, message: str, *, field: str | None = None, code: str = "invalid") -> Response:
    return Response({"errors": [{"field": field, "code": code, "message": message}]}, status=status)
