"""REST API of the registry (/api/v1/): sites, cameras (with nearest), purpose-expansion records.

Serializers validate, services write (DESIGN rule 1); every queryset goes through the choke point
(`RestrictedQuerysetMixin`); filters are the registry's one FilterSet per list (rule 5).
Reads and writes use separate serializers: a camera is read with labels, colours and *redacted*
stream URLs, and written with plain ids, lon/lat and write-only stream URLs.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Count, Prefetch, ProtectedError, prefetch_related_objects
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from gwanje.accounts.api import OrganisationRefSerializer
from gwanje.accounts.models import Organisation
from gwanje.core.api import (
    ChoiceColourField,
    ChoiceLabelField,
    ChoiceSetField,
    ErrorSerializer,
    FilterBackend,
    JSONParser,
    RestrictedQuerysetMixin,
    view_action,
)
from gwanje.core.permissions import restrict
from gwanje.geo.api import DongRefSerializer, PointField, latitude_field, longitude_field
from gwanje.geo.queries import nearest
from gwanje.registry import services
from gwanje.registry.choices import (
    CameraKind,
    CameraStatus,
    DatePrecision,
    ExpansionProcedure,
    Owner,
    Purpose,
    Source,
)
from gwanje.registry.filters import CameraFilterSet, SiteFilterSet
from gwanje.registry.models import Camera, PurposeExpansion, SecondaryPurpose, Site
from gwanje.registry.queries import active_purposes, cameras_for_display

STREAM_SCHEMES = ["rtsp", "rtsps", "http", "https", "rtmp", "srt"]
MAX_NEAREST = 100
MAX_RADIUS_M = 50_000.0
MAX_EXPANSION_CAMERAS = 10_000
_MAX_ID = 2**63 - 1

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description=_("Invalid input")),
    403: OpenApiResponse(ErrorSerializer, description=_("Not logged in, or not allowed")),
    404: OpenApiResponse(ErrorSerializer, description=_("Not found (or outside your scope)")),
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The object is still referenced and cannot be deleted.")
    default_code = "conflict"


# --- small read-only serializers ----------------------------------------------------------------


class SiteRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "code", "name"]
        read_only_fields = fields


class SecondaryPurposeSerializer(serializers.ModelSerializer):
    purpose = ChoiceSetField(Purpose, read_only=True)
    label = ChoiceLabelField(Purpose, source="purpose")
    active = serializers.BooleanField(
        source="is_active", read_only=True, help_text=_("True once a purpose-expansion record covers it.")
    )
    expansion = serializers.IntegerField(source="expansion_id", read_only=True, allow_null=True)

    class Meta:
        model = SecondaryPurpose
        fields = ["purpose", "label", "active", "expansion"]
        read_only_fields = fields


def _take_point(attrs: dict, *, required: bool) -> None:
    """Replace lon/lat in `attrs` by a `point` (both or neither; both required on create)."""
    lon, lat = attrs.pop("lon", None), attrs.pop("lat", None)
    if lon is None and lat is None:
        if required:
            raise serializers.ValidationError(
                {"lon": _("This field is required."), "lat": _("This field is required.")}, code="required"
            )
        return
    if lon is None or lat is None:
        missing = "lon" if lon is None else "lat"
        raise serializers.ValidationError({missing: _("Give both lon and lat.")}, code="required")
    attrs["point"] = services.make_point(lon, lat)


# --- sites ------------------------------------------------------------------------------------


class SiteSerializer(serializers.ModelSerializer):
    point = PointField()
    lon = serializers.FloatField(source="point.x", read_only=True)
    lat = serializers.FloatField(source="point.y", read_only=True)
    department = OrganisationRefSerializer(read_only=True)
    dong = DongRefSerializer(read_only=True, allow_null=True)
    owner = ChoiceSetField(Owner, read_only=True)
    owner_label = ChoiceLabelField(Owner, source="owner")
    installed_on_precision = ChoiceSetField(DatePrecision, read_only=True)
    source = ChoiceSetField(Source, read_only=True)
    camera_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Site
        # fmt: off
        fields = [
            "id", "code", "name", "road_address", "jibun_address", "point", "lon", "lat", "dong",
            "department", "owner", "owner_label", "is_mobile", "has_onsite_storage", "has_emergency_bell",
            "is_smart_shelter", "installed_on", "installed_on_precision", "notes", "is_synthetic", "source",
            "camera_count", "created_at", "updated_at",
        ]
        # fmt: on
        read_only_fields = fields


class SiteWriteSerializer(serializers.ModelSerializer):
    lon = longitude_field(required=False, write_only=True)
    lat = latitude_field(required=False, write_only=True)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.filter(is_active=True),
        help_text=_("Id of the managing department (a department CCTV manager may only use their own)."),
    )
    owner = ChoiceSetField(Owner, required=False)
    installed_on_precision = ChoiceSetField(DatePrecision, required=False)

    class Meta:
        model = Site
        # fmt: off
        fields = [
            "code", "name", "road_address", "jibun_address", "lon", "lat", "department", "owner",
            "is_mobile", "has_onsite_storage", "has_emergency_bell", "is_smart_shelter", "installed_on",
            "installed_on_precision", "notes",
        ]
        # fmt: on

    def validate(self, attrs):
        _take_point(attrs, required=self.instance is None)
        return attrs

    def create(self, validated_data):
        site = Site(**validated_data, source=Source.MANUAL)
        return services.save_site(site, by=self.context["request"].user)

    def update(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return services.save_site(instance, by=self.context["request"].user)


# --- cameras ------------------------------------------------------------------------------------


class CameraSerializer(serializers.ModelSerializer):
    site = SiteRefSerializer(read_only=True)
    label = serializers.CharField(read_only=True)
    kind = ChoiceSetField(CameraKind, read_only=True)
    kind_label = ChoiceLabelField(CameraKind, source="kind")
    point = PointField()
    lon = serializers.FloatField(source="point.x", read_only=True)
    lat = serializers.FloatField(source="point.y", read_only=True)
    megapixels = serializers.FloatField(read_only=True, allow_null=True)
    primary_purpose = ChoiceSetField(Purpose, read_only=True)
    primary_purpose_label = ChoiceLabelField(Purpose, source="primary_purpose")
    secondary_purposes = serializers.SerializerMethodField()
    active_purposes = serializers.SerializerMethodField(
        help_text=_("The primary purpose, then secondary purposes a purpose-expansion record covers.")
    )
    status = ChoiceSetField(CameraStatus, read_only=True)
    status_label = ChoiceLabelField(CameraStatus, source="status")
    status_colour = ChoiceColourField(CameraStatus, source="status")
    department = OrganisationRefSerializer(source="site.department", read_only=True)
    dong = DongRefSerializer(source="site.dong", read_only=True, allow_null=True)
    owner = ChoiceSetField(Owner, source="site.owner", read_only=True)
    owner_label = ChoiceLabelField(Owner, source="site.owner")
    main_stream_url_redacted = serializers.CharField(
        read_only=True, help_text=_("The main stream URL with its password replaced by ***.")
    )
    sub_stream_url_redacted = serializers.CharField(
        read_only=True, help_text=_("The sub stream URL with its password replaced by ***.")
    )

    class Meta:
        model = Camera
        # fmt: off
        fields = [
            "id", "site", "number", "label", "kind", "kind_label", "point", "lon", "lat", "view_direction",
            "megapixels", "primary_purpose", "primary_purpose_label", "secondary_purposes",
            "active_purposes", "retention_days", "status", "status_label", "status_colour",
            "status_changed_at", "department", "dong", "owner", "owner_label", "main_stream_url_redacted",
            "sub_stream_url_redacted", "notes", "created_at", "updated_at",
        ]
        # fmt: on
        read_only_fields = fields

    @extend_schema_field(SecondaryPurposeSerializer(many=True))
    def get_secondary_purposes(self, camera: Camera) -> list[dict]:
        order = {p: i for i, p in enumerate(Purpose.values())}
        items = sorted(camera.secondary_purposes.all(), key=lambda sp: order.get(sp.purpose, len(order)))
        # Same shape as SecondaryPurposeSerializer, without a serializer per row (lists of 1,000).
        return [
            {"purpose": sp.purpose, "label": Purpose.label(sp.purpose), "active": sp.is_active,
             "expansion": sp.expansion_id}
            for sp in items
        ]  # fmt: skip

    @extend_schema_field(serializers.ListField(child=ChoiceSetField(Purpose)))
    def get_active_purposes(self, camera: Camera) -> list[str]:
        return active_purposes(camera)


class NearestCameraSerializer(CameraSerializer):
    distance_m = serializers.FloatField(read_only=True, help_text=_("Geodesic (WGS84) distance in metres."))

    class Meta(CameraSerializer.Meta):
        fields = [*CameraSerializer.Meta.fields, "distance_m"]
        read_only_fields = fields


class NearestResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = NearestCameraSerializer(many=True)


class NearestQuerySerializer(serializers.Serializer):
    lat = latitude_field()
    lon = longitude_field()
    n = serializers.IntegerField(
        min_value=1,
        max_value=MAX_NEAREST,
        default=10,
        required=False,
        help_text=_("How many cameras (1–100, default 10)."),
    )
    radius_m = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=MAX_RADIUS_M,
        help_text=_("Only cameras within this many metres (0 < radius_m ≤ 50,000)."),
    )

    def validate_radius_m(self, value: float) -> float:
        if value <= 0:
            raise serializers.ValidationError(_("The radius must be greater than 0."), code="min_value")
        return value


def _stream_url_field() -> serializers.CharField:
    return serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        max_length=2000,
        trim_whitespace=True,
        validators=[
            URLValidator(
                schemes=STREAM_SCHEMES,
                message=_("Enter a valid stream URL (rtsp, rtsps, http, https, rtmp or srt)."),
            )
        ],
        help_text=_("Write-only. Blank or absent keeps the stored URL; it is never returned in full."),
    )


class CameraWriteSerializer(serializers.ModelSerializer):
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.none(), help_text=_("Id of the site."))
    kind = ChoiceSetField(CameraKind, required=False)
    primary_purpose = ChoiceSetField(Purpose)
    status = ChoiceSetField(CameraStatus, required=False)
    lon = longitude_field(required=False, write_only=True, allow_null=True)
    lat = latitude_field(required=False, write_only=True, allow_null=True)
    megapixels = serializers.DecimalField(
        max_digits=4,
        decimal_places=1,
        min_value=Decimal("0.1"),
        max_value=Decimal(99),
        required=False,
        allow_null=True,
        coerce_to_string=False,
    )
    secondary_purposes = serializers.ListField(
        child=ChoiceSetField(Purpose),
        required=False,
        max_length=len(Purpose.CHOICES),
        help_text=_(
            "Replaces the secondary purposes; each is inactive until a purpose-expansion record covers it."
        ),
    )
    main_stream_url = _stream_url_field()
    sub_stream_url = _stream_url_field()
    clear_main_stream_url = serializers.BooleanField(
        required=False, write_only=True, help_text=_("Remove the stored main stream URL.")
    )
    clear_sub_stream_url = serializers.BooleanField(
        required=False, write_only=True, help_text=_("Remove the stored sub stream URL.")
    )

    class Meta:
        model = Camera
        # fmt: off
        fields = [
            "site", "number", "kind", "lon", "lat", "view_direction", "megapixels", "primary_purpose",
            "secondary_purposes", "retention_days", "status", "main_stream_url", "sub_stream_url",
            "clear_main_stream_url", "clear_sub_stream_url", "notes",
        ]
        # fmt: on

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["site"].queryset = restrict(request.user, "registry.change", Site.objects.all())

    def validate(self, attrs):
        _take_point(attrs, required=False)
        return attrs

    def _apply_streams(self, camera: Camera, data: dict) -> None:
        for name in ("main_stream_url", "sub_stream_url"):
            value = data.pop(name, None)
            clear = data.pop(f"clear_{name}", False)
            if value and camera.pk and value == getattr(camera, f"{name}_redacted"):
                value = None  # the redacted value sent back unchanged: keep the stored URL
            services.apply_stream_url(camera, name, value, clear=clear)

    def create(self, validated_data):
        secondary = validated_data.pop("secondary_purposes", None)
        camera = Camera()
        self._apply_streams(camera, validated_data)
        for name, value in validated_data.items():
            setattr(camera, name, value)
        return services.save_camera(camera, secondary=secondary, by=self.context["request"].user)

    def update(self, instance, validated_data):
        user = self.context["request"].user
        if set(validated_data) == {"status"}:
            return services.set_camera_status(instance, validated_data["status"], by=user)
        secondary = validated_data.pop("secondary_purposes", None)
        self._apply_streams(instance, validated_data)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return services.save_camera(instance, secondary=secondary, by=user)


# --- viewsets ---------------------------------------------------------------------------------


class ServiceWriteMixin:
    """Create/update with the write serializer (which calls the service), answer with the read one.

    A written row must lie inside the user's scope for the action (e.g. a department CCTV manager
    cannot move a site to another department): otherwise the write is rolled back and refused.
    """

    read_serializer_class: type[serializers.Serializer]
    write_serializer_class: type[serializers.Serializer]
    delete_service = None

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return self.write_serializer_class
        return self.read_serializer_class

    def _in_scope(self, obj) -> None:
        model = type(obj)
        if not restrict(
            self.request.user, view_action(self, self.request), model.objects.filter(pk=obj.pk)
        ).exists():
            raise exceptions.PermissionDenied(_("You may only write rows of your own department."))

    def _saved(self, serializer) -> dict:
        with transaction.atomic():
            obj = serializer.save()
            self._in_scope(obj)
        fresh = self.display_queryset().get(pk=obj.pk)
        return self.read_serializer_class(fresh, context=self.get_serializer_context()).data

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(self._saved(serializer), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return Response(self._saved(serializer))

    def perform_destroy(self, instance) -> None:
        try:
            type(self).delete_service(instance, by=self.request.user)
        except ProtectedError:
            raise Conflict() from None


def _write_schema(read, write, tag):
    return extend_schema_view(
        list=extend_schema(tags=[tag], responses={200: read(many=True), 400: ERRORS[400], 403: ERRORS[403]}),
        retrieve=extend_schema(tags=[tag], responses={200: read, 403: ERRORS[403], 404: ERRORS[404]}),
        create=extend_schema(tags=[tag], request=write, responses={201: read, **ERRORS}),
        update=extend_schema(tags=[tag], request=write, responses={200: read, **ERRORS}),
        partial_update=extend_schema(tags=[tag], request=write, responses={200: read, **ERRORS}),
        destroy=extend_schema(tags=[tag], responses={204: None, 403: ERRORS[403], 404: ERRORS[404]}),
    )


@_write_schema(SiteSerializer, SiteWriteSerializer, "registry")
class SiteViewSet(ServiceWriteMixin, RestrictedQuerysetMixin, viewsets.ModelViewSet):
    """Sites (개소). Department CCTV managers see and edit only their department's sites."""

    permission_actions = {"read": "registry.view", "write": "registry.change", "destroy": "registry.delete"}
    queryset = (
        Site.objects.select_related("department", "dong")
        .annotate(camera_count=Count("cameras"))
        .order_by("code")
    )
    filterset_class = SiteFilterSet
    filter_backends = [FilterBackend]
    parser_classes = [JSONParser]
    read_serializer_class = SiteSerializer
    write_serializer_class = SiteWriteSerializer
    delete_service = staticmethod(services.delete_site)
    lookup_value_regex = r"[0-9]+"

    def display_queryset(self):
        return self.queryset


