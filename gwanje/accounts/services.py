"""All writes to organisations and accounts.

Every change of an account's rights is written to the permission-change history
(`audit.record_change`) in the same transaction: creation, roles, activation, superuser and other
account fields, passwords set for someone, locks and unlocks, second-factor enrolment and reset,
network policies. Sign-in attempts go to the login events (`audit.record_login`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gwanje.accounts import security
from gwanje.accounts.models import Organisation, RoleNetworkPolicy, User
from gwanje.accounts.roles import Role
from gwanje.audit import services as audit


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


# --- accounts and the permission-change history ---------------------------------------------------
# Fields whose values the history keeps; other personal fields are named only (phone, e-mail).
_RIGHTS_FIELDS = ("username", "name", "employee_number", "organisation", "is_staff", "is_superuser")
_NAMED_FIELDS = ("phone", "email", "first_name", "last_name")


def _snapshot(user: User) -> dict:
    org = Organisation.objects.filter(pk=user.organisation_id).values_list("code", flat=True).first()
    data = {f: getattr(user, f) for f in _RIGHTS_FIELDS if f != "organisation"}
    data["organisation"] = org
    data["is_active"] = user.is_active
    data["roles"] = sorted(user.groups.values_list("name", flat=True)) if user.pk else []
    data["_named"] = {f: getattr(user, f) for f in _NAMED_FIELDS}
    return data


def _public(snapshot: dict) -> dict:
    return {k: v for k, v in snapshot.items() if not k.startswith("_")}


def _forget_roles(user: User) -> None:
    user.__dict__.pop("_gwanje_roles", None)


def _record_differences(before: dict, after: dict, *, actor, user: User, request) -> None:
    common = {"actor": actor, "subject_user": user, "request": request}
    if before["roles"] != after["roles"]:
        audit.record_change(
            action="roles_changed",
            before={"roles": before["roles"]},
            after={"roles": after["roles"]},
            **common,
        )
    if before["is_active"] != after["is_active"]:
        audit.record_change(
            action="activated" if after["is_active"] else "deactivated",
            before={"is_active": before["is_active"]},
            after={"is_active": after["is_active"]},
            **common,
        )
    changed = [f for f in _RIGHTS_FIELDS if before[f] != after[f]]
    named = [f for f in _NAMED_FIELDS if before["_named"][f] != after["_named"][f]]
    if changed or named:
        old = {f: before[f] for f in changed}
        new = {f: after[f] for f in changed}
        if named:
            new["changed_fields"] = named
        audit.record_change(action="account_changed", before=old, after=new, **common)


def _set_roles(user: User, roles: Iterable[str]) -> None:
    ensure_roles()
    user.groups.set(Group.objects.filter(name__in=list(roles)))
    _forget_roles(user)


@transaction.atomic
def create_user(
    *,
    username: str,
    organisation: Organisation,
    roles: list[str],
    name: str = "",
    password: str | None = None,
    is_superuser: bool = False,
    actor=None,
    request=None,
) -> User:
    """A new account (`actor` None: created by the system, e.g. `gwanje ensure-admin`)."""
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
    return save_account(user, roles=roles, actor=actor, request=request)


@transaction.atomic
def save_account(user: User, *, roles: Iterable[str] | None = None, actor=None, request=None) -> User:
    """Save an account created or edited in memory (the back office's forms, create_user), set its
    roles (None: keep them), and write what changed to the permission-change history."""
    if user.pk is None:
        user.save()
        _set_roles(user, roles or [])
        audit.record_change(
            actor=actor,
            action="account_created",
            subject_user=user,
            after=_public(_snapshot(user)),
            request=request,
        )
        return user
    stored = User.objects.select_for_update().get(pk=user.pk)
    before = _snapshot(stored)
    password_set = user._password is not None
    user.save()
    if roles is not None:
        _set_roles(user, roles)
    _record_differences(before, _snapshot(user), actor=actor, user=user, request=request)
    if password_set:
        audit.record_change(
            actor=actor, action="password_set", subject_user=user, after={"usable": True}, request=request
        )
    return user


@transaction.atomic
def set_password(user: User, password: str | None, *, actor, request=None) -> User:
    """Set (or, with None, disable) the account's password. The validators are the caller's form's
    job; the history of hashes and the expiry clock follow from User.save()."""
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    audit.record_change(
        actor=actor,
        action="password_set",
        subject_user=user,
        after={"usable": password is not None, "own": actor is not None and actor.pk == user.pk},
        request=request,
    )
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
    """A random password that passes the password rules (letters of both cases, digits, symbols)."""
    return secrets.token_urlsafe(12) + "-a7Q"


# --- sign-in: failures, lockout, success ------------------------------------------------------------
def _lock_state(user: User) -> dict:
    return {
        "locked": user.locked_at is not None,
        "locked_at": user.locked_at.isoformat() if user.locked_at else None,
        "failed_logins": user.failed_logins,
    }


@transaction.atomic
def login_failed(*, username: str, user: User | None, reason: str, request=None, count: bool = True) -> bool:
    """Record a failed sign-in attempt. With `count` (a wrong password or code) it adds to the
    account's consecutive failures and locks the account at GWANJE_LOGIN_MAX_FAILURES.
    True when the account is locked now."""
    locked = False
    if user is not None and count:
        row = User.objects.select_for_update().get(pk=user.pk)
        if security.lock_ran_out(row):
            _unlock_row(row, actor=None, request=request, why="timeout")
        row.failed_logins = min(row.failed_logins + 1, 32767)
        fields = ["failed_logins"]
        if row.locked_at is None and row.failed_logins >= settings.LOGIN_MAX_FAILURES:
            before = _lock_state(row)
            row.locked_at = timezone.now()
            fields.append("locked_at")
            audit.record_change(
                actor=None,
                action="locked",
                subject_user=row,
                before={**before, "failed_logins": row.failed_logins - 1},
                after={**_lock_state(row), "reason": reason},
                request=request,
            )
        row.save(update_fields=fields)
        user.failed_logins, user.locked_at = row.failed_logins, row.locked_at
        locked = security.is_locked(row)
    audit.record_login(username=username, user=user, success=False, reason=reason, request=request)
    return locked


@transaction.atomic
def login_succeeded(user: User, *, request=None) -> bool:
    """The sign-in is complete (password, and the second factor where required): the consecutive
    failures start again from zero and the success is logged.

    An active lock is never cleared here: False (nothing written, nothing logged) when the account
    is locked — it may have been locked by another session since the password step; the caller
    refuses the sign-in. A lock whose time has run out is lifted and the unlock recorded."""
    row = User.objects.select_for_update().get(pk=user.pk)
    if security.is_locked(row):
        user.failed_logins, user.locked_at = row.failed_logins, row.locked_at
        return False
    if row.locked_at is not None:  # the lock ran out
        _unlock_row(row, actor=None, request=request, why="timeout")
    elif row.failed_logins:
        row.failed_logins = 0
        row.save(update_fields=["failed_logins"])
    user.failed_logins, user.locked_at = 0, None
    audit.record_login(username=user.get_username(), user=user, success=True, request=request)
    return True


def check_lock(user: User, *, request=None) -> bool:
    """True when the account is locked; a lock whose time has run out is lifted here (and logged)."""
    if security.lock_ran_out(user):
        unlock(user, actor=None, request=request, why="timeout")
        return False
    return security.is_locked(user)


def _unlock_row(row: User, *, actor, request, why: str) -> None:
    before = _lock_state(row)
    row.locked_at = None
    row.failed_logins = 0
    row.save(update_fields=["locked_at", "failed_logins"])
    audit.record_change(
        actor=actor,
        action="unlocked",
        subject_user=row,
        before=before,
        after={**_lock_state(row), "reason": why},
        request=request,
    )


@transaction.atomic
def unlock(user: User, actor, *, request=None, why: str = "administrator") -> bool:
    """Lift the account's lock and clear its failures. False when there was nothing to lift."""
    row = User.objects.select_for_update().get(pk=user.pk)
    if row.locked_at is None and row.failed_logins == 0:
        return False
    if row.locked_at is None:  # failures only: clear them, no lock to record
        row.failed_logins = 0
        row.save(update_fields=["failed_logins"])
    else:
        _unlock_row(row, actor=actor, request=request, why=why)
    user.locked_at, user.failed_logins = None, 0
    return True


# --- second factor (TOTP) -------------------------------------------------------------------------
def confirmed_totp_device(user: User):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


@transaction.atomic
def start_totp_enrolment(user: User):
    """The account's unconfirmed TOTP device (its secret is shown once as a QR code), created if
    missing. A confirmed device must be reset by an administrator first."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if confirmed_totp_device(user) is not None:
        raise ValidationError(_("A second factor is already set up for this account."))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=settings.OTP_TOTP_ISSUER, confirmed=False)
    return device


@transaction.atomic
def confirm_totp_enrolment(device, *, request=None) -> None:
    """The user proved the device works (a correct code): it becomes the account's second factor."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user_id=device.user_id, confirmed=False).delete()
    audit.record_change(
        actor=device.user,
        action="mfa_enrolled",
        subject_user=device.user,
        before={"totp": False},
        after={"totp": True},
        request=request,
    )


def end_sessions(user: User, *, request=None) -> int:
    """Delete every unexpired session signed in as `user`; the number deleted. When one of them is
    `request`'s own, the request is logged out too (its session must not be saved again).

    Sessions are found by decoding each stored session (the database-backed session engines:
    `db`, the default, and `cached_db`; deleted through the engine, so a cached copy goes too). A
    control center has hundreds of sessions, not millions: one pass is cheap and needs no index
    of sessions per user."""
    from importlib import import_module

    from django.contrib.auth import SESSION_KEY, logout
    from django.contrib.sessions.models import Session

    store = import_module(settings.SESSION_ENGINE).SessionStore
    uid = str(user.pk)
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get(SESSION_KEY)) == uid
    ]
    for key in keys:
        store(session_key=key).delete()
    own = getattr(request, "session", None)
    if own is not None and own.session_key in keys:
        logout(request)
    return len(keys)


