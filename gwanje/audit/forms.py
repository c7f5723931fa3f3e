"""Forms of the audit pages: the month picker, the review record and the export request."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gwanje.audit import days, exports


class MonthField(forms.CharField):
    """YYYY-MM → the month's first day."""

    widget = forms.TextInput(attrs={"type": "month", "pattern": r"\d{4}-\d{2}", "placeholder": "2026-11"})

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return days.parse_month(value)
        except ValueError:
            raise ValidationError(_("Give a month as YYYY-MM, e.g. 2026-11."), code="invalid") from None


class MonthForm(forms.Form):
    month = MonthField(label=_("Month"), required=False)


class ReviewForm(forms.Form):
    remarks = forms.CharField(
        label=_("Remarks"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text=_("What you checked, what you found and what was done about it."),
    )


class ExportForm(forms.Form):
    month = MonthField(label=_("Month"))
    what = forms.ChoiceField(
        label=_("What"),
        choices=[
            ("access", _("Access log")),
            ("logins", _("Login events")),
            ("changes", _("Permission changes")),
            ("reviews", _("Monthly reviews")),
            ("flags", _("Review flags")),
        ],
    )
    format = forms.ChoiceField(label=_("Format"), choices=[(f, f.upper()) for f in exports.FORMATS])
