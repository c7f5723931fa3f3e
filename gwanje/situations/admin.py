"""Back office: event devices. A device's secret is shown once, when it is made or rotated, and
never again (it is stored encrypted; the broker keeps only a hash)."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gwanje.core.admin import ChokePointAdmin
from gwanje.situations.models import Device
from gwanje.situations.services import devices


@admin.register(Device)
class DeviceAdmin(ChokePointAdmin):
    view_action = "intake.view"
    change_action = "intake.manage"
    delete_action = "intake.manage"
    list_display = ["device_id", "kind", "name", "site", "camera", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["device_id", "name", "site__code"]
    raw_id_fields = ["site", "camera"]
    fields = ["device_id", "kind", "name", "site", "camera", "is_active"]
    actions = ["rotate_secrets"]

    def get_readonly_fields(self, request, obj=None):
        return ["device_id", "kind"] if obj else []

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # incidents point at their device: deactivate instead

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        if change:
            devices.update_device(
                obj, name=d["name"], site=d["site"], camera=d["camera"], is_active=d["is_active"]
            )
            return
        made = devices.register_device(
            device_id=d["device_id"], kind=d["kind"], name=d["name"], site=d["site"], camera=d["camera"]
        )
        obj.pk = made.pk
        messages.warning(
            request,
            _("Secret of %(device)s (shown only now; set it in the device): %(secret)s")
            % {"device": made.device_id, "secret": made.secret},
        )

    @admin.action(description=gettext_lazy("Rotate the secret (shown once)"))
    def rotate_secrets(self, request, queryset):
        for device in queryset:
            secret = devices.rotate_secret(device)
            messages.warning(
                request,
                _("Secret of %(device)s (shown only now; set it in the device): %(secret)s")
                % {"device": device.device_id, "secret": secret},
            )