@transaction.atomic
def reset_mfa(user: User, actor, *, request=None) -> bool:
    """Delete the account's second-factor devices and end all its sessions: the user logs in again
    with the password and enrols a new device (a leftover session cannot enrol one). False when
    there was nothing to reset."""
    from django_otp import devices_for_user

    devices = list(devices_for_user(user, confirmed=None))
    if not devices:
        return False
    had_confirmed = any(d.confirmed for d in devices)
    for device in devices:
        device.delete()
    ended = end_sessions(user, request=request)
    audit.record_change(
        actor=actor,
        action="mfa_reset",
        subject_user=user,
        before={"totp": had_confirmed, "devices": len(devices)},
        after={"totp": False, "devices": 0, "sessions_ended": ended},
        request=request,
    )
    return True


# --- IP allow-list per role -------------------------------------------------------------------
def _policy_state(role: str) -> dict:
    policy = RoleNetworkPolicy.objects.filter(role=role).first()
    return {
        "role": role,
        "cidrs": policy.cidr_list if policy else None,
        "note": policy.note if policy else "",
    }


@transaction.atomic
def save_network_policy(policy: RoleNetworkPolicy, *, actor, request=None) -> RoleNetworkPolicy:
    """Create or change a role's allowed networks (validated), and record before/after."""
    policy.full_clean()
    stored_role = RoleNetworkPolicy.objects.filter(pk=policy.pk).values_list("role", flat=True).first()
    befores = {role: _policy_state(role) for role in {policy.role, stored_role} if role}
    policy.save()
    for role, before in sorted(befores.items()):
        after = _policy_state(role)
        if before != after:
            audit.record_change(
                actor=actor,
                action="network_policy_changed",
                target=f"role:{role}",
                before=before,
                after=after,
                request=request,
            )
    return policy


@transaction.atomic
def delete_network_policy(policy: RoleNetworkPolicy, *, actor, request=None) -> None:
    """Lift a role's network restriction."""
    before = _policy_state(policy.role)
    policy.delete()
    audit.record_change(
        actor=actor,
        action="network_policy_changed",
        target=f"role:{policy.role}",
        before=before,
        after=_policy_state(policy.role),
        request=request,
    )
