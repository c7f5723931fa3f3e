from django import forms
from django.contrib import admin
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from gwanje.core.admin import ChokePointAdmin
from gwanje.registry import services
from gwanje.registry.models import Camera, PurposeExpansion, SecondaryPurpose, Site

_STREAM_SCHEMES = ["rtsp", "rtsps", "http", "https", "rtmp", "srt"]


class CameraAdminForm(forms.ModelForm):
    """Stream URLs carry credentials: never put them back into the page; blank keeps the stored one."""

    new_main_stream_url = forms.CharField(
        label=_("main stream URL"),
        required=False,
        validators=[URLValidator(schemes=_STREAM_SCHEMES)],
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 70}),
    )
    clear_main_stream_url = forms.BooleanField(label=_("remove the main stream URL"), required=False)
    new_sub_stream_url = forms.CharField(
        label=_("sub stream URL"),
        required=False,
        validators=[URLValidator(schemes=_STREAM_SCHEMES)],
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 70}),
    )
    clear_sub_stream_url = forms.BooleanField(label=_("remove the sub stream URL"), required=False)

    class Meta:
        model = Camera
        # Explicit, so a new field never appears in the form by accident; stream URLs are write-only.
        fields = [
            "site",
            "number",
            "kind",
            "point",
            "view_direction",
            "megapixels",
            "primary_purpose",
            "retention_days",
            "status",
            "notes",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("main_stream_url", "sub_stream_url"):
            current = getattr(self.instance, f"{name}_redacted", "") if self.instance.pk else ""
            self.fields[f"new_{name}"].help_text = (
                _("Stored: %(url)s — leave blank to keep it.") % {"url": current}
                if current
                else _("Not set.")
            )


class SecondaryPurposeInline(admin.TabularInline):
    model = SecondaryPurpose
    extra = 0
    fields = ["purpose", "expansion", "active"]
    readonly_fields = ["active"]
    autocomplete_fields = ["expansion"]

    @admin.display(boolean=True, description=_("active"))
    def active(self, obj):
        return obj.is_active


@admin.register(Site)
class SiteAdmin(ChokePointAdmin):
    list_display = [
        "code",
        "name",
        "department",
        "dong",
        "owner",
        "is_mobile",
        "has_onsite_storage",
        "has_emergency_bell",
        "is_synthetic",
    ]
    list_filter = [
        "department",
        "owner",
        "dong",
        "is_mobile",
        "has_onsite_storage",
        "has_emergency_bell",
        "is_smart_shelter",
        "is_synthetic",
        "source",
    ]
    search_fields = ["code", "name", "road_address", "jibun_address"]
    readonly_fields = ["dong", "created_at", "updated_at"]
    list_select_related = ["department", "dong"]

    def save_model(self, request, obj, form, change):
        services.save_site(obj, by=request.user)

    def delete_model(self, request, obj):
        services.delete_site(obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.delete_site(obj, by=request.user)


@admin.register(Camera)
class CameraAdmin(ChokePointAdmin):
    form = CameraAdminForm
    list_display = ["__str__", "kind", "primary_purpose", "status", "retention_days", "site_department"]
    list_filter = ["status", "kind", "primary_purpose", "site__department", "site__dong"]
    search_fields = ["site__code", "site__name", "view_direction"]
    list_select_related = ["site", "site__department"]
    autocomplete_fields = ["site"]
    inlines = [SecondaryPurposeInline]

    @admin.display(description=_("managing department"), ordering="site__department__name")
    def site_department(self, obj):
        return obj.site.department

    def save_model(self, request, obj, form, change):
        for name in ("main_stream_url", "sub_stream_url"):
            services.apply_stream_url(
                obj,
                name,
                form.cleaned_data.get(f"new_{name}"),
                clear=form.cleaned_data.get(f"clear_{name}", False),
            )
        services.save_camera(obj, by=request.user)

    def delete_model(self, request, obj):
        services.delete_camera(obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.delete_camera(obj, by=request.user)


@admin.register(PurposeExpansion)
class PurposeExpansionAdmin(ChokePointAdmin):
    view_action = "registry.view"
    change_action = "registry.purpose_expansion"
    delete_action = "registry.purpose_expansion"
    list_display = ["purpose", "procedure", "document_number", "decided_on", "approver", "camera_count"]
    list_filter = ["purpose", "procedure"]
    search_fields = ["document_number", "approver", "notes"]
    readonly_fields = ["created_by", "created_at"]

    @admin.display(description=_("cameras"))
    def camera_count(self, obj):
        return obj.camera_purposes.count()

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.full_clean()
        obj.save()
