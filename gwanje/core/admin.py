"""The back-office (Django admin) behind the permission choke point.

The admin site requires the `admin.access` action; each ModelAdmin maps view/add/change/delete to
choke-point actions and restricts its queryset. Map widgets use the OpenLayers vendored from npm
(Django's default loads it from a CDN, which a closed network cannot reach).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.gis import admin as gis_admin
from django.contrib.gis.forms.widgets import OpenLayersWidget
from django.utils.translation import gettext_lazy as _

from gwanje.core import permissions


class GwanjeAdminSite(admin.AdminSite):
    site_header = site_title = _("Gwanje back office")
    index_title = _("Back office")

    def has_permission(self, request) -> bool:
        return permissions.allowed(request.user, "admin.access")


class GwanjeAdminConfig(AdminConfig):
    default_site = "gwanje.core.admin.GwanjeAdminSite"


class LocalOpenLayersWidget(OpenLayersWidget):
    class Media:
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/ol.js", "gis/js/OLMapWidget.js")


class ChokePointAdmin(gis_admin.GISModelAdmin):
    """A ModelAdmin whose permissions come from gwanje.core.permissions."""

    view_action = "registry.view"
    change_action = "registry.change"
    delete_action = "registry.delete"
    gis_widget = LocalOpenLayersWidget
    gis_widget_kwargs = {"attrs": {"default_lon": 127.04, "default_lat": 37.55, "default_zoom": 13}}

    def _can(self, request, action: str) -> bool:
        return permissions.allowed(request.user, "admin.access") and permissions.allowed(request.user, action)

    def has_module_permission(self, request) -> bool:
        return self._can(request, self.view_action)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._can(request, self.view_action)

    def has_add_permission(self, request) -> bool:
        return self._can(request, self.change_action)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._can(request, self.change_action)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._can(request, self.delete_action)

    # The service that deletes one object (obj, *, by); None keeps Django's own delete.
    delete_service = None

    def delete_model(self, request, obj):
        if self.delete_service is None:
            return super().delete_model(request, obj)
        type(self).delete_service(obj, by=request.user)

    def delete_queryset(self, request, queryset):
        if self.delete_service is None:
            return super().delete_queryset(request, queryset)
        for obj in queryset:
            type(self).delete_service(obj, by=request.user)

    def get_queryset(self, request):
        return permissions.restrict(request.user, self.view_action, super().get_queryset(request))
