"""/api/v1/incidents/: the incident queue, an incident with what the user may do now, the workflow
steps (POST …/act/) and notes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from gwanje.audit import services as audit
from gwanje.core.api import (
    ChoiceLabelField,
    ChoiceSetField,
    ErrorSerializer,
    JSONParser,
    RestrictedQuerysetMixin,
)
from gwanje.situations import queries, services
from gwanje.situations.choices import Action, IncidentKind, IncidentStatus, Party, UtilisationResult
from gwanje.situations.models import Incident

_ERR = OpenApiResponse(ErrorSerializer, description=_("Invalid, not logged in, not allowed, or not found"))


class IncidentSerializer(serializers.ModelSerializer):
    kind = ChoiceSetField(IncidentKind, read_only=True)
    status = ChoiceSetField(IncidentStatus, read_only=True)
    first_party = ChoiceSetField(Party, read_only=True)
    responder_party = ChoiceSetField(Party, read_only=True)
    result = ChoiceSetField(UtilisationResult, read_only=True)
    current_party = serializers.SerializerMethodField()
    lat = serializers.SerializerMethodField()
    lon = serializers.SerializerMethodField()
    escalations = serializers.SerializerMethodField()
    kind_label = ChoiceLabelField(IncidentKind, source="kind")
    kind_colour = serializers.SerializerMethodField()
    status_label = ChoiceLabelField(IncidentStatus, source="status")
    status_colour = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id", "number", "kind", "kind_label", "kind_colour", "title", "status", "status_label",
            "status_colour", "lat", "lon", "address", "first_party", "updated_at",
            "responder_party", "current_party", "event_count", "first_event_at", "last_event_at",
            "opened_at", "acknowledged_at", "handed_over_at", "dispatch_unit", "dispatched_at",
            "arrived_at", "resolved_at", "closed_at", "result", "escalations",
        ]  # fmt: skip
        read_only_fields = fields

    def get_lat(self, obj) -> float:
        return obj.point.y

    def get_lon(self, obj) -> float:
        return obj.point.x

    def get_kind_colour(self, obj) -> str:
        return IncidentKind.colour(obj.kind)

    def get_status_colour(self, obj) -> str:
        return IncidentStatus.colour(obj.status)

    def get_current_party(self, obj) -> str:
        return obj.current_party

    def get_escalations(self, obj) -> list[str]:
        return [e.timer for e in obj.escalations.all() if e.cleared_at is None]


class TransitionSerializer(serializers.Serializer):
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor = serializers.CharField(source="actor.username", default=None)
    party = serializers.CharField()
    at = serializers.DateTimeField()
    note = serializers.CharField()


class IncidentDetailSerializer(IncidentSerializer):
    """One incident, with what the requesting user may do now. Plates and SOS subjects are personal
    data: reading them is written to the access log."""

    actions = serializers.SerializerMethodField()
    track = serializers.SerializerMethodField()
    nearest_cameras = serializers.SerializerMethodField()
    transitions = TransitionSerializer(many=True, read_only=True)

    class Meta(IncidentSerializer.Meta):
        fields = IncidentSerializer.Meta.fields + [
            "category", "confidence", "plate", "subject_ref", "result_text", "ack_due_at",
            "handover_due_at", "dispatch_due_at", "actions", "track", "nearest_cameras", "transitions",
        ]  # fmt: skip
        read_only_fields = fields

    def _user(self):
        return self.context["request"].user

    def get_actions(self, obj) -> list[str]:
        return services.allowed_actions(self._user(), obj)

    def get_track(self, obj) -> list[list]:
        return queries.track(obj)

    def get_nearest_cameras(self, obj) -> list[dict]:
        return queries.nearest_cameras(self._user(), obj)


class IncidentWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    lat = serializers.FloatField(min_value=33, max_value=39)
    lon = serializers.FloatField(min_value=124, max_value=132)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ActSerializer(serializers.Serializer):
    action = ChoiceSetField(Action)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    unit = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    result = ChoiceSetField(UtilisationResult, required=False, allow_blank=True, default="")
    result_text = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class CloseSerializer(serializers.Serializer):
    result = ChoiceSetField(UtilisationResult, default=UtilisationResult.OTHER)
    text = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


_FILTERS = [
    OpenApiParameter("open", bool, description=_("Only incidents not yet closed or dismissed")),
    OpenApiParameter("mine", bool, description=_("Only incidents in my party's queue")),
    OpenApiParameter("kind", str, enum=IncidentKind.values()),
    OpenApiParameter("status", str, enum=IncidentStatus.values()),
]


def _flag(request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


@extend_schema_view(
    list=extend_schema(
        tags=["situations"], parameters=_FILTERS, responses={200: IncidentSerializer(many=True), 403: _ERR}
    ),
    retrieve=extend_schema(
        tags=["situations"], responses={200: IncidentDetailSerializer, 403: _ERR, 404: _ERR}
    ),
    create=extend_schema(
        tags=["situations"], request=IncidentWriteSerializer, responses={201: IncidentSerializer, 400: _ERR}
    ),
)
class IncidentViewSet(
    RestrictedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Incidents: raised by devices (bells, SOS, analytics, plate hits, camera faults) or entered by
    hand, and handled along the workflow by the parties the division of duties names."""

    permission_actions = {
        "read": "incidents.view",
        "write": "incidents.manage",
        "act": "incidents.handle",
        "notes": "incidents.handle",
        "close": "incidents.manage",
    }
    queryset = Incident.objects.order_by("-opened_at", "-id")
    serializer_class = IncidentSerializer
    parser_classes = [JSONParser]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        qs = super().get_queryset().select_related("opened_by").prefetch_related("escalations")
        if self.action == "list":
            if _flag(self.request, "open"):
                qs = qs.exclude(status__in=IncidentStatus.FINISHED)
            if _flag(self.request, "mine"):
                mine = queries.incidents_for(self.request.user, mine=True).values("pk")
                qs = qs.filter(pk__in=mine)
            kind, state = self.request.query_params.get("kind"), self.request.query_params.get("status")
            if kind in IncidentKind.values():
                qs = qs.filter(kind=kind)
            if state in IncidentStatus.values():
                qs = qs.filter(status=state)
        return qs

    def retrieve(self, request, *args, **kwargs):
        incident = self.get_object()
        if queries.has_personal_data(incident):
            audit.record_access(
                user=request.user,
                action="view",
                subject_type="incident",
                subject=f"incident:{incident.number}",
                reason=IncidentKind.label(incident.kind),
                request=request,
            )
        return Response(IncidentDetailSerializer(incident, context={"request": request}).data)

    def create(self, request, *args, **kwargs):
        data = IncidentWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        incident = services.open_incident(
            user=request.user, title=d["title"], lon=d["lon"], lat=d["lat"], address=d["address"]
        )
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["situations"],
        request=ActSerializer,
        responses={200: IncidentSerializer, 400: _ERR, 403: _ERR, 404: _ERR},
    )
    @action(detail=True, methods=["post"])
    def act(self, request, pk=None):
        """Take one workflow step (acknowledge, confirm, dismiss, hand_over, dispatch, arrive,
        resolve, close). Which steps are possible now is the detail's `actions`."""
        data = ActSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = services.act(
            user=request.user, incident=self.get_object(), request=request, **data.validated_data
        )
        return Response(IncidentSerializer(incident).data)

    @extend_schema(
        tags=["situations"], request=NoteSerializer, responses={201: None, 400: _ERR, 403: _ERR, 404: _ERR}
    )
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.add_note(
            user=request.user, incident=self.get_object(), text=data.validated_data["text"]
        )
        return Response({"id": note.pk, "at": note.at.isoformat()}, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["situations"],
        request=CloseSerializer,
        responses={200: IncidentSerializer, 400: _ERR, 403: _ERR, 404: _ERR},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser, MultiPartParser])
    def close(self, request, pk=None):
        """Close an incident at whatever step it is (supervisors); its video grants end at once."""
        data = CloseSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        d = data.validated_data
        incident = services.close_incident(
            user=request.user, incident=self.get_object(), result=d["result"], text=d["text"], request=request
        )
        return Response(IncidentSerializer(incident).data)
