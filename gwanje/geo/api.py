"""Map layers as GeoJSON FeatureCollections (/api/v1/layers/…), not paginated: the map console
fetches each layer whole. Every layer requires the `geo.view` action. Also the small geo pieces of
other apps' serializers: a GeoJSON Point, lon/lat inputs limited to Korea, a dong reference."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from gwanje.core.api import ErrorSerializer, RestrictedQuerysetMixin
from gwanje.geo.models import AdminDong, ChildProtectionZone, District, PoliceOffice
from gwanje.geo.queries import KOREA_LAT, KOREA_LON

_POINT_SCHEMA = {
    "type": "object",
    "description": "GeoJSON Point, WGS84 [lon, lat]",
    "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    },
}


@extend_schema_field(_POINT_SCHEMA)
class PointField(serializers.Field):
    """Read-only GeoJSON Point (built directly: GEOS' json costs ~0.1 ms a row)."""

    def __init__(self, **kwargs) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return {"type": "Point", "coordinates": [value.x, value.y]}


def latitude_field(**kwargs) -> serializers.FloatField:
    outside, nan = _("Latitude must lie in Korea (33–39)."), _("Latitude must be a number.")
    messages = {"min_value": outside, "max_value": outside, "invalid": nan}
    return serializers.FloatField(
        min_value=KOREA_LAT[0], max_value=KOREA_LAT[1], error_messages=messages,
        help_text=_("WGS84 latitude, 33–39."), **kwargs,
    )  # fmt: skip


def longitude_field(**kwargs) -> serializers.FloatField:
    outside, nan = _("Longitude must lie in Korea (124–132)."), _("Longitude must be a number.")
    messages = {"min_value": outside, "max_value": outside, "invalid": nan}
    return serializers.FloatField(
        min_value=KOREA_LON[0], max_value=KOREA_LON[1], error_messages=messages,
        help_text=_("WGS84 longitude, 124–132."), **kwargs,
    )  # fmt: skip


class DongRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdminDong
        fields = ["id", "code", "name"]
        read_only_fields = fields


class DistrictFeatureSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = District
        geo_field = "geom"
        fields = ["id", "code", "name", "name_en"]


class DongFeatureSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = AdminDong
        geo_field = "geom"
        fields = ["id", "code", "name", "full_name"]


class PoliceOfficeFeatureSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = PoliceOffice
        geo_field = "point"
        fields = ["id", "name", "address"]


class ChildProtectionZoneFeatureSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = ChildProtectionZone
        geo_field = "point"
        fields = ["id", "external_id", "facility_name", "facility_kind", "address"]


_FORBIDDEN = {403: OpenApiResponse(ErrorSerializer, description=_("Not logged in, or not allowed"))}


class LayerView(RestrictedQuerysetMixin, generics.ListAPIView):
    permission_actions = {"read": "geo.view"}
    pagination_class = None
    filter_backends: list = []


@extend_schema(tags=["layers"], responses={200: DistrictFeatureSerializer(many=True), **_FORBIDDEN})
class DistrictLayer(LayerView):
    """The district boundary (자치구)."""

    queryset = District.objects.order_by("code")
    serializer_class = DistrictFeatureSerializer


@extend_schema(tags=["layers"], responses={200: DongFeatureSerializer(many=True), **_FORBIDDEN})
class DongLayer(LayerView):
    """Administrative dong (행정동) boundaries."""

    queryset = AdminDong.objects.order_by("code")
    serializer_class = DongFeatureSerializer


@extend_schema(tags=["layers"], responses={200: PoliceOfficeFeatureSerializer(many=True), **_FORBIDDEN})
class PoliceOfficeLayer(LayerView):
    """Police offices (지구대·파출소)."""

    queryset = PoliceOffice.objects.order_by("name", "id")
    serializer_class = PoliceOfficeFeatureSerializer


@extend_schema(
    tags=["layers"], responses={200: ChildProtectionZoneFeatureSerializer(many=True), **_FORBIDDEN}
)
class ChildProtectionZoneLayer(LayerView):
    """Child-protection zones (어린이보호구역), at their facility."""

    queryset = ChildProtectionZone.objects.order_by("facility_name", "id")
    serializer_class = ChildProtectionZoneFeatureSerializer
