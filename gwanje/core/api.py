"""REST API plumbing shared by every app: choke-point permission, pagination, error bodies.

Error body (every 4xx from /api/v1/):
    {"errors": [{"field": "lat", "code": "invalid", "message": "..."}]}
`field` is null for errors not tied to one input field.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_filters import utils as filter_utils
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, pagination, parsers, permissions, serializers
from rest_framework.response import Response

from gwanje.core import permissions as choke
from gwanje.core.choices import ChoiceSet

_SAFE = {"GET", "HEAD", "OPTIONS"}


def view_action(view, request) -> str | None:
    """The choke-point action a view declares for this request (None: the view declares none)."""
    actions: dict[str, str] = getattr(view, "permission_actions", {}) or {}
    name = getattr(view, "action", None)
    action = actions.get(name) if name else None
    if action is None:
        action = actions.get("read" if request.method in _SAFE else "write")
    return action


class RestrictedQuerysetMixin:
    """For API views: the queryset always goes through `restrict(user, action)` for the request's
    action (the same action ChokePointPermission checked), so rows outside the user's scope are 404."""

    def get_queryset(self):
        queryset = super().get_queryset()
        action = view_action(self, self.request)
        if action is None:
            return queryset.none()
        return choke.restrict(self.request.user, action, queryset)

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            from gwanje.core.access import record_out_of_scope

            lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
            record_out_of_scope(self.request, self.get_queryset().model, lookup, what=self.request.method)
            raise


class ChokePointPermission(permissions.BasePermission):
    """Asks gwanje.core.permissions for the action the view declares; deny by default.

    A view declares `permission_actions = {"read": "registry.view", "write": "registry.change"}`
    (optionally per DRF action name: {"nearest": "registry.view", ...}). A view that declares
    nothing is refused.
    """

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        if request.method not in view.allowed_methods:
            return True  # DRF answers 405 without running any handler
        action = view_action(view, request)
        if action is None:
            return False
        return choke.allowed(request.user, action)


_MAX_ID = 2**63 - 1


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, answering 400 (not 500) to bodies nested too deeply for Python's decoder."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON parse error - nested too deeply.")) from None


class FilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend that answers 400, not 500, to an id filter beyond the database's integer
    range (Django's `pk__in` raises OverflowError on SQLite and DataError on PostgreSQL for those)."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        errors = {
            name: [_("Select a valid choice; that id does not exist.")]
            for name, field in filterset.form.fields.items()
            if isinstance(field, forms.ModelChoiceField)
            and not all(_fits_id(v) for v in request.query_params.getlist(name))
        }
        if errors:
            raise exceptions.ValidationError(errors, code="invalid_choice")
        if not filterset.is_valid() and self.raise_exception:
            raise filter_utils.translate_validation(filterset.errors)
        return filterset.qs


def _fits_id(raw: str) -> bool:
    try:
        return abs(int(raw.strip())) <= _MAX_ID
    except ValueError:
        return True  # not an integer: the field's own validation answers


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
        if (
            error["code"] == "invalid"
            and isinstance(exc, exceptions.APIException)
            and not isinstance(exc, exceptions.ValidationError)
        ):
            error["code"] = exc.default_code
    response.data = {"errors": errors}
    return response


def error_response(status: int, message: str, *, field: str | None = None, code: str = "invalid") -> Response:
    return Response({"errors": [{"field": field, "code": code, "message": message}]}, status=status)


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx response (for the OpenAPI schema)."""

    errors = ErrorItemSerializer(many=True)


class ChoiceSetField(serializers.ChoiceField):
    """A choice field over a ChoiceSet. The schema names one enum per set (`<SetName>Enum`), so the
    same set under several field names (purpose, primary_purpose, …) is one component."""

    def __init__(self, choice_set: type[ChoiceSet], **kwargs) -> None:
        self.choice_set = choice_set
        super().__init__(choices=choice_set.choices(), **kwargs)


class ChoiceSetFieldExtension(OpenApiSerializerFieldExtension):
    target_class = ChoiceSetField

    def map_serializer_field(self, auto_schema, direction):
        choice_set = self.target.choice_set
        lines = [f"* `{value}` - {label}" for value, label, _colour in choice_set.CHOICES]
        component = ResolvedComponent(
            name=f"{choice_set.__name__}Enum",
            type=ResolvedComponent.SCHEMA,
            object=choice_set,
            schema={"type": "string", "enum": choice_set.values(), "description": "\n".join(lines)},
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


@extend_schema_field(OpenApiTypes.STR)
class ChoiceLabelField(serializers.Field):
    """Read-only: the translated label of a ChoiceSet value."""

    def __init__(self, choice_set: type[ChoiceSet], **kwargs) -> None:
        self.choice_set = choice_set
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return self.choice_set.label(value)


@extend_schema_field(OpenApiTypes.STR)
class ChoiceColourField(ChoiceLabelField):
    """Read-only: the colour (#rrggbb) of a ChoiceSet value (badges, map markers, legends)."""

    def to_representation(self, value):
        return self.choice_set.colour(value)
