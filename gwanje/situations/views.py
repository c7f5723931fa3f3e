"""Pages: incidents (minimal), a police user's video-grant request, and the grants board that
supervisors watch live (htmx refresh)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gwanje.core import access, permissions
from gwanje.situations import services
from gwanje.situations.forms import GrantForm, IncidentForm, RevokeForm
from gwanje.situations.models import Incident
from gwanje.situations.services import visible_grants
from gwanje.situations.views_incidents import _incident, _log_personal, incident_context


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@permissions.requires("incidents.view")
def incident_list(request):
    form = IncidentForm()
    if request.method == "POST":
        permissions.require(request.user, "incidents.manage")
        form = IncidentForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                incident = services.open_incident(
                    user=request.user, title=d["title"], lon=d["lon"], lat=d["lat"], address=d["address"]
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("Incident %(n)s opened.") % {"n": incident.number})
                return redirect("situations:incident_detail", pk=incident.pk)
    qs = permissions.restrict(request.user, "incidents.view", Incident.objects.select_related("opened_by"))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "situations/incident_list.html", {"page": page, "form": form})


@permissions.requires("incidents.view")
def incident_detail(request, pk: int):
    incident = _incident(request, pk)
    form = GrantForm()
    if request.method == "POST":
        permissions.require(request.user, "grants.create")
        form = GrantForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                grant = services.create_grant(
                    user=request.user,
                    incident=incident,
                    reason=d["reason"],
                    radius_m=d["radius_m"],
                    hours=d["hours"],
                    request=request,
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Video grant #%(id)s: %(n)s cameras until %(t)s.")
                    % {
                        "id": grant.pk,
                        "n": grant.cameras.count(),
                        "t": timezone.localtime(grant.expires_at).strftime("%H:%M"),
                    },
                )
                return redirect("situations:incident_detail", pk=incident.pk)
    grants = visible_grants(request.user).filter(incident=incident)
    _log_personal(request, incident)
    context = incident_context(
        request,
        incident,
        grants=grants,
        form=form,
        can_request=permissions.allowed(request.user, "grants.create"),
    )
    return render(request, "situations/incident_detail.html", context)


@permissions.requires("incidents.manage")
@require_POST
def incident_close(request, pk: int):
    incident = _incident(request, pk)
    try:
        services.close_incident(user=request.user, incident=incident, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Incident %(n)s closed; its video grants have ended.") % {"n": incident.number}
        )
    return redirect("situations:incident_detail", pk=incident.pk)


def _grants_context(request) -> dict:
    grants = list(visible_grants(request.user).prefetch_related("cameras")[:200])
    active = [g for g in grants if g.is_active]
    return {"active": active, "ended": [g for g in grants if not g.is_active][:50]}


@permissions.requires("incidents.view")
@require_GET
def grant_list(request):
    if not (
        permissions.allowed(request.user, "grants.view_all")
        or permissions.allowed(request.user, "grants.create")
    ):
        permissions.require(request.user, "grants.view_all")
    context = _grants_context(request)
    if request.htmx:
        return render(request, "situations/_grant_table.html", context)
    return render(request, "situations/grant_list.html", context)


@permissions.requires("incidents.view")
@require_POST
def grant_revoke(request, pk: int):
    grant = access.visible_or_404(request, visible_grants(request.user), pk, what="revoke")
    form = RevokeForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.revoke_grant(actor=request.user, grant=grant, reason=reason, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Video grant #%(id)s revoked.") % {"id": grant.pk})
    return redirect("situations:grant_list")
