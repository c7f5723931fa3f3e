"""Password rules of PIPA's safety-measure notice, as Django password validators
(settings.AUTH_PASSWORD_VALIDATORS), and password expiry.

- ComplexityValidator: at least 8 characters of 3 kinds, or at least 10 of 2 kinds
  (kinds: upper-case letters, lower-case letters, digits, symbols and other characters);
- UsernameValidator: the password does not contain the user name (case-insensitive);
- PasswordHistoryValidator: not one of the last 3 passwords (the current one included). It also
  keeps the history: Django calls `password_changed()` after every saved set_password();
- Django's CommonPasswordValidator.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

UPPER, LOWER, DIGIT, SYMBOL = "upper", "lower", "digit", "symbol"


def character_kinds(password: str) -> set[str]:
    kinds = set()
    for ch in password:
        if ch.isupper():
            kinds.add(UPPER)
        elif ch.islower():
            kinds.add(LOWER)
        elif ch.isdigit():
            kinds.add(DIGIT)
        else:
            kinds.add(SYMBOL)
    return kinds


class ComplexityValidator:
    """≥ `min_length_3` characters of 3 kinds, or ≥ `min_length_2` characters of 2 kinds."""

    def __init__(self, min_length_3: int = 8, min_length_2: int = 10) -> None:
        self.min_length_3 = min_length_3
        self.min_length_2 = min_length_2

    def validate(self, password: str, user=None) -> None:
        kinds = len(character_kinds(password))
        length = len(password)
        if (length >= self.min_length_3 and kinds >= 3) or (length >= self.min_length_2 and kinds >= 2):
            return
        raise ValidationError(
            _(
                "This password is too simple: use at least %(min3)d characters of three kinds "
                "(upper-case letters, lower-case letters, digits, symbols) or at least %(min2)d "
                "characters of two kinds."
            ),
            code="password_too_simple",
            params={"min3": self.min_length_3, "min2": self.min_length_2},
        )

    def get_help_text(self) -> str:
        return _(
            "At least %(min3)d characters of three kinds (upper-case letters, lower-case letters, "
            "digits, symbols), or at least %(min2)d characters of two kinds."
        ) % {"min3": self.min_length_3, "min2": self.min_length_2}


class UsernameValidator:
    """The password must not contain the user name (case-insensitive; names shorter than
    `min_username_length` are not checked, they would forbid too much)."""

    def __init__(self, min_username_length: int = 3) -> None:
        self.min_username_length = min_username_length

    def validate(self, password: str, user=None) -> None:
        username = (user.get_username() if user is not None else "") or ""
        if len(username) < self.min_username_length:
            return
        if username.casefold() in password.casefold():
            raise ValidationError(
                _("The password must not contain the user name."), code="password_contains_username"
            )

    def get_help_text(self) -> str:
        return _("It must not contain your user name.")


class PasswordHistoryValidator:
    """Not one of the last `count` passwords (the current one included)."""

    def __init__(self, count: int = 3) -> None:
        self.count = count

    def _recent_hashes(self, user) -> list[str]:
        from django.contrib.auth import get_user_model

        from gwanje.accounts.models import PasswordHistory

        hashes = list(
            PasswordHistory.objects.filter(user_id=user.pk).values_list("password", flat=True)[: self.count]
        )
        # Accounts from before the history existed: their current password counts too.
        stored = (
            get_user_model()._default_manager.filter(pk=user.pk).values_list("password", flat=True).first()
        )
        if stored and stored not in hashes:
            hashes.append(stored)
        return hashes

    def validate(self, password: str, user=None) -> None:
        if user is None or user.pk is None:
            return
        for encoded in self._recent_hashes(user):
            # hashers.check_password without a setter: validating never rewrites a stored hash.
            if check_password(password, encoded):
                raise ValidationError(
                    ngettext(
                        "The password must differ from your last password.",
                        "The password must differ from your last %(count)d passwords.",
                        self.count,
                    ),
                    code="password_reused",
                    params={"count": self.count},
                )

    def password_changed(self, password: str, user=None) -> None:
        """Keep the new hash; drop all but the last `count`."""
        from gwanje.accounts.models import PasswordHistory

        if user is None or user.pk is None or not user.has_usable_password():
            return
        PasswordHistory.objects.create(user_id=user.pk, password=user.password)
        keep = PasswordHistory.objects.filter(user_id=user.pk).values_list("pk", flat=True)[: self.count]
        PasswordHistory.objects.filter(user_id=user.pk).exclude(pk__in=list(keep)).delete()

    def get_help_text(self) -> str:
        return ngettext(
            "It must differ from your last password.",
            "It must differ from your last %(count)d passwords.",
            self.count,
        ) % {"count": self.count}


# --- expiry ------------------------------------------------------------------------------------
def max_age() -> dt.timedelta | None:
    days = settings.PASSWORD_MAX_AGE_DAYS
    return dt.timedelta(days=days) if days > 0 else None


def password_expired(user, now: dt.datetime | None = None) -> bool:
    """True when the account's password is older than GWANJE_PASSWORD_MAX_AGE_DAYS (0 = never).
    Accounts without a usable password, or whose change time is unknown, do not expire."""
    age = max_age()
    changed = getattr(user, "password_changed_at", None)
    if age is None or changed is None or not user.has_usable_password():
        return False
    return (now or timezone.now()) - changed > age
