"""/api/v1/: the REST API (session or token auth; every 4xx is {"errors": [...]}).

The map console fetches /api/v1/layers/… and /api/v1/cameras/nearest/: keep those paths.
"""

from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.settings import patched_settings, spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.routers import SimpleRouter

from gwanje.accounts.api import OrganisationViewSet
from gwanje.core.middleware import content_security_policy
from gwanje.geo import api as geo_api
from gwanje.registry.api import CameraViewSet, PurposeExpansionViewSet, SiteViewSet
from gwanje.situations import webhooks
from gwanje.situations.api import GrantViewSet
from gwanje.situations.api_incidents import IncidentViewSet
from gwanje.video.api_playback import CameraRecordingsView
from gwanje.video.api_wall import WallLayoutViewSet


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema, for logged-in users; errors in the API's JSON body, not YAML."""

    permission_classes = [IsAuthenticated]

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


class DocsView(SpectacularSwaggerView):
    """Swagger UI from /static/vendor/swagger-ui; the online validator (an external host) is off."""

    permission_classes = [IsAuthenticated]

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        ui = {**spectacular_settings.SWAGGER_UI_SETTINGS, "validatorUrl": None}
        with patched_settings({"SWAGGER_UI_SETTINGS": ui}):
            response = super().get(request, *args, **kwargs)
        # Swagger UI boots from an inline script: the one page whose policy allows that.
        response["Content-Security-Policy"] = content_security_policy(inline_scripts=True)
        return response


router = SimpleRouter()
router.register("sites", SiteViewSet, basename="api-site")
router.register("cameras", CameraViewSet, basename="api-camera")
router.register("purpose-expansions", PurposeExpansionViewSet, basename="api-purpose-expansion")
router.register("organisations", OrganisationViewSet, basename="api-organisation")
router.register("incidents", IncidentViewSet, basename="api-incident")
router.register("grants", GrantViewSet, basename="api-grant")
router.register("wall-layouts", WallLayoutViewSet, basename="api-wall-layout")

urlpatterns = [
    path("events/<slug:kind>/", webhooks.event_webhook, name="api-event-webhook"),
    path("cameras/<int:pk>/recordings/", CameraRecordingsView.as_view(), name="api-camera-recordings"),
    *router.urls,
    path("layers/district/", geo_api.DistrictLayer.as_view(), name="api-layer-district"),
    path("layers/dongs/", geo_api.DongLayer.as_view(), name="api-layer-dongs"),
    path("layers/police-offices/", geo_api.PoliceOfficeLayer.as_view(), name="api-layer-police-offices"),
    path(
        "layers/child-protection-zones/",
        geo_api.ChildProtectionZoneLayer.as_view(),
        name="api-layer-child-protection-zones",
    ),
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", login_required(DocsView.as_view(url_name="api-schema")), name="api-docs"),
]
