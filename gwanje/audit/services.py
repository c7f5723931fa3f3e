"""All writes to the access log, login events and the permission-change history.

Each `record_*` runs in `transaction.atomic()`: inside the caller's transaction it is a savepoint,
so the record is written in the same transaction as the action it records, and when it fails the
caller's action fails with it (DESIGN rule 1 and 3).

Appending to a chain: `UPDATE audit_chainhead SET last_seq = last_seq + 1 … RETURNING` first (the
write lock on SQLite, a row lock on PostgreSQL, held until the transaction ends), then the record
is inserted with that seq and the previous hash, then the head takes the new hash.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from gwanje.audit import chain
from gwanje.audit.choices import AccessAction, AccessResult, ChangeAction
from gwanje.audit.models import (
    AccessLog,
    ChainedRecord,
    ChainHead,
    LoginEvent,
    MonthlyReview,
    PermissionChange,
)

SYSTEM = "system"
ANONYMOUS = "anonymous"
_REASON_CODE = re.compile(r"^[a-z0-9_]{0,40}$")
_HEAD = ChainHead._meta.db_table


# --- request helpers --------------------------------------------------------------------------
def _normal_ip(value: str | None) -> str | None:
    """An address in the text the database stores and returns, or None when it is not one.

    IPv6 goes through the very function GenericIPAddressField (unpack_ipv4=False) applies before
    saving: an IPv4-mapped address becomes ::ffff:10.1.2.3 — also what PostgreSQL's host() says,
    and not Python's ::ffff:a01:203. The chain hashes this text, so it must be the stored text."""
    if not value:
        return None
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.version == 4:
        return str(address)
    if address.scope_id:  # fe80::1%eth0: the zone is local to the server, and inet refuses it
        address = ipaddress.IPv6Address(value.split("%", 1)[0])
    return clean_ipv6_address(str(address), unpack_ipv4=False)


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())
    except ValueError as e:
        raise ImproperlyConfigured(f"GWANJE_TRUSTED_PROXIES: {e}") from None


def _is_trusted(ip: str, networks) -> bool:
    address = ipaddress.ip_address(ip)
    if address.version == 6 and address.ipv4_mapped:  # a dual-stack socket's view of an IPv4 peer
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def client_ip(request) -> str | None:
    """The client's address, as stored in the access log and checked by the IP allow-lists.

    REMOTE_ADDR, unless it lies in one of settings.TRUSTED_PROXIES (GWANJE_TRUSTED_PROXIES): then
    X-Forwarded-For is read from the right, skipping the addresses of trusted proxies, and the
    first other address is the client (everything left of it is what the client claims). A header
    holding only trusted proxies gives the left-most; none gives REMOTE_ADDR; an entry that is not
    an address where the client's part starts gives None (unknown, refused by an allow-list)."""
    if request is None:
        return None
    meta = request.META
    remote = _normal_ip(meta.get("REMOTE_ADDR"))
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", None) or ()))
    if remote is None or not networks or not _is_trusted(remote, networks):
        return remote
    hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    client = remote
    for hop in reversed(hops):
        client = _normal_ip(hop)
        if client is None or not _is_trusted(client, networks):
            return client
    return client


def _user_agent(request) -> str:
    if request is None:
        return ""
    return chain.clean_text(request.META.get("HTTP_USER_AGENT", ""), 300)


def _now() -> datetime:
    return chain.truncate_ms(timezone.now())


def _authenticated(user) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def _roles(user) -> str:
    from gwanje.core.permissions import roles_of

    roles = roles_of(user)
    if not roles and not user.is_active:  # roles_of() ignores disabled accounts; the log does not
        roles = frozenset(user.groups.values_list("name", flat=True))
    return ",".join(sorted(roles))


