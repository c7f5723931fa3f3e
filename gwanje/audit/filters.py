"""The access-log list's filter (one filter class per list, DESIGN rule 5)."""

from __future__ import annotations

from datetime import timedelta

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gwanje.audit import days
from gwanje.audit.choices import AccessAction, AccessResult
from gwanje.audit.models import AccessLog


class AccessLogFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        for name in ("date_from", "date_to"):
            value = data.get(name)
            if value and not days.MIN_DAY <= value <= days.MAX_DAY:
                self.add_error(name, _("Give a date between 1900 and 9998."))
                data.pop(name, None)
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError(_("The start date is after the end date."))
        return data


class AccessLogFilterSet(filters.FilterSet):
    user = filters.CharFilter(field_name="username", lookup_expr="icontains", label=_("User name"))
    action = filters.ChoiceFilter(choices=AccessAction.choices(), label=_("Action"))
    result = filters.ChoiceFilter(choices=AccessResult.choices(), label=_("Result"))
    subject = filters.CharFilter(field_name="subject", lookup_expr="icontains", label=_("Subject"))
    date_from = filters.DateFilter(
        method="filter_from", label=_("From (date)"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = filters.DateFilter(
        method="filter_to", label=_("To (date)"), widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = AccessLog
        fields = ["user", "action", "result", "subject", "date_from", "date_to"]
        form = AccessLogFilterForm

    def filter_from(self, queryset, name, value):
        return queryset.filter(at__gte=days.start_of(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(at__lt=days.start_of(value + timedelta(days=1)))
