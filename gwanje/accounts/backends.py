"""The authentication backend: every password sign-in (the login page, the back office's login
page, `Client.login`) passes the lockout, the IP allow-list and the login-event log here.

Why a refusal happened is left on the request (`request.gwanje_login_refusal`: "locked" or
"ip_not_allowed") for the login form's message; a wrong password and an unknown user name look
the same to the person signing in.

A password that passed is marked on the request too (`request.gwanje_credentials_checked`): when
django.contrib.auth.login() then signs the session in, `password_step_done` lets that session
enrol a second factor (security.MAY_ENROL). A session signed in any other way (force_login)
cannot enrol.
"""

from __future__ import annotations

import time

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in
from django.db.models import Exists, OuterRef, Subquery
from django.dispatch import receiver

from gwanje.accounts import security, services
from gwanje.accounts.models import RoleNetworkPolicy, User
from gwanje.audit.services import client_ip
from gwanje.core.permissions import requires_mfa

REFUSAL_ATTR = "gwanje_login_refusal"
CREDENTIALS_CHECKED_ATTR = "gwanje_credentials_checked"


def _refuse(request, code: str) -> None:
    if request is not None:
        setattr(request, REFUSAL_ATTR, code)


def session_user_queryset():
    """Users as loaded for a session, with what the middleware needs on every request in the same
    query: the confirmed TOTP device's id and whether any role of the user has a network policy."""
    from django.contrib.auth.models import Group
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True).order_by("pk").values("pk")[:1]
    role_names = Group.objects.filter(user=OuterRef(OuterRef("pk"))).values("name")
    return User._default_manager.annotate(
        confirmed_totp_id=Subquery(device),
        network_restricted=Exists(RoleNetworkPolicy.objects.filter(role__in=role_names)),
    )


class GwanjeBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            User().set_password(password)  # same work as for a real account (timing)
            services.login_failed(username=username, user=None, reason="unknown_user", request=request)
            return None
        if services.check_lock(user, request=request):
            services.login_failed(username=username, user=user, reason="locked", request=request, count=False)
            _refuse(request, "locked")
            return None
        if not security.ip_allowed(user, client_ip(request)):
            # Checked before the password, and not counted: nobody outside the allowed networks
            # learns whether a password is right, nor can lock the account out.
            services.login_failed(
                username=username, user=user, reason="ip_not_allowed", request=request, count=False
            )
            _refuse(request, "ip_not_allowed")
            return None
        if not user.check_password(password):
            if services.login_failed(username=username, user=user, reason="bad_password", request=request):
                _refuse(request, "locked")
            return None
        if not self.user_can_authenticate(user):
            services.login_failed(
                username=username, user=user, reason="inactive", request=request, count=False
            )
            return None
        if not requires_mfa(user) and not services.login_succeeded(user, request=request):
            # Locked by a concurrent attempt since check_lock() above.
            services.login_failed(username=username, user=user, reason="locked", request=request, count=False)
            _refuse(request, "locked")
            return None
        # With a second factor the sign-in completes at the code step (views.otp_verify); the
        # failures are not reset before, so wrong codes keep counting towards the lock.
        if request is not None:
            setattr(request, CREDENTIALS_CHECKED_ATTR, True)
        return user

    def get_user(self, user_id):
        user = session_user_queryset().filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


@receiver(user_logged_in, dispatch_uid="gwanje.accounts.password_step_done")
def password_step_done(sender, request, user, **kwargs) -> None:
    """After login(): a session signed in by this backend's password check, for an account that
    requires a second factor, may enrol one until its code step completes; any other session may
    not (a stale mark from an earlier sign-in in the same session is removed)."""
    session = getattr(request, "session", None)
    if session is None:
        return
    if getattr(request, CREDENTIALS_CHECKED_ATTR, False) and requires_mfa(user):
        session[security.MAY_ENROL] = int(time.time())
    else:
        session.pop(security.MAY_ENROL, None)
