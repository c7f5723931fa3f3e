"""The upload form of the camera-list import."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gwanje.accounts.models import Organisation
from gwanje.core import permissions
from gwanje.registry.choices import Purpose

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # a 100,000-row standard file is about 15 MB

FORMAT_CHOICES = [
    ("standard", _("National standard data (전국CCTV표준데이터)")),
    ("seoul-ansim", _("Seoul 안심이 CCTV list")),
]
ENCODING_CHOICES = [
    ("auto", _("Detect automatically")),
    ("utf-8", "UTF-8"),
    ("cp949", "CP949 (EUC-KR)"),
]


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Camera list (CSV)"),
        help_text=_("At most 20 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    format = forms.ChoiceField(label=_("Format"), choices=FORMAT_CHOICES)
    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODING_CHOICES, initial="auto")
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("From the file (관리기관명) or the default department"),
        help_text=_(
            "Every imported site is assigned to this department. Left empty, the standard format uses "
            "the organisation named in 관리기관명 and the 안심이 list uses 자치행정과 for new sites."
        ),
    )
    other_purpose = forms.ChoiceField(
        label=_("Purpose for 기타 (other)"),
        choices=[("", "—"), *Purpose.choices()],
        required=False,
        help_text=_("Standard format: rows whose purpose is 기타 are errors unless you say what it means."),
    )
    skip_invalid = forms.BooleanField(
        label=_("Skip invalid rows"),
        required=False,
        help_text=_("Import the valid rows even when some rows have errors."),
    )

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        field = self.fields["department"]
        if user is not None and permissions.is_scoped_to_department(user):
            # A department CCTV manager imports into his own department only.
            field.queryset = Organisation.objects.filter(pk=user.organisation_id)
            field.required = True
            field.empty_label = None
            field.initial = user.organisation_id
            field.disabled = True  # a posted value is ignored
            field.help_text = _("You can import into your own department only.")
        else:
            field.queryset = Organisation.objects.filter(is_active=True).order_by("kind", "name")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB.") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload

    def clean_department(self):
        department = self.cleaned_data.get("department")
        if self.user is not None and permissions.is_scoped_to_department(self.user):
            return self.user.organisation
        return department