@_write_schema(CameraSerializer, CameraWriteSerializer, "registry")
class CameraViewSet(ServiceWriteMixin, RestrictedQuerysetMixin, viewsets.ModelViewSet):
    """Cameras (대수). Stream URLs are write-only and returned redacted."""

    permission_actions = {"read": "registry.view", "write": "registry.change", "destroy": "registry.delete"}
    queryset = cameras_for_display()
    filterset_class = CameraFilterSet
    filter_backends = [FilterBackend]
    parser_classes = [JSONParser]
    read_serializer_class = CameraSerializer
    write_serializer_class = CameraWriteSerializer
    delete_service = staticmethod(services.delete_camera)
    lookup_value_regex = r"[0-9]+"

    def display_queryset(self):
        return cameras_for_display()

    @extend_schema(
        tags=["registry"],
        operation_id="cameras_nearest",
        parameters=[NearestQuerySerializer],
        filters=True,
        responses={200: NearestResponseSerializer, 400: ERRORS[400], 403: ERRORS[403]},
        description=_(
            "The n cameras nearest to (lat, lon) by geodesic distance, nearest first; the other "
            "filters narrow the cameras searched."
        ),
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def nearest(self, request):
        params = NearestQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        p = params.validated_data
        queryset = self.filter_queryset(self.get_queryset()).prefetch_related(None)
        hits = nearest(queryset, p["lon"], p["lat"], n=p["n"], radius_m=p.get("radius_m"))
        cameras = []
        for hit in hits:
            hit.obj.distance_m = round(hit.distance_m, 3)
            cameras.append(hit.obj)
        prefetch_related_objects(
            cameras,
            Prefetch("secondary_purposes", queryset=SecondaryPurpose.objects.select_related("expansion")),
        )
        data = NearestCameraSerializer(cameras, many=True, context=self.get_serializer_context()).data
        return Response({"count": len(data), "results": data})


# --- purpose-expansion records --------------------------------------------------------------------


class PurposeExpansionSerializer(serializers.ModelSerializer):
    purpose = ChoiceSetField(Purpose, read_only=True)
    procedure = ChoiceSetField(ExpansionProcedure, read_only=True)
    purpose_label = ChoiceLabelField(Purpose, source="purpose")
    procedure_label = ChoiceLabelField(ExpansionProcedure, source="procedure")
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, default=None
    )
    cameras = serializers.SerializerMethodField(help_text=_("Ids of the cameras the record covers."))

    class Meta:
        model = PurposeExpansion
        # fmt: off
        fields = [
            "id", "purpose", "purpose_label", "procedure", "procedure_label", "started_on", "ended_on",
            "decided_on", "document_number", "approver", "notes", "cameras", "created_by", "created_at",
        ]
        # fmt: on
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_cameras(self, record: PurposeExpansion) -> list[int]:
        return sorted(sp.camera_id for sp in record.camera_purposes.all())


