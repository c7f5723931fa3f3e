"""DRF authentication: the session and the token carry the same sign-in safety as the pages.

- `OTPSessionAuthentication`: refuses a session still waiting for its second factor — 403
  (`mfa_required`, in the API's error body) after DRF's own CSRF check, so a cross-site request
  still reads "CSRF Failed". The session's timeouts and IP allow-list are checked before, by
  `AccountSecurityMiddleware`.
- `GwanjeTokenAuthentication` (`Authorization: Token …`): tokens are for integration accounts. A
  token request has no session, so the checks run here, on every request: a locked account gets
  401 (`account_locked`), an address outside the networks of the user's roles 403
  (`ip_not_allowed`), and an account whose roles require a second factor — which a token cannot
  give — 403 (`token_not_allowed`).
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from gwanje.accounts import security
from gwanje.accounts.forms import locked_message
from gwanje.audit.services import client_ip
from gwanje.core.permissions import requires_mfa


class MFARequired(exceptions.PermissionDenied):
    default_detail = _("Complete the second sign-in step (one-time code) before using the API.")
    default_code = "mfa_required"


class AccountLocked(exceptions.AuthenticationFailed):
    default_code = "account_locked"


class NetworkNotAllowed(exceptions.PermissionDenied):
    default_code = "ip_not_allowed"


class TokenNotAllowed(exceptions.PermissionDenied):
    default_detail = _(
        "This account requires a second factor and cannot use an API token. API tokens are for "
        "integration accounts whose roles do not require a second factor."
    )
    default_code = "token_not_allowed"


class OTPSessionAuthentication(SessionAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        verified = getattr(user, "is_verified", None)
        if requires_mfa(user) and not (verified and verified()):
            raise MFARequired()
        return result


class GwanjeTokenAuthentication(TokenAuthentication):
    """DRF's token authentication (an unknown key or a disabled account: 401), then the lock, the
    IP allow-list of the user's roles and the second-factor rule. Read-only: a refused request
    changes nothing and is not written to the login events."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if security.is_locked(user):
            raise AccountLocked(locked_message())
        ip = client_ip(request._request)
        if not security.ip_allowed(user, ip):
            raise NetworkNotAllowed(
                gettext("This account may not use the API from this network (%(ip)s).") % {"ip": ip or "?"}
            )
        if requires_mfa(user):
            raise TokenNotAllowed()
        return result


class OTPSessionScheme(SessionScheme):
    """The OpenAPI security scheme: the same session cookie as DRF's SessionAuthentication."""

    target_class = OTPSessionAuthentication
    priority = 0
