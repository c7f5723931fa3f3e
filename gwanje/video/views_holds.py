"""Pages: the legal holds in force, a form to place one, release buttons (`video.holds`).

Periods are entered and shown in Korean time (Asia/Seoul). Placing and releasing go through
gwanje.video.holds (validation, the camera lock, the access-log record)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gwanje.core import access, permissions
from gwanje.video import holds as services

SEOUL = ZoneInfo("Asia/Seoul")
LOCAL_INPUT = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def url_for(name: str, *args) -> str:
    """reverse() under the `video` namespace when the routes are included there, else by bare name."""
    try:
        return reverse(f"video:{name}", args=args)
    except NoReverseMatch:
        return reverse(name, args=args)


class LocalDateTimeField(forms.DateTimeField):
    """A datetime-local input read as Korean time."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}, format="%Y-%m-%dT%H:%M:%S")

    def __init__(self, **kwargs) -> None:
        super().__init__(input_formats=LOCAL_INPUT, **kwargs)

    def to_python(self, value):
        with timezone.override(SEOUL):
            return super().to_python(value)


class HoldForm(forms.Form):
    camera = forms.IntegerField(label=gettext_lazy("Camera id"), min_value=1)
    start = LocalDateTimeField(label=gettext_lazy("From (Korean time)"))
    end = LocalDateTimeField(label=gettext_lazy("Until (Korean time)"))
    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000,
        help_text=gettext_lazy("Why this video must be kept (recorded in the access log)."),
    )  # fmt: skip
    case_number = forms.CharField(label=gettext_lazy("Case number"), max_length=60, required=False)
    expires_at = LocalDateTimeField(
        label=gettext_lazy("Review by (Korean time)"),
        required=False,
        help_text=gettext_lazy("The hold is not released then: it is flagged for review."),
    )


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@permissions.requires("video.holds")
def hold_list(request):
    form = HoldForm()
    if request.method == "POST":
        form = HoldForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            camera = (
                services.visible_cameras(request.user).select_related("site").filter(pk=d["camera"]).first()
            )
            if camera is None:
                form.add_error("camera", _("No such camera."))
            else:
                try:
                    hold = services.place_hold(
                        request.user,
                        camera,
                        d["start"],
                        d["end"],
                        d["reason"],
                        case_number=d["case_number"],
                        expires_at=d["expires_at"],
                        request=request,
                    )
                except ValidationError as exc:
                    _add_errors(form, exc)
                else:
                    messages.success(
                        request,
                        _(
                            "Legal hold #%(id)s placed on camera %(camera)s: %(n)s segment(s) are kept "
                            "until it is released."
                        )
                        % {"id": hold.pk, "camera": camera.label, "n": services.held_segments(hold).count()},
                    )
                    return redirect(url_for("holds"))
    now = timezone.now()
    visible = services.visible_holds(request.user).select_related("camera__site", "owner", "released_by")
    active = list(visible.filter(released_at__isnull=True).order_by("-created_at")[:500])
    for hold in active:
        hold.release_url = url_for("hold_release", hold.pk)
        hold.review_due = hold.expires_at is not None and hold.expires_at < now
        hold.segment_count = services.held_segments(hold).count()
    released = list(visible.filter(released_at__isnull=False).order_by("-released_at")[:50])
    return render(
        request,
        "video/holds.html",
        {"form": form, "active": active, "released": released, "holds_url": url_for("holds")},
    )


@permissions.requires("video.holds")
@require_POST
def hold_release(request, pk: int):
    hold = access.visible_or_404(request, services.visible_holds(request.user), pk, what="release legal hold")
    try:
        services.release_hold(request.user, hold, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Legal hold #%(id)s released: its video is under the retention period again.") % {"id": pk},
        )
    return redirect(url_for("holds"))
