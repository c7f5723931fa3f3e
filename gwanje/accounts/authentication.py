"""DRF session authentication that refuses a session still waiting for its second factor.

The browser's API calls ride on the session; a session whose account requires a second factor and
has not given it yet gets 403 (`mfa_required`, in the API's error body) — after DRF's own CSRF
check, so a cross-site request still reads "CSRF Failed". Token authentication (integrations) is
separate and unaffected.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication

from gwanje.core.permissions import requires_mfa


class MFARequired(exceptions.PermissionDenied):
    default_detail = _("Complete the second sign-in step (one-time code) before using the API.")
    default_code = "mfa_required"


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


class OTPSessionScheme(SessionScheme):
    """The OpenAPI security scheme: the same session cookie as DRF's SessionAuthentication."""

    target_class = OTPSessionAuthentication
    priority = 0
