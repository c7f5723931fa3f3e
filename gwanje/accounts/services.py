"""All writes to organisations and accounts."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gwanje.accounts.models import Organisation, User
from gwanje.accounts.roles import Role


def ensure_roles() -> None:
    """Create the auth group of every role (idempotent)."""
    for code in Role.values():
        Group.objects.get_or_create(name=code)


@transaction.atomic
def upsert_organisation(
    *, code: str, name: str, kind: str, parent: Organisation | None = None, phone: str = ""
) -> Organisation:
    org, _created = Organisation.objects.update_or_create(
        code=code, defaults={"name": name, "kind": kind, "parent": parent, "phone": phone}
    )
    return org


@transaction.atomic
def create_user(
    *,
    username: str,
    organisation: Organisation,
    roles: list[str],
    name: str = "",
    password: str | None = None,
    is_superuser: bool = False,
) -> User:
    unknown = set(roles) - set(Role.values())
    if unknown:
        raise ValidationError(_("Unknown role(s): %(roles)s") % {"roles": ", ".join(sorted(unknown))})
    if User.objects.filter(username=username).exists():
        raise ValidationError(_("An account named %(username)s already exists.") % {"username": username})
    user = User(
        username=username,
        name=name,
        organisation=organisation,
        is_superuser=is_superuser,
        is_staff=is_superuser or Role.SYSTEM_ADMIN in roles or Role.IT_ADMIN in roles,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    ensure_roles()
    user.groups.set(Group.objects.filter(name__in=roles))
    return user


@transaction.atomic
def issue_api_token(user: User, *, rotate: bool = False) -> str:
    """The API token of an active account, created if missing; `rotate` replaces it."""
    from rest_framework.authtoken.models import Token

    if not user.is_active:
        raise ValidationError(_("The account %(username)s is disabled.") % {"username": user.username})
    if rotate:
        Token.objects.filter(user=user).delete()
    token, _created = Token.objects.get_or_create(user=user)
    return token.key


def random_password() -> str:
    return secrets.token_urlsafe(12)
