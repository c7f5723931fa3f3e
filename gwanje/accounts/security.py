"""Read-side rules of sign-in safety (no writes here; those are in services.py): lock state,
the IP allow-list per role, the session clock.

See docs/authentication.md.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

from gwanje.core.permissions import roles_of

# Session keys (the session is the only place the clock lives; token API requests have none).
LOGIN_AT = "gwanje_login_at"  # epoch seconds of the password step
SEEN_AT = "gwanje_seen_at"  # epoch seconds of the last request
SEEN_GRANULARITY = 15  # seconds: the session is rewritten at most this often for activity
# Epoch seconds of a password step whose second-factor step is still to do: only such a session
# may enrol a new device (set at a password login of an account that requires a second factor,
# removed when the code step completes).
MAY_ENROL = "gwanje_may_enrol"


# --- lockout --------------------------------------------------------------------------------
def lock_duration() -> dt.timedelta | None:
    """How long a lock lasts; None: until an administrator unlocks (GWANJE_LOCKOUT_MINUTES=0)."""
    minutes = settings.LOCKOUT_MINUTES
    return dt.timedelta(minutes=minutes) if minutes > 0 else None


def lock_expires_at(user) -> dt.datetime | None:
    duration = lock_duration()
    if user.locked_at is None or duration is None:
        return None
    return user.locked_at + duration


def is_locked(user, now: dt.datetime | None = None) -> bool:
    """Locked and the lock has not run out."""
    if user.locked_at is None:
        return False
    expires = lock_expires_at(user)
    return expires is None or (now or timezone.now()) < expires


def lock_ran_out(user, now: dt.datetime | None = None) -> bool:
    """Locked once, and the configured time has passed (the next attempt unlocks it)."""
    return user.locked_at is not None and not is_locked(user, now)


# --- IP allow-list per role -------------------------------------------------------------------
@lru_cache(maxsize=256)
def _networks(cidrs: str) -> tuple:
    from gwanje.accounts.models import parse_cidrs

    return tuple(parse_cidrs(cidrs))


def policies_for(user) -> list:
    from gwanje.accounts.models import RoleNetworkPolicy

    roles = roles_of(user)
    if not roles:
        return []
    return list(RoleNetworkPolicy.objects.filter(role__in=roles))


def ip_allowed(user, ip: str | None) -> bool:
    """True when `ip` lies in one of the networks of every role of the user that has a policy.
    An unknown address is refused when any policy applies."""
    if getattr(user, "network_restricted", True) is False:  # annotated by the backend: no policy
        return True
    policies = policies_for(user)
    if not policies:
        return True
    if not ip:
        return False
    address = ipaddress.ip_address(ip)
    return all(any(address in network for network in _networks(policy.cidrs)) for policy in policies)


# --- the session clock ------------------------------------------------------------------------
def start_session(session, now: float | None = None) -> None:
    """Start the idle and absolute clocks of a freshly signed-in session."""
    now = time.time() if now is None else now
    session[LOGIN_AT] = int(now)
    session[SEEN_AT] = int(now)


def session_expiry(session, now: float | None = None) -> str | None:
    """ "absolute" or "idle" when the session has run out, else None."""
    now = time.time() if now is None else now
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if login_at is None or seen_at is None:
        return None
    if now - login_at > settings.SESSION_MAX_HOURS * 3600:
        return "absolute"
    if now - seen_at > settings.SESSION_IDLE_MINUTES * 60:
        return "idle"
    return None
