"""/api/v1/wall-layouts/: the signed-in user's saved video-wall layouts (only their own rows).

Register in gwanje/api_urls.py:
    router.register("wall-layouts", WallLayoutViewSet, basename="api-wall-layout")
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from gwanje.core.api import ErrorSerializer, JSONParser
from gwanje.video.live import layouts
from gwanje.video.models import WallLayout

_ERR = OpenApiResponse(ErrorSerializer, description=_("Invalid, not logged in, not allowed, or not found"))


class WallLayoutSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=layouts.MAX_NAME)
    grid = serializers.ChoiceField(choices=layouts.GRIDS, help_text=_("Cells of the wall: 1, 4, 9 or 16."))
    cells = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1, allow_null=True),
        max_length=16,
        help_text=_("Per cell, left to right and top to bottom: a camera id or null."),
    )

    class Meta:
        model = WallLayout
        fields = ["id", "name", "grid", "cells", "updated_at"]
        read_only_fields = ["id", "updated_at"]


@extend_schema_view(
    list=extend_schema(tags=["video"], responses={200: WallLayoutSerializer(many=True), 403: _ERR}),
    retrieve=extend_schema(tags=["video"], responses={200: WallLayoutSerializer, 403: _ERR, 404: _ERR}),
    create=extend_schema(tags=["video"], responses={201: WallLayoutSerializer, 400: _ERR, 403: _ERR}),
    update=extend_schema(tags=["video"], responses={200: WallLayoutSerializer, 400: _ERR, 404: _ERR}),
    partial_update=extend_schema(tags=["video"], responses={200: WallLayoutSerializer, 400: _ERR, 404: _ERR}),
    destroy=extend_schema(tags=["video"], responses={204: None, 403: _ERR, 404: _ERR}),
)
class WallLayoutViewSet(viewsets.ModelViewSet):
    """The video-wall layouts of the signed-in user (name, grid, cameras per cell)."""

    permission_actions = {"read": "video.live", "write": "video.live"}
    queryset = WallLayout.objects.none()  # for the schema; get_queryset narrows to the user's own
    serializer_class = WallLayoutSerializer
    parser_classes = [JSONParser]
    pagination_class = None  # a user has a handful of layouts
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return WallLayout.objects.filter(user=self.request.user).order_by("name", "id")

    def create(self, request, *args, **kwargs):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        layout = layouts.save_layout(user=request.user, **data.validated_data)
        return Response(self.get_serializer(layout).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        layout = self.get_object()
        partial = kwargs.get("partial", False)
        data = self.get_serializer(layout, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        grid = d.get("grid", layout.grid)
        layout = layouts.save_layout(
            user=request.user,
            name=d.get("name", layout.name),
            grid=grid,
            cells=d["cells"] if "cells" in d else layout.cells[:grid],
            layout=layout,
        )
        return Response(self.get_serializer(layout).data)

    def destroy(self, request, *args, **kwargs):
        layouts.delete_layout(user=request.user, layout=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
