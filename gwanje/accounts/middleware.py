"""Per-request sign-in safety (docs/authentication.md).

- `OTPMiddleware`: django-otp's, without its extra query per request. django-otp loads the
  session's verifying device on every request to check it still exists; our backend's session
  query already carries the id of the user's confirmed TOTP device (`confirmed_totp_id`), so a
  session is verified when its device id is that one. A reset (devices deleted) ends the
  verification of every session at its next request, as with django-otp's own middleware.
- `AccountSecurityMiddleware`, for session-authenticated requests (in process_view, after the CSRF
  check), in this order:
  1. idle (GWANJE_SESSION_IDLE_MINUTES) and absolute (GWANJE_SESSION_MAX_HOURS) session timeouts:
     log out, then pages redirect to the login page with a message and API requests continue
     anonymous (401). A request with `X-Gwanje-Poll: 1` (a page polling on a timer) is checked
     like any other but does not count as activity;
  2. the IP allow-list of the user's roles: log out, 403;
  3. the second factor: an account that requires one and whose session is not verified is sent to
     the code step (pages; the API answers 403 itself, see authentication.py);
  4. an expired password: pages redirect to the password change page.
Token-authenticated API requests have no session and pass untouched here: the lock, the IP
allow-list and the second-factor rule are checked for them by
`authentication.GwanjeTokenAuthentication`.
"""

from __future__ import annotations

import time
from functools import cached_property
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware as BaseOTPMiddleware

from gwanje.accounts import security, services
from gwanje.accounts.passwords import password_expired
from gwanje.audit.services import client_ip
from gwanje.core.permissions import requires_mfa

_MISSING = object()
POLL_HEADER = "X-Gwanje-Poll"


class OTPMiddleware(BaseOTPMiddleware):
    def _verify_user_sync(self, request, user):
        confirmed_id = getattr(user, "confirmed_totp_id", _MISSING)
        if confirmed_id is _MISSING or not user.is_authenticated:
            return super()._verify_user_sync(request, user)
        from django_otp.plugins.otp_totp.models import TOTPDevice

        self._init_user_fields(user)
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
        if not persistent_id:
            return user
        if confirmed_id is not None and persistent_id == f"{TOTPDevice.model_label()}/{confirmed_id}":
            user.otp_device = SimpleLazyObject(lambda: TOTPDevice.objects.get(pk=confirmed_id))
            return user
        return super()._verify_user_sync(request, user)  # another kind of device, or a stale id


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _is_poll(request) -> bool:
    """A request the page makes by itself on a timer (`hx-headers='{"X-Gwanje-Poll": "1"}'` on
    every polling element): not the user's activity, so it does not restart the idle clock."""
    return request.headers.get(POLL_HEADER) == "1"


def _redirect(request, url: str, *, with_next: bool = True) -> HttpResponse:
    if with_next and request.method == "GET":
        url = f"{url}?{urlencode({'next': request.get_full_path()})}"
    if _is_htmx(request):  # an htmx fragment request: have the browser load the page itself
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


class AccountSecurityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    @cached_property
    def _always_open(self) -> tuple[str, ...]:
        """Paths an unverified or expired session may still reach."""
        return (
            reverse("accounts:logout"),
            reverse("accounts:otp_verify"),
            reverse("accounts:otp_enrol"),
            reverse("admin:logout"),
            reverse("set_language"),
            reverse("javascript-catalog"),
            settings.STATIC_URL,
        )

    @cached_property
    def _password_pages(self) -> tuple[str, ...]:
        return (reverse("accounts:password_change"), reverse("accounts:password_change_done"))

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs) -> HttpResponse | None:
        # In process_view, after CsrfViewMiddleware's: a forged cross-site POST is refused as such
        # before any redirect of this middleware.
        if SESSION_KEY in request.session and request.user.is_authenticated:
            return self._check(request, request.user)
        return None

    def _check(self, request, user) -> HttpResponse | None:
        session = request.session
        now = time.time()
        if session.get(security.LOGIN_AT) is None:
            security.start_session(session, now)  # signed in some other way (e.g. the back office)
        expired = security.session_expiry(session, now)
        if expired:
            return self._session_ended(request, expired)
        if not _is_poll(request) and now - session[security.SEEN_AT] >= security.SEEN_GRANULARITY:
            session[security.SEEN_AT] = int(now)

        if not security.ip_allowed(user, client_ip(request)):
            return self._network_refused(request, user)

        path = request.path_info
        if _is_api(request) or path.startswith(self._always_open):
            return None
        if requires_mfa(user) and not (getattr(user, "is_verified", None) and user.is_verified()):
            return _redirect(request, reverse("accounts:otp_verify"))
        if password_expired(user) and not path.startswith(self._password_pages):
            messages.warning(
                request,
                _("Your password is more than %(days)d days old. Choose a new one to continue.")
                % {"days": settings.PASSWORD_MAX_AGE_DAYS},
            )
            return _redirect(request, reverse("accounts:password_change"))
        return None

    def _session_ended(self, request, why: str) -> HttpResponse | None:
        logout(request)
        if _is_api(request):
            return None  # continues anonymous: the API answers 401
        if why == "absolute":
            text = _("You were signed in for more than %(hours)d hours. Please log in again.") % {
                "hours": settings.SESSION_MAX_HOURS
            }
        else:
            text = _(
                "Your session ended after %(minutes)d minutes without activity. Please log in again."
            ) % {"minutes": settings.SESSION_IDLE_MINUTES}
        messages.warning(request, text)
        return _redirect(request, reverse(settings.LOGIN_URL))

    def _network_refused(self, request, user) -> HttpResponse:
        services.login_failed(
            username=user.get_username(), user=user, reason="ip_not_allowed", request=request, count=False
        )
        logout(request)
        message = _(
            "Your account may not be used from this network (%(ip)s). You have been logged out; "
            "ask an administrator if you need access from here."
        ) % {"ip": client_ip(request) or "?"}
        if _is_api(request):
            return JsonResponse(
                {"errors": [{"field": None, "code": "ip_not_allowed", "message": message}]}, status=403
            )
        return render(request, "error.html", {"status": 403, "message": message}, status=403)
