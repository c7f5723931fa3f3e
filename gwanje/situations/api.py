"""/api/v1/grants/: incident-bound video grants (the incidents API is in api_incidents.py)."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from gwanje.core.access import record_out_of_scope
from gwanje.core.api import ErrorSerializer, JSONParser
from gwanje.situations import services
from gwanje.situations.choices import GrantState
from gwanje.situations.models import DEFAULT_GRANT_HOURS, DEFAULT_GRANT_RADIUS_M, Incident, VideoGrant

_ERR = OpenApiResponse(ErrorSerializer, description=_("Invalid, not logged in, not allowed, or not found"))


class GrantSerializer(serializers.ModelSerializer):
    incident = serializers.CharField(source="incident.number", read_only=True)
    user = serializers.CharField(source="user.username", read_only=True)
    state = serializers.SerializerMethodField()
    cameras = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = VideoGrant
        fields = [
            "id", "incident", "user", "reason", "radius_m", "cameras", "window_start", "window_end",
            "created_at", "expires_at", "revoked_at", "state",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=GrantState.values()))
    def get_state(self, obj) -> str:
        return obj.state()


class GrantWriteSerializer(serializers.Serializer):
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())
    reason = serializers.CharField(max_length=1000)
    radius_m = serializers.IntegerField(min_value=50, max_value=5000, default=DEFAULT_GRANT_RADIUS_M)
    hours = serializers.FloatField(
        min_value=0.25, max_value=services.MAX_GRANT_HOURS, default=DEFAULT_GRANT_HOURS
    )


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


@extend_schema_view(
    list=extend_schema(
        tags=["situations"], responses={200: GrantSerializer(many=True), 400: _ERR, 403: _ERR}
    ),
    retrieve=extend_schema(tags=["situations"], responses={200: GrantSerializer, 403: _ERR, 404: _ERR}),
    create=extend_schema(
        tags=["situations"],
        request=GrantWriteSerializer,
        responses={201: GrantSerializer, 400: _ERR, 403: _ERR},
    ),
)
class GrantViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Incident-bound video grants (agreement Art. 9⑤). Police users request their own; supervisors
    see and may revoke all. A grant lists the cameras it opens and ends at `expires_at`."""

    # Reading is narrowed by visible_grants(): all for grants.view_all, one's own for grants.create.
    permission_actions = {"read": "incidents.view", "create": "grants.create", "revoke": "incidents.view"}
    serializer_class = GrantSerializer
    parser_classes = [JSONParser]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return services.visible_grants(self.request.user).prefetch_related("cameras")

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            record_out_of_scope(self.request, VideoGrant, self.kwargs.get("pk"), what=self.action or "")
            raise

    def create(self, request, *args, **kwargs):
        data = GrantWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        grant = services.create_grant(
            user=request.user,
            incident=d["incident"],
            reason=d["reason"],
            radius_m=d["radius_m"],
            hours=d["hours"],
            request=request,
        )
        return Response(GrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["situations"],
        request=RevokeSerializer,
        responses={200: GrantSerializer, 400: _ERR, 403: _ERR, 404: _ERR},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        data = RevokeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = services.revoke_grant(
            actor=request.user, grant=self.get_object(), reason=data.validated_data["reason"], request=request
        )
        return Response(GrantSerializer(grant).data)
