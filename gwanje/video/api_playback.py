"""GET /api/v1/cameras/{id}/recordings/?start=&end= — what is recorded of a camera in a period.

Recorded ranges (segments merged when contiguous within 0.5 s) and gaps (the rest of the period up
to now, with the recorder's reason where it recorded one), segment count and bytes. Needs
`video.playback`; the camera must be in the user's `registry.view` scope (404 otherwise, the attempt
logged). The index says when video exists, not what it shows: no access-log record per request.

Route (registered in gwanje/api_urls.py): `cameras/<int:pk>/recordings/` → CameraRecordingsView.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gwanje.core import permissions
from gwanje.core.access import visible_or_404
from gwanje.core.api import ChokePointPermission, ErrorSerializer
from gwanje.registry.models import Camera
from gwanje.video import playback
from gwanje.video.choices import FaultReason


class RangeSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    seconds = serializers.FloatField()


class GapSerializer(RangeSerializer):
    reason = serializers.CharField(help_text=_("FaultReason value the recorder gave, or empty when unknown."))
    reason_label = serializers.SerializerMethodField()

    def get_reason_label(self, gap) -> str:
        return str(FaultReason.label(gap.reason)) if gap.reason else ""


class RecordingsSerializer(serializers.Serializer):
    camera = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    ranges = RangeSerializer(many=True)
    gaps = GapSerializer(many=True)
    segment_count = serializers.IntegerField()
    bytes = serializers.IntegerField()
    recorded_seconds = serializers.FloatField()


class CameraRecordingsView(APIView):
    permission_classes = [ChokePointPermission]
    permission_actions = {"read": "video.playback"}

    @extend_schema(
        summary="Recorded ranges and gaps of a camera",
        parameters=[
            OpenApiParameter(
                "start",
                OpenApiTypes.DATETIME,
                description="ISO 8601 with an offset (default: 24 h before end).",
            ),
            OpenApiParameter(
                "end", OpenApiTypes.DATETIME, description="ISO 8601 with an offset (default: now)."
            ),
        ],
        responses={
            200: RecordingsSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Bad times or a period over 7 days."),
            404: OpenApiResponse(ErrorSerializer, description="No such camera in the user's scope."),
        },
    )
    def get(self, request, pk: int):
        if not 0 < pk < 2**63:
            raise exceptions.NotFound()
        visible = permissions.restrict(request.user, "registry.view", Camera.objects.select_related("site"))
        camera = visible_or_404(request, visible, pk, what="recordings")
        try:
            start, end = playback.window(
                request.query_params.get("start"),
                request.query_params.get("end"),
                default=playback.API_DEFAULT_RANGE,
                maximum=playback.API_MAX_RANGE,
            )
        except playback.WindowError as e:
            raise exceptions.ValidationError({e.field: [e.message]}) from None
        return Response(RecordingsSerializer(playback.recordings(camera, start, end)).data)
