"""Organisations, read-only (/api/v1/organisations/): for pickers of integrations (department ids)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from gwanje.accounts.choices import OrganisationKind
from gwanje.accounts.models import Organisation
from gwanje.core.api import (
    ChoiceLabelField,
    ChoiceSetField,
    ErrorSerializer,
    FilterBackend,
    RestrictedQuerysetMixin,
)


class OrganisationRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "code", "name"]
        read_only_fields = fields


class OrganisationSerializer(serializers.ModelSerializer):
    kind = ChoiceSetField(OrganisationKind, read_only=True)
    kind_label = ChoiceLabelField(OrganisationKind, source="kind")
    is_police = serializers.BooleanField(read_only=True)

    class Meta:
        model = Organisation
        fields = ["id", "code", "name", "kind", "kind_label", "parent", "phone", "is_active", "is_police"]
        read_only_fields = fields


_ERR = OpenApiResponse(ErrorSerializer, description=_("Not logged in, not allowed, or not found"))


@extend_schema_view(
    list=extend_schema(
        tags=["accounts"], responses={200: OrganisationSerializer(many=True), 400: _ERR, 403: _ERR}
    ),
    retrieve=extend_schema(tags=["accounts"], responses={200: OrganisationSerializer, 403: _ERR, 404: _ERR}),
)
class OrganisationViewSet(RestrictedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """The district office, its departments, the police and contractors."""

    permission_actions = {"read": "accounts.view"}
    queryset = Organisation.objects.order_by("kind", "name", "id")
    serializer_class = OrganisationSerializer
    filter_backends = [FilterBackend]
    filterset_fields = ["kind", "is_active"]
    lookup_value_regex = r"[0-9]+"