class PurposeExpansionWriteSerializer(serializers.ModelSerializer):
    purpose = ChoiceSetField(Purpose)
    procedure = ChoiceSetField(ExpansionProcedure)
    cameras = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=_MAX_ID),
        min_length=1,
        max_length=MAX_EXPANSION_CAMERAS,
        help_text=_("Ids of the cameras the procedure covers."),
    )

    class Meta:
        model = PurposeExpansion
        # fmt: off
        fields = [
            "purpose", "procedure", "started_on", "ended_on", "decided_on", "document_number", "approver",
            "notes", "cameras",
        ]
        # fmt: on

    def validate_cameras(self, ids: list[int]) -> list[Camera]:
        wanted = set(ids)
        user = self.context["request"].user
        cameras = list(restrict(user, "registry.purpose_expansion", Camera.objects.filter(pk__in=wanted)))
        missing = wanted - {c.pk for c in cameras}
        if missing:
            shown = ", ".join(str(i) for i in sorted(missing)[:20])
            raise serializers.ValidationError(
                _("Unknown camera id(s): %(ids)s") % {"ids": shown}, code="does_not_exist"
            )
        return cameras

    def create(self, validated_data):
        return services.record_purpose_expansion(**validated_data, by=self.context["request"].user)


@extend_schema_view(
    list=extend_schema(
        tags=["registry"], responses={200: PurposeExpansionSerializer(many=True), 403: ERRORS[403]}
    ),
    retrieve=extend_schema(
        tags=["registry"], responses={200: PurposeExpansionSerializer, 403: ERRORS[403], 404: ERRORS[404]}
    ),
    create=extend_schema(
        tags=["registry"],
        request=PurposeExpansionWriteSerializer,
        responses={201: PurposeExpansionSerializer, **ERRORS},
    ),
)
class PurposeExpansionViewSet(
    RestrictedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Purpose-expansion records (목적 확대 절차): recording one activates the purpose on its cameras."""

    permission_actions = {"read": "registry.purpose_expansion", "write": "registry.purpose_expansion"}
    queryset = PurposeExpansion.objects.select_related("created_by").prefetch_related(
        Prefetch("camera_purposes", queryset=SecondaryPurpose.objects.only("id", "camera_id", "expansion_id"))
    )
    filter_backends: list = []
    parser_classes = [JSONParser]
    lookup_value_regex = r"[0-9]+"

    def get_serializer_class(self):
        return PurposeExpansionWriteSerializer if self.action == "create" else PurposeExpansionSerializer

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = serializer.save()
        fresh = self.queryset.get(pk=record.pk)
        return Response(
            PurposeExpansionSerializer(fresh, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )
