"""One filter class per list (DESIGN rule 5): the HTML list, the map console, the API `?field=`
parameters and exports all filter cameras with CameraFilterSet."""

from __future__ import annotations

import django_filters as filters
from django import forms
from django.contrib.gis.geos import Polygon
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gwanje.accounts.models import Organisation
from gwanje.core import permissions
from gwanje.geo.models import AdminDong
from gwanje.geo.queries import in_korea
from gwanje.registry.choices import CameraKind, CameraStatus, Owner, Purpose
from gwanje.registry.models import Camera, Site
from gwanje.registry.queries import active_purpose_q


class IdMultipleChoiceField(filters.fields.ModelMultipleChoiceField):
    """An id beyond the database's integer range is an invalid choice, not an OverflowError (500)."""

    def _check_values(self, value):
        for pk in value:
            try:
                too_big = abs(int(str(pk).strip())) > 2**63 - 1
            except ValueError:
                continue
            if too_big:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)


class IdMultipleChoiceFilter(filters.ModelMultipleChoiceFilter):
    field_class = IdMultipleChoiceField


class BBoxField(forms.CharField):
    """`minlon,minlat,maxlon,maxlat` in WGS84, inside Korea."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            minx, miny, maxx, maxy = (float(v) for v in value.split(","))
        except ValueError:
            raise ValidationError(
                _("bbox must be four numbers: minlon,minlat,maxlon,maxlat."), code="invalid"
            ) from None
        if minx >= maxx or miny >= maxy:
            raise ValidationError(_("bbox minimums must be smaller than its maximums."), code="invalid")
        if not (in_korea(minx, miny) and in_korea(maxx, maxy)):
            raise ValidationError(
                _("bbox must lie in Korea (latitude 33–39, longitude 124–132)."), code="invalid"
            )
        return Polygon.from_bbox((minx, miny, maxx, maxy))


class BBoxFilter(filters.Filter):
    field_class = BBoxField

    def filter(self, qs, value):
        return qs.filter(**{f"{self.field_name}__within": value}) if value else qs


def _departments(request):
    """Departments that manage sites; a department-scoped user is offered only his own."""
    qs = Organisation.objects.filter(sites__isnull=False).distinct().order_by("name")
    user = getattr(request, "user", None)
    if user is not None and permissions.is_scoped_to_department(user):
        qs = qs.filter(pk=user.organisation_id)
    return qs


class CameraFilterSet(filters.FilterSet):
    department = IdMultipleChoiceFilter(
        field_name="site__department", queryset=_departments, label=_("Department")
    )
    purpose = filters.MultipleChoiceFilter(
        choices=Purpose.choices(), method="filter_purpose", label=_("Purpose (active)")
    )
    kind = filters.MultipleChoiceFilter(choices=CameraKind.choices(), label=_("Kind"))
    status = filters.MultipleChoiceFilter(choices=CameraStatus.choices(), label=_("Status"))
    owner = filters.ChoiceFilter(field_name="site__owner", choices=Owner.choices(), label=_("Owner"))
    dong = IdMultipleChoiceFilter(
        field_name="site__dong", queryset=AdminDong.objects.order_by("name"), label=_("Administrative dong")
    )
    site = filters.CharFilter(field_name="site__code", lookup_expr="iexact", label=_("Site code"))
    bbox = BBoxFilter(field_name="point", label=_("Bounding box"))
    q = filters.CharFilter(method="filter_q", label=_("Search"))

    class Meta:
        model = Camera
        fields = ["department", "purpose", "kind", "status", "owner", "dong", "site", "bbox", "q"]

    def filter_purpose(self, qs, name, value):
        if not value:
            return qs
        q = Q()
        for purpose in value:
            q |= active_purpose_q(purpose)
        return qs.filter(q)

    def filter_q(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        return qs.filter(
            Q(site__code__icontains=value)
            | Q(site__name__icontains=value)
            | Q(site__road_address__icontains=value)
            | Q(site__jibun_address__icontains=value)
            | Q(view_direction__icontains=value)
            | Q(notes__icontains=value)
        )


class SiteFilterSet(filters.FilterSet):
    department = IdMultipleChoiceFilter(queryset=_departments, label=_("Department"))
    owner = filters.ChoiceFilter(choices=Owner.choices(), label=_("Owner"))
    dong = IdMultipleChoiceFilter(queryset=AdminDong.objects.order_by("name"), label=_("Administrative dong"))
    bbox = BBoxFilter(field_name="point", label=_("Bounding box"))
    q = filters.CharFilter(method="filter_q", label=_("Search"))

    class Meta:
        model = Site
        fields = [
            "department",
            "owner",
            "dong",
            "is_mobile",
            "has_onsite_storage",
            "has_emergency_bell",
            "is_smart_shelter",
            "bbox",
            "q",
        ]

    def filter_q(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        return qs.filter(
            Q(code__icontains=value)
            | Q(name__icontains=value)
            | Q(road_address__icontains=value)
            | Q(jibun_address__icontains=value)
        )
