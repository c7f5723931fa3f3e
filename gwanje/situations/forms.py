from django import forms
from django.utils.translation import gettext_lazy as _

from gwanje.situations.models import DEFAULT_GRANT_HOURS, DEFAULT_GRANT_RADIUS_M
from gwanje.situations.services import MAX_GRANT_HOURS


class IncidentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    lat = forms.FloatField(label=_("Latitude"), min_value=33, max_value=39)
    lon = forms.FloatField(label=_("Longitude"), min_value=124, max_value=132)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)


class GrantForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000,
        help_text=_("Why you need the video of the cameras near this incident (recorded in the access log)."),
    )  # fmt: skip
    radius_m = forms.IntegerField(
        label=_("Radius (m)"), min_value=50, max_value=5000, initial=DEFAULT_GRANT_RADIUS_M
    )
    hours = forms.FloatField(
        label=_("Valid for (hours)"), min_value=0.25, max_value=MAX_GRANT_HOURS, initial=DEFAULT_GRANT_HOURS
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
