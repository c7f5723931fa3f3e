"""Camera pages: the list (/registry/cameras/) and a camera (/registry/cameras/<id>/).

One view serves the full page and its htmx fragment (DESIGN rule 6): with HX-Request the list
returns its table and a camera returns its card (the card the map console shows). Every queryset
goes through the permission choke point, so a department manager sees only their department's
cameras; any other camera is a 404.
"""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from gwanje.core import access, permissions
from gwanje.registry.choices import CameraStatus, Purpose
from gwanje.registry.filters import CameraFilterSet
from gwanje.registry.models import Camera
from gwanje.registry.queries import cameras_for_display

PAGE_SIZE = 50
CHECKBOX_FIELDS = ("department", "status", "kind", "purpose", "dong")


def visible_cameras(user):
    return permissions.restrict(user, "registry.view", Camera.objects.all())


def filter_context(filterset: CameraFilterSet) -> dict:
    """Template context for the shared filter panel (registry/_camera_filters.html).

    The filter itself is CameraFilterSet; only its widgets change here: multiple choices become
    keyboard-usable checkbox groups, statuses carry their colour swatch.
    """
    form = filterset.form
    for name in CHECKBOX_FIELDS:
        field = form.fields[name]
        field.widget = forms.CheckboxSelectMultiple(choices=field.choices)
    form.fields["q"].widget.attrs.update({"type": "search", "autocomplete": "off"})
    status_options = [(cb, CameraStatus.colour(cb.data["value"])) for cb in form["status"]]
    return {"filter": filterset, "form": form, "status_options": status_options}


def _htmx_response(request, full_template: str, fragment_template: str, context: dict, status: int = 200):
    template = fragment_template if request.htmx and not request.htmx.boosted else full_template
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


@permissions.requires("registry.view")
@require_GET
def camera_list(request):
    filterset = CameraFilterSet(request.GET or None, queryset=visible_cameras(request.user), request=request)
    valid = filterset.is_bound is False or filterset.is_valid()
    qs = filterset.qs if valid else Camera.objects.none()
    qs = cameras_for_display(qs).order_by("site__code", "number")
    paginator = Paginator(qs, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {**filter_context(filterset), "page": page, "paginator": paginator, "valid": valid}
    return _htmx_response(
        request,
        "registry/camera_list.html",
        "registry/_camera_table.html",
        context,
        status=200 if valid else 400,
    )


def camera_purposes(camera: Camera) -> list[dict]:
    """Primary purpose first, then secondary ones; inactive = no purpose-expansion record (Art. 2②)."""
    out = [
        {
            "value": camera.primary_purpose,
            "label": Purpose.label(camera.primary_purpose),
            "colour": Purpose.colour(camera.primary_purpose),
            "primary": True,
            "active": True,
        }
    ]
    for sp in sorted(
        camera.secondary_purposes.all(),
        key=lambda sp: Purpose.values().index(sp.purpose) if sp.purpose in Purpose.values() else 99,
    ):
        out.append(
            {
                "value": sp.purpose,
                "label": Purpose.label(sp.purpose),
                "colour": Purpose.colour(sp.purpose),
                "primary": False,
                "active": sp.is_active,
                "expansion": sp.expansion,
            }
        )
    return out


@permissions.requires("registry.view")
@require_GET
def camera_detail(request, pk: int):
    visible = visible_cameras(request.user)
    camera = access.visible_or_404(request, cameras_for_display(visible), pk)
    site_cameras = list(
        visible.filter(site_id=camera.site_id)
        .exclude(pk=camera.pk)
        .order_by("number")
        .values("id", "number", "status")
    )
    for c in site_cameras:
        c["status_label"] = CameraStatus.label(c["status"])
        c["status_colour"] = CameraStatus.colour(c["status"])
    flags = [
        (camera.site.has_onsite_storage, camera.site._meta.get_field("has_onsite_storage").verbose_name),
        (camera.site.is_mobile, camera.site._meta.get_field("is_mobile").verbose_name),
        (camera.site.has_emergency_bell, camera.site._meta.get_field("has_emergency_bell").verbose_name),
        (camera.site.is_smart_shelter, camera.site._meta.get_field("is_smart_shelter").verbose_name),
    ]
    purposes = camera_purposes(camera)
    context = {
        "camera": camera,
        "site": camera.site,
        "purposes": purposes,
        "inactive_purposes": [p for p in purposes if not p["active"]],
        "site_cameras": site_cameras,
        "flags": [label for on, label in flags if on],
    }
    return _htmx_response(request, "registry/camera_detail.html", "registry/_camera_card.html", context)
