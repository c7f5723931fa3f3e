"""The incident page (timeline, notes, workflow buttons, images and snapshots), the duty matrix
page that supervisors edit, and the dead letters of event intake for administrators."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from gwanje.audit import services as audit
from gwanje.core import access, permissions
from gwanje.registry.models import Camera
from gwanje.situations import queries, services
from gwanje.situations.choices import Action, DeadReason, IncidentKind, UtilisationResult
from gwanje.situations.models import DeadLetter, Device, DutyRule, Incident, IncidentImage
from gwanje.situations.services import duties, workflow
from gwanje.video.snapshots import SnapshotError


def _incident(request, pk: int) -> Incident:
    qs = permissions.restrict(
        request.user,
        "incidents.view",
        Incident.objects.select_related("device", "site", "camera__site", "opened_by", "closed_by"),
    )
    return access.visible_or_404(request, qs, pk, what="view")


def _log_personal(request, incident: Incident, what: str = "view") -> None:
    if queries.has_personal_data(incident):
        audit.record_access(
            user=request.user,
            action=what,
            subject_type="incident",
            subject=f"incident:{incident.number}",
            reason=IncidentKind.label(incident.kind),
            request=request,
        )


def timeline(incident: Incident) -> list[dict]:
    rows = [
        {"at": t.at, "who": t.actor, "party": t.party, "action": t.action, "to": t.to_status, "text": t.note}
        for t in incident.transitions.select_related("actor")
    ]
    rows += [
        {"at": n.at, "who": n.author, "action": "note", "text": n.text}
        for n in incident.notes.select_related("author")
    ]
    rows += [
        {"at": i.at, "action": "image", "image": i}
        for i in incident.images.only("id", "at", "caption", "camera")
    ]
    return sorted(rows, key=lambda r: r["at"])


class ActForm(forms.Form):
    action = forms.ChoiceField(choices=Action.choices())
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)
    unit = forms.CharField(label=gettext_lazy("Patrol unit"), max_length=60, required=False)
    result = forms.ChoiceField(
        label=gettext_lazy("CCTV utilisation result"),
        choices=[("", "—")] + UtilisationResult.choices(),
        required=False,
    )
    result_text = forms.CharField(
        label=gettext_lazy("Result details"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        required=False,
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class SnapshotForm(forms.Form):
    camera = forms.IntegerField(min_value=1)
    when = forms.ChoiceField(
        choices=[("live", gettext_lazy("Now (live)")), ("event", gettext_lazy("At the first event"))]
    )


def incident_context(request, incident: Incident, **extra) -> dict:
    return {
        "incident": incident,
        "timeline": timeline(incident),
        "actions": [(a, Action.label(a)) for a in services.allowed_actions(request.user, incident)],
        "act_form": extra.pop("act_form", None) or ActForm(),
        "note_form": extra.pop("note_form", None) or NoteForm(),
        "can_handle": permissions.allowed(request.user, "incidents.handle"),
        "can_snapshot": permissions.allowed(request.user, "video.snapshot"),
        "nearest": queries.nearest_cameras(request.user, incident),
        "track": incident.positions.all() if incident.kind in (IncidentKind.SOS, IncidentKind.PLATE) else [],
        **extra,
    }


@permissions.requires("incidents.handle")
@require_POST
def incident_act(request, pk: int):
    incident = _incident(request, pk)
    form = ActForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.act(user=request.user, incident=incident, request=request, **d)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("%(action)s: done.") % {"action": Action.label(d["action"])})
    else:
        messages.error(request, _("Choose an action."))
    return redirect("situations:incident_detail", pk=incident.pk)


@permissions.requires("incidents.handle")
@require_POST
def incident_note(request, pk: int):
    incident = _incident(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        services.add_note(user=request.user, incident=incident, text=form.cleaned_data["text"])
        messages.success(request, _("Note added."))
    else:
        messages.error(request, _("Write the note first."))
    return redirect("situations:incident_detail", pk=incident.pk)


@permissions.requires("incidents.handle", "video.snapshot")
@require_POST
def incident_snapshot(request, pk: int):
    incident = _incident(request, pk)
    form = SnapshotForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a camera."))
        return redirect("situations:incident_detail", pk=incident.pk)
    qs = permissions.restrict(request.user, "registry.view", Camera.objects.all())
    camera = access.visible_or_404(request, qs, form.cleaned_data["camera"], what="snapshot")
    t = incident.first_event_at if form.cleaned_data["when"] == "event" else None
    try:
        workflow.attach_snapshot(user=request.user, incident=incident, camera=camera, t=t, request=request)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except SnapshotError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Snapshot of %(camera)s saved to the incident.") % {"camera": camera.label}
        )
    return redirect("situations:incident_detail", pk=incident.pk)


@permissions.requires("incidents.view")
@require_GET
def incident_image(request, pk: int, image_id: int):
    """An event image or snapshot of the incident: personal data, each view logged."""
    incident = _incident(request, pk)
    image = get_object_or_404(IncidentImage, pk=image_id, incident=incident)
    audit.record_access(
        user=request.user,
        action="view",
        subject_type="incident",
        subject=f"incident:{incident.number} image:{image.pk}",
        reason=image.caption,
        request=request,
    )
    response = HttpResponse(bytes(image.content), content_type="image/jpeg")
    response["Cache-Control"] = "no-store"
    return response


# --- division of duties -------------------------------------------------------------------------
class DutyForm(forms.ModelForm):
    class Meta:
        model = DutyRule
        fields = [
            "recognised_by",
            "responded_by",
            "day_first",
            "night_first",
            "day_starts",
            "day_ends",
            "correlation_minutes",
            "ack_seconds",
            "handover_seconds",
            "dispatch_seconds",
            "note",
        ]
        widgets = {
            "day_starts": forms.TimeInput(attrs={"type": "time"}),
            "day_ends": forms.TimeInput(attrs={"type": "time"}),
        }


@permissions.requires("incidents.view")
def duty_matrix(request):
    """The Annex 2 matrix: everyone who handles incidents may read it; supervisors edit a row."""
    can_edit = permissions.allowed(request.user, "duty.manage")
    rules = list(DutyRule.objects.all())
    forms_by_kind = {r.kind: DutyForm(instance=r, prefix=r.kind) for r in rules}
    if request.method == "POST":
        permissions.require(request.user, "duty.manage")
        kind = request.POST.get("kind", "")
        rule = get_object_or_404(DutyRule, kind=kind)
        form = DutyForm(request.POST, instance=DutyRule.objects.get(pk=rule.pk), prefix=kind)
        if form.is_valid():
            try:
                duties.update_rule(user=request.user, rule=rule, data=form.cleaned_data, request=request)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(
                    request,
                    _("Division of duties for “%(kind)s” saved.") % {"kind": IncidentKind.label(kind)},
                )
                return redirect("situations:duty_matrix")
        forms_by_kind[kind] = form
    rows = [(r, forms_by_kind[r.kind]) for r in rules]
    return render(
        request,
        "situations/duty_matrix.html",
        {"rows": rows, "can_edit": can_edit, "now": timezone.localtime()},
    )


# --- intake: dead letters and devices ---------------------------------------------------------------
@permissions.requires("intake.view")
@require_GET
def dead_letters(request):
    qs = DeadLetter.objects.all()
    reason = request.GET.get("reason", "")
    if reason in DeadReason.values():
        qs = qs.filter(reason=reason)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "situations/dead_letters.html",
        {
            "page": page,
            "reasons": DeadReason.legend(),
            "reason": reason,
            "devices": Device.objects.select_related("site", "camera__site").order_by("kind", "device_id")[
                :500
            ],
        },
    )