def _check(value: str, allowed: list[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of: {', '.join(allowed)}")


# --- chain append -----------------------------------------------------------------------------
def _next_seq(name: str) -> tuple[int, str]:
    """Take the next seq of a chain (locking its head) and the previous record's hash."""
    sql = f'UPDATE "{_HEAD}" SET last_seq = last_seq + 1 WHERE chain = %s RETURNING last_seq, last_hash'  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [name])
        row = cursor.fetchone()
        if row is None:
            # No head (a flushed test database): start from the chain's last record, or genesis.
            table = chain.TABLES[name]
            cursor.execute(
                f'INSERT INTO "{_HEAD}" (chain, last_seq, last_hash) '  # noqa: S608 - identifiers
                f'SELECT %s, COALESCE((SELECT MAX(seq) FROM "{table}"), 0), '
                f'COALESCE((SELECT hash FROM "{table}" ORDER BY seq DESC LIMIT 1), %s) '
                "WHERE 1 = 1 ON CONFLICT (chain) DO NOTHING",
                [name, chain.GENESIS],
            )
            cursor.execute(sql, [name])
            row = cursor.fetchone()
    return int(row[0]), row[1]


def _append(record: ChainedRecord, *, at: datetime | None = None) -> None:
    """Give `record` its place in its chain and insert it. Call inside transaction.atomic().
    `at` is for tests that build a history (the services always take the time themselves)."""
    record.seq, record.prev_hash = _next_seq(record.CHAIN)
    record.at = chain.truncate_ms(at) if at else _now()  # taken under the lock: times ascend with seq
    record.hash = record.computed_hash()
    record.save(force_insert=True)
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{_HEAD}" SET last_hash = %s WHERE chain = %s', [record.hash, record.CHAIN])  # noqa: S608


# --- the interface ------------------------------------------------------------------------------
def record_access(
    *,
    user,
    action: str,
    subject_type: str,
    subject: str,
    result: str = AccessResult.ALLOWED,
    reason: str = "",
    legal_basis: str = "",
    request=None,
) -> AccessLog:
    """Write one access to personal information to the access log (접속기록)."""
    record = access_record(
        user=user,
        action=action,
        subject_type=subject_type,
        subject=subject,
        result=result,
        reason=reason,
        legal_basis=legal_basis,
        request=request,
    )
    with transaction.atomic():
        _append(record)
    return record


def access_record(
    *,
    user,
    action: str,
    subject_type: str,
    subject: str,
    result: str = AccessResult.ALLOWED,
    reason: str = "",
    legal_basis: str = "",
    request=None,
) -> AccessLog:
    """The (unsaved, unchained) access-log record that record_access() appends; validates."""
    _check(action, AccessAction.values(), "access action")
    _check(result, AccessResult.values(), "access result")
    subject_type = chain.clean_text(subject_type).strip()
    if not subject_type or len(subject_type) > 40:
        raise ValueError("subject_type must be 1 to 40 characters (e.g. 'camera', 'plate', 'export')")
    subject = chain.clean_text(subject).strip()
    if not subject:
        raise ValueError("subject must name what was accessed (e.g. 'camera:123 2026-11-24T01:00Z/…')")
    record = AccessLog(
        action=action,
        subject_type=subject_type,
        subject=subject,
        result=result,
        reason=chain.clean_text(reason),
        legal_basis=chain.clean_text(legal_basis),
        ip=client_ip(request),
        user_agent=_user_agent(request),
    )
    if _authenticated(user):
        record.user_id = user.pk
        record.username = chain.clean_text(user.get_username(), 150)
        record.name = chain.clean_text(getattr(user, "name", "") or "", 150)
        org = getattr(user, "organisation", None)
        record.organisation = chain.clean_text(org.name if org is not None else "", 200)
        record.roles = chain.clean_text(_roles(user), 300)
    else:
        record.username = SYSTEM if user is None else ANONYMOUS
    return record


def record_change(
    *,
    actor,
    action: str,
    subject_user=None,
    target: str = "",
    before: dict | None = None,
    after: dict | None = None,
    request=None,
) -> PermissionChange:
    """Write one change of rights to the permission-change history (권한 변경 이력).
    `actor` None means the system (a job or a command without a user)."""
    _check(action, ChangeAction.values(), "change action")
    for label, value in (("before", before), ("after", after)):
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"{label} must be a dict or None, not {type(value).__name__}")
    record = PermissionChange(
        action=action,
        target=chain.clean_text(target),
        before=chain.canonical_json(before),
        after=chain.canonical_json(after),
        ip=client_ip(request),
    )
    if _authenticated(actor):
        record.actor_id = actor.pk
        record.actor_username = chain.clean_text(actor.get_username(), 150)
    else:
        record.actor_username = SYSTEM if actor is None else ANONYMOUS
    if subject_user is not None:
        record.subject_user_id = subject_user.pk
        record.subject_username = chain.clean_text(subject_user.get_username(), 150)
    with transaction.atomic():
        _append(record)
    return record


def record_login(*, username: str, user=None, success: bool, reason: str = "", request=None) -> LoginEvent:
    """Write a sign-in attempt. `reason` is a code: ok, bad_password, unknown_user, locked, inactive,
    ip_not_allowed, mfa_failed, … (lower-case letters, digits and _; "ok" by default on success)."""
    if not isinstance(success, bool):
        raise ValueError("success must be True or False")
    reason = reason or ("ok" if success else "")
    if not _REASON_CODE.match(reason):
        raise ValueError(f"reason must be a code of lower-case letters, digits and _ (got {reason!r})")
    event = LoginEvent(
        at=_now(),
        username=chain.clean_text(username, 150),
        user_id=getattr(user, "pk", None),
        success=success,
        reason=reason,
        ip=client_ip(request),
        user_agent=_user_agent(request),
    )
    with transaction.atomic():
        event.save(force_insert=True)
    return event


def login_summary(user) -> tuple[LoginEvent | None, int]:
    """The user's previous successful sign-in (before the current one) and the number of failed
    attempts since then (shown after signing in)."""
    mine = Q(user_id=user.pk) | Q(user__isnull=True, username=user.get_username())
    successes = list(LoginEvent.objects.filter(user_id=user.pk, success=True).order_by("-id")[:2])
    previous = successes[1] if len(successes) > 1 else None
    failures = LoginEvent.objects.filter(mine, success=False)
    if previous is not None:
        failures = failures.filter(id__gt=previous.id)
    return previous, failures.count()


def record_review(*, month, reviewer, remarks: str = "", flag_counts: dict, request=None) -> MonthlyReview:
    """Record that `reviewer` reviewed the access log of `month` (its first day), with what the
    review found (counts of each kind of flag) and remarks."""
    from gwanje.audit import days

    if not _authenticated(reviewer):
        raise ValueError("a review needs a signed-in reviewer")
    if month.day != 1:
        raise ValueError(f"month must be the first day of a month, not {month}")
    if month > days.today():
        raise ValueError(f"{month:%Y-%m} has not started yet")
    if not isinstance(flag_counts, dict):
        raise ValueError("flag_counts must be a dict")
    review = MonthlyReview(
        month=month,
        reviewer_id=reviewer.pk,
        reviewer_username=reviewer.get_username(),
        reviewer_name=getattr(reviewer, "name", "") or "",
        reviewed_at=_now(),
        remarks=chain.clean_text(remarks).strip(),
        flag_counts=flag_counts,
    )
    with transaction.atomic():
        review.save(force_insert=True)
    return review
