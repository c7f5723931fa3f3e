from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from gwanje.accounts.models import Organisation
from gwanje.core.admin import ChokePointAdmin
from gwanje.core.permissions import restrict
from gwanje.registry import services
from gwanje.registry.models import Camera, PurposeExpansion, SecondaryPurpose, Site

_STREAM_SCHEMES = ["rtsp", "rtsps", "http", "https", "rtmp", "srt"]


class PointInKoreaMixin:
    """A point outside Korea (or with lat/lon swapped) is a form error, not a failed save."""

    def clean_point(self):
        point = self.cleaned_data.get("point")
        if point is not None:
            try:
                services.make_point(point.x, point.y)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["point"]) from None
        return point


class SiteAdminForm(PointInKoreaMixin, forms.ModelForm):
    class Meta:
        model = Site
        fields = [
            "code",
            "name",
            "road_address",
            "jibun_address",
            "point",
            "department",
            "owner",
            "is_mobile",
            "has_onsite_storage",
            "has_emergency_bell",
            "is_smart_shelter",
            "installed_on",
            "installed_on_precision",
            "notes",
            "is_synthetic",
            "source",
        ]


class CameraAdminForm(PointInKoreaMixin, forms.ModelForm):
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
    form = SiteAdminForm
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

    delete_service = staticmethod(services.delete_site)


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

    delete_service = staticmethod(services.delete_camera)


class PurposeExpansionAddForm(forms.ModelForm):
    """Recording a procedure names the cameras it covers: whole departments and/or single cameras."""

    departments = forms.ModelMultipleChoiceField(
        label=_("departments (all their cameras)"),
        required=False,
        queryset=Organisation.objects.filter(sites__isnull=False).distinct().order_by("name"),
    )
    cameras = forms.ModelMultipleChoiceField(
        label=_("cameras"), required=False, queryset=Camera.objects.none()
    )

    class Meta:
        model = PurposeExpansion
        fields = [
            "purpose",
            "procedure",
            "started_on",
            "ended_on",
            "decided_on",
            "document_number",
            "approver",
            "notes",
        ]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["cameras"].queryset = restrict(
            user, "registry.view", Camera.objects.select_related("site")
        )
        self.fields["cameras"].widget = admin.widgets.FilteredSelectMultiple(_("cameras"), is_stacked=False)

    def clean(self):
        data = super().clean()
        chosen = set(data.get("cameras") or [])
        departments = data.get("departments") or []
        if departments:
            chosen |= set(self.fields["cameras"].queryset.filter(site__department__in=departments))
        data["covered"] = sorted(chosen, key=lambda c: c.pk)
        if all(data.get(f) for f in ("purpose", "started_on", "decided_on")):
            try:
                services.check_purpose_expansion(
                    purpose=data["purpose"],
                    started_on=data["started_on"],
                    decided_on=data["decided_on"],
                    ended_on=data.get("ended_on"),
                    camera_ids=[c.pk for c in data["covered"]],
                )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, messages)
        return data


@admin.register(PurposeExpansion)
class PurposeExpansionAdmin(ChokePointAdmin):
    """Records are evidence of a lawful procedure: created with the cameras they cover (through the
    service, which activates the purpose on them), afterwards only their notes change."""

    view_action = "registry.view"
    change_action = "registry.purpose_expansion"
    delete_action = "registry.purpose_expansion"
    list_display = ["purpose", "procedure", "document_number", "decided_on", "approver", "camera_count"]
    list_filter = ["purpose", "procedure"]
    search_fields = ["document_number", "approver", "notes"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "purpose",
            "procedure",
            "started_on",
            "ended_on",
            "decided_on",
            "document_number",
            "approver",
            "created_by",
            "created_at",
            "camera_count",
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        form_class = PurposeExpansionAddForm

        class BoundForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=request.user, **kw)

        return BoundForm

    @admin.display(description=_("cameras"))
    def camera_count(self, obj):
        return obj.camera_purposes.count()

    def save_model(self, request, obj, form, change):
        if change:
            services.update_purpose_expansion_notes(obj, obj.notes, by=request.user)
            return
        data = form.cleaned_data
        record = services.record_purpose_expansion(
            purpose=data["purpose"],
            procedure=data["procedure"],
            started_on=data["started_on"],
            ended_on=data.get("ended_on"),
            decided_on=data["decided_on"],
            document_number=data["document_number"],
            approver=data["approver"],
            notes=data.get("notes", ""),
            cameras=data["covered"],
            by=request.user,
        )
        obj.pk = record.pk
