"""Sign-in pages: login, the second-factor step (verify or enrol), password change.

Every page here is the user's own (`own_account`): it needs a signed-in session and no action of
the permission matrix (tests/core/test_route_permissions.py).
"""

from __future__ import annotations

from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login

from gwanje.accounts import security, services
from gwanje.accounts.forms import LoginForm, OTPTokenForm, locked_message
from gwanje.accounts.models import User
from gwanje.audit import services as audit
from gwanje.core.permissions import requires_mfa


def own_account(view):
    """Mark a view as one of the user's own account pages (see the module docstring)."""
    view.own_account = True
    return view


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _with_next(url: str, request) -> str:
    from urllib.parse import urlencode

    nxt = request.POST.get("next") or request.GET.get("next")
    return f"{url}?{urlencode({'next': nxt})}" if nxt else url


def notify_login_summary(request, user) -> None:
    """The previous successful sign-in (time in Asia/Seoul, address) and the failures since."""
    previous, failures = audit.login_summary(user)
    if previous is None:
        text = _("Welcome. This is your first sign-in.")
    else:
        text = _("Your previous sign-in: %(when)s from %(ip)s.") % {
            "when": timezone.localtime(previous.at).strftime("%Y-%m-%d %H:%M"),
            "ip": previous.ip or "?",
        }
    if failures:
        text += " " + ngettext(
            "%(count)d failed sign-in attempt since then.",
            "%(count)d failed sign-in attempts since then.",
            failures,
        ) % {"count": failures}
        messages.warning(request, text)
    else:
        text += " " + _("No failed sign-in attempts since then.")
        messages.info(request, text)


def _refuse_locked(request, user):
    """The account is locked (perhaps by wrong codes or passwords in another session): the attempt
    is logged ("locked"), this session ends, the login page says why."""
    services.login_failed(
        username=user.get_username(), user=user, reason="locked", request=request, count=False
    )
    logout(request)
    messages.error(request, locked_message())
    return redirect("accounts:login")


def _locked(request) -> bool:
    """True when the session's account is locked now (the row is read again: another session may
    have locked it since this one's password step). A lock whose time has run out is lifted."""
    return services.check_lock(User.objects.get(pk=request.user.pk), request=request)


def _password_again(request):
    """A session without a fresh password step may not enrol a second factor (e.g. one verified
    with a device that has since been reset): it ends, and the user logs in again."""
    logout(request)
    messages.info(request, _("Log in again with your password to set up your second factor."))
    return redirect("accounts:login")


def _complete(request, user):
    """The last step of a sign-in: reset the failures, log it, show the summary. Refused when the
    account was locked meanwhile (login_succeeded never clears an active lock)."""
    request.session.pop(security.MAY_ENROL, None)  # enrolment is closed from now on
    if not services.login_succeeded(user, request=request):
        return _refuse_locked(request, user)
    notify_login_summary(request, user)
    return HttpResponseRedirect(_next_url(request))


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)  # django.contrib.auth.login(): the password step
        security.start_session(self.request.session)
        user = form.get_user()
        if requires_mfa(user):
            # Not complete yet: the backend logged nothing; the code step finishes the sign-in.
            return HttpResponseRedirect(_with_next(reverse("accounts:otp_verify"), self.request))
        notify_login_summary(self.request, user)  # the backend logged the success
        return response


def _otp_failed(request, user, form):
    """A wrong code: counted like a wrong password; at the limit the account locks and the session
    ends."""
    if services.login_failed(username=user.get_username(), user=user, reason="mfa_failed", request=request):
        logout(request)
        messages.error(request, locked_message())
        return redirect("accounts:login")
    form.add_error(
        "token", _("The code is not correct. Check the time on your phone and try the newest code.")
    )
    return None


def _pending(request):
    """None when this session has a second-factor step to do, else where to go."""
    user = request.user
    if not requires_mfa(user) or user.is_verified():
        return HttpResponseRedirect(_next_url(request))
    return None


@own_account
@never_cache
@csrf_protect
@login_required
def otp_verify(request):
    done = _pending(request)
    if done is not None:
        return done
    user = request.user
    if _locked(request):
        return _refuse_locked(request, user)
    device = services.confirmed_totp_device(user)
    if device is None:
        return redirect(_with_next(reverse("accounts:otp_enrol"), request))
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            otp_login(request, device)
            request.session.cycle_key()
            return _complete(request, user)
        locked = _otp_failed(request, user, form)
        if locked is not None:
            return locked
    return render(request, "accounts/otp_verify.html", {"form": form, "next": request.GET.get("next", "")})


def qr_svg(data: str) -> str:
    """A QR code as inline SVG, drawn here (no network, no CDN)."""
    image = qrcode.make(
        data,
        image_factory=qrcode.image.svg.SvgPathImage,
        box_size=10,
        border=2,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    svg = image.to_string(encoding="unicode")
    svg = svg[svg.index("<svg") :]  # drop an XML declaration, if any
    return svg.replace("<svg ", '<svg class="qr" role="img" ', 1)


@own_account
@never_cache
@csrf_protect
@login_required
def otp_enrol(request):
    done = _pending(request)
    if done is not None:
        return done
    user = request.user
    if _locked(request):
        return _refuse_locked(request, user)
    if services.confirmed_totp_device(user) is not None:
        return redirect(_with_next(reverse("accounts:otp_verify"), request))
    if security.MAY_ENROL not in request.session:
        return _password_again(request)
    device = services.start_totp_enrolment(user)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            services.confirm_totp_enrolment(device, request=request)
            otp_login(request, device)
            request.session.cycle_key()
            messages.success(request, _("Your authenticator app is set up. Use its code at every sign-in."))
            return _complete(request, user)
        locked = _otp_failed(request, user, form)
        if locked is not None:
            return locked
    secret = b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "next": request.GET.get("next", ""),
        "qr": mark_safe(qr_svg(device.config_url)),  # noqa: S308 - generated here from our own data
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "issuer": settings.OTP_TOTP_ISSUER,
    }
    return render(request, "accounts/otp_enrol.html", context)


class PasswordChangeView(auth_views.PasswordChangeView):
    """The user's own password; the rules are settings.AUTH_PASSWORD_VALIDATORS."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        user = services.set_password(
            form.user, form.cleaned_data["new_password1"], actor=self.request.user, request=self.request
        )
        update_session_auth_hash(self.request, user)
        messages.success(self.request, _("Your password has been changed."))
        return HttpResponseRedirect(self.get_success_url())

    def get_success_url(self):
        nxt = self.request.POST.get("next") or self.request.GET.get("next")
        return _next_url(self.request) if nxt else str(self.success_url)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["next"] = self.request.GET.get("next", "")
        context["max_age_days"] = settings.PASSWORD_MAX_AGE_DAYS
        return context


@own_account
@login_required
def password_change_done(request):
    return render(request, "accounts/password_change_done.html")
