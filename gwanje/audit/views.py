"""Audit pages: the access log (/audit/), the monthly review (/audit/review/) and exports
(/audit/export/). Each asks the permission choke point first (`permissions.requires`: login, then
audit.view / audit.review / audit.export); showing or exporting the log is
itself access to personal information and is written to the access log.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from gwanje.audit import days, exports, review, services
from gwanje.audit.choices import AccessAction, AccessResult
from gwanje.audit.filters import AccessLogFilterSet
from gwanje.audit.forms import ExportForm, MonthForm, ReviewForm
from gwanje.audit.models import AccessLog, MonthlyReview
from gwanje.core import permissions

PAGE_SIZE = 50
# The review page lists at most this many flags of each kind (the export has them all).
FLAGS_SHOWN = 200


def _bad_request(request, form):
    parts = [_("The request is not valid.")]
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        parts += [f"{label}: {e}" if label else str(e) for e in errors]
    message = " ".join(parts)
    return render(request, "error.html", {"status": 400, "message": message}, status=400)


@permissions.requires("audit.view")
@require_GET
def index(request):
    filterset = AccessLogFilterSet(request.GET or None, queryset=AccessLog.objects.all())
    valid = not filterset.is_bound or filterset.is_valid()
    qs = filterset.qs.order_by("-seq") if valid else AccessLog.objects.none()
    paginator = Paginator(qs, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)  # read before this view's own record is written
    criteria = {k: v for k, v in request.GET.items() if v and k in filterset.filters}
    services.record_access(
        user=request.user,
        action=AccessAction.SEARCH if criteria else AccessAction.VIEW,
        subject_type="access_log",
        subject=f"access log page {page.number}" + (f" {urlencode(criteria)}" if criteria else ""),
        request=request,
    )
    context = {
        "filter": filterset,
        "form": filterset.form,
        "page": page,
        "paginator": paginator,
        "valid": valid,
        "result_colours": {v: AccessResult.colour(v) for v in AccessResult.values()},
    }
    fragment = request.htmx and not request.htmx.boosted
    response = render(
        request,
        "audit/_access_table.html" if fragment else "audit/index.html",
        context,
        status=200 if valid else 400,
    )
    patch_vary_headers(response, ("HX-Request",))
    return response


@permissions.requires("audit.review")
@require_http_methods(["GET", "POST"])
def review_page(request):
    month_form = MonthForm(request.GET)
    if not month_form.is_valid():
        return _bad_request(request, month_form)
    this_month = days.today().replace(day=1)
    month = month_form.cleaned_data["month"] or days.previous_month(this_month)
    url = reverse("audit:review") + f"?month={month:%Y-%m}"
    found = review.flags(month)
    form = ReviewForm(request.POST or None)
    if request.method == "POST":
        if month > this_month:
            form.add_error(None, _("This month has not started yet; it cannot be reviewed."))
        elif form.is_valid():
            services.record_review(
                month=month,
                reviewer=request.user,
                remarks=form.cleaned_data["remarks"],
                flag_counts=review.counts(found),
                request=request,
            )
            messages.success(request, _("The review of %(month)s is recorded.") % {"month": f"{month:%Y-%m}"})
            return redirect(url)
    else:
        services.record_access(
            user=request.user,
            action=AccessAction.VIEW,
            subject_type="access_log",
            subject=f"review month {month:%Y-%m} ({len(found)} flags)",
            request=request,
        )
    groups = review.grouped(found)
    for g in groups:
        g["shown"] = g["flags"][:FLAGS_SHOWN]
        g["hidden"] = max(0, g["count"] - FLAGS_SHOWN)
    context = {
        "month": month,
        "month_text": f"{month:%Y-%m}",
        "previous_month": f"{days.previous_month(month):%Y-%m}",
        "next_month": f"{days.next_month(month):%Y-%m}" if month < this_month else "",
        "groups": groups,
        "total": len(found),
        "reviews": MonthlyReview.objects.filter(month=month).order_by("reviewed_at"),
        "form": form,
        "can_export": permissions.allowed(request.user, "audit.export"),
        "export_kinds": ExportForm.base_fields["what"].choices,
    }
    return render(request, "audit/review.html", context, status=400 if form.errors else 200)


@permissions.requires("audit.export")
@require_GET
def export_view(request):
    form = ExportForm(request.GET)
    if not form.is_valid():
        return _bad_request(request, form)
    month, what, fmt = form.cleaned_data["month"], form.cleaned_data["what"], form.cleaned_data["format"]
    with transaction.atomic():
        data = exports.export(month, what, fmt, user=request.user, request=request)
    response = HttpResponse(data, content_type=exports.CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(month, what, fmt)}"'
    response["Cache-Control"] = "no-store"
    return response
