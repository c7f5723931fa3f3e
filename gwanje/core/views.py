"""Error pages: Korean HTML for pages, the API's JSON error body under /api/."""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def _error(request, status: int, message: str):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"errors": [{"field": None, "code": str(status), "message": message}]}, status=status
        )
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, _("The request is not valid."))


def permission_denied(request, exception=None):
    return _error(request, 403, _("You do not have permission for this action."))


def page_not_found(request, exception=None):
    return _error(request, 404, _("The page was not found."))


def server_error(request):
    return _error(request, 500, _("An internal error occurred. It has been logged."))
