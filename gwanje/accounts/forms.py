from __future__ import annotations

import contextvars
import re

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AdminPasswordChangeForm, AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from gwanje.accounts import security
from gwanje.accounts.backends import REFUSAL_ATTR
from gwanje.accounts.models import RoleNetworkPolicy, parse_cidrs


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        "invalid_login": _("The username or password is incorrect."),
        "inactive": _("This account is disabled."),
        "ip_not_allowed": _(
            "Signing in to this account is not allowed from this network. Ask an administrator if you "
            "need access from here."
        ),
    }

    def get_invalid_login_error(self):
        refusal = getattr(self.request, REFUSAL_ATTR, None)
        if refusal == "locked":
            return ValidationError(locked_message(), code="locked")
        if refusal == "ip_not_allowed":
            return ValidationError(self.error_messages["ip_not_allowed"], code="ip_not_allowed")
        return super().get_invalid_login_error()


def locked_message() -> str:
    """What a locked account is told, whether or not the password it just gave was right."""
    count = settings.LOGIN_MAX_FAILURES
    first = ngettext(
        "This account is locked after %(count)d failed sign-in attempt.",
        "This account is locked after %(count)d failed sign-in attempts.",
        count,
    ) % {"count": count}
    duration = security.lock_duration()
    if duration is None:
        second = _("Ask an administrator to unlock it.")
    else:
        minutes = int(duration.total_seconds() // 60)
        second = ngettext(
            "Try again in %(minutes)d minute or ask an administrator to unlock it.",
            "Try again in %(minutes)d minutes or ask an administrator to unlock it.",
            minutes,
        ) % {"minutes": minutes}
    return f"{first} {second}"


class OTPTokenForm(forms.Form):
    """The 6-digit code of the authenticator app."""

    token = forms.CharField(
        label=_("One-time code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "size": 8,
            }
        ),
    )

    def clean_token(self) -> str:
        token = re.sub(r"\s+", "", self.cleaned_data["token"])
        if not re.fullmatch(r"[0-9]{6}", token):
            raise ValidationError(_("Enter the 6 digits shown by your authenticator app."), code="format")
        return token


# The request of the back office's password page (UserAdmin.user_change_password sets it), so that
# the form's save() can name who set the password.
admin_request: contextvars.ContextVar = contextvars.ContextVar("gwanje_admin_request", default=None)


class AdminSetPasswordForm(AdminPasswordChangeForm):
    """The back office's "set password" form, saving through services.set_password()."""

    def save(self, commit=True):
        from gwanje.accounts import services

        request = admin_request.get()
        usable = self.cleaned_data.get("set_usable_password", True)
        password = self.cleaned_data["password1"] if usable else None
        actor = getattr(request, "user", None)
        return services.set_password(self.user, password, actor=actor, request=request)


class RoleNetworkPolicyForm(forms.ModelForm):
    """Refuses a policy that would shut out the administrator saving it (from their own address)."""

    request = None  # set by the admin (get_form)

    class Meta:
        model = RoleNetworkPolicy
        fields = ["role", "cidrs", "note"]
        widgets = {"cidrs": forms.Textarea(attrs={"rows": 6, "cols": 40})}

    def clean(self):
        data = super().clean()
        role, cidrs = data.get("role"), data.get("cidrs")
        user = getattr(self.request, "user", None)
        if not role or not cidrs or user is None or role not in getattr(user, "role_codes", []):
            return data
        from gwanje.audit.services import client_ip

        ip = client_ip(self.request)
        import ipaddress

        try:
            networks = parse_cidrs(cidrs)
        except ValidationError:
            return data  # the field's own errors
        if ip and not any(ipaddress.ip_address(ip) in n for n in networks):
            raise ValidationError(
                _(
                    "You have this role and your address %(ip)s is not in these networks: saving would "
                    "log you out. Include your network, or let another administrator do it."
                ),
                code="locks_out_self",
                params={"ip": ip},
            )
        return data
