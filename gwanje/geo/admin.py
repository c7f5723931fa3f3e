from django.contrib import admin

from gwanje.core.admin import ChokePointAdmin
from gwanje.geo.models import AdminDong, ChildProtectionZone, District, PoliceOffice


class LayerAdmin(ChokePointAdmin):
    view_action = "geo.view"
    change_action = "geo.change"
    delete_action = "geo.change"


@admin.register(District)
class DistrictAdmin(LayerAdmin):
    list_display = ["code", "name", "name_en"]


@admin.register(AdminDong)
class AdminDongAdmin(LayerAdmin):
    list_display = ["code", "name", "district"]
    search_fields = ["name", "code"]


@admin.register(PoliceOffice)
class PoliceOfficeAdmin(LayerAdmin):
    list_display = ["name", "address"]
    search_fields = ["name", "address"]


@admin.register(ChildProtectionZone)
class ChildProtectionZoneAdmin(LayerAdmin):
    list_display = ["facility_name", "facility_kind", "address"]
    list_filter = ["facility_kind"]
    search_fields = ["facility_name", "address"]
