"""The hash chain of the access log and of the permission-change history: one canonical form.

Each record's hash is SHA-256 over

    "<chain>/1" US f1 US f2 … US fn US prev_hash          (US = "\\x1f", UTF-8)

where f1…fn are the record's content fields as text, in the fixed order of `FIELDS[chain]`
(None → ""), and prev_hash is the previous record's hash (the first record's is 64 zeros).
The separator cannot occur inside a field: services strip it (and the other C0 separators) from
every text before writing, and the verifier rejects a record whose fields contain it.

Field text is defined once, here, twice over: `record_values()` from Python values (when a
record is written) and `content_sql()` (the database joins the texts when the verifier reads raw
rows, without model instances, so that it checks well over 100,000 records/s). A test checks
that both agree.

- `seq`, ids: decimal; `at`: UTC with milliseconds, "2026-11-24T01:00:00.123Z";
- `ip`: the text Django stores (GenericIPAddressField: IPv4 dotted, IPv6 through
  `django.utils.ipv6.clean_ipv6_address`, so IPv4-mapped as `::ffff:10.1.2.3`). PostgreSQL's
  `host(inet)` says the same except for the deprecated IPv4-compatible `::a.b.c.d` (`::/96` from
  `::0.1.0.0` on), which Django writes in hex (`::102:304`): `content_sql()` writes those in hex;
- JSON (before/after of a permission change): canonical JSON, see `canonical_json()`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
SEP = "\x1f"
# Characters that never enter a chained text (the separator and its C0 siblings, and NUL).
_STRIP = dict.fromkeys(map(ord, "\x00\x1c\x1d\x1e\x1f"))

ACCESS = "access"
PERMISSION = "permission"
CHAINS = (ACCESS, PERMISSION)

# (column, kind) in canonical order. kind: int | at | text | ip
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    ACCESS: (
        ("seq", "int"),
        ("at", "at"),
        ("user_id", "int"),
        ("username", "text"),
        ("name", "text"),
        ("organisation", "text"),
        ("roles", "text"),
        ("ip", "ip"),
        ("user_agent", "text"),
        ("action", "text"),
        ("subject_type", "text"),
        ("subject", "text"),
        ("reason", "text"),
        ("legal_basis", "text"),
        ("result", "text"),
    ),
    PERMISSION: (
        ("seq", "int"),
        ("at", "at"),
        ("actor_id", "int"),
        ("actor_username", "text"),
        ("subject_user_id", "int"),
        ("subject_username", "text"),
        ("action", "text"),
        ("target", "text"),
        ("before", "text"),
        ("after", "text"),
        ("ip", "ip"),
    ),
}
TABLES = {ACCESS: "audit_accesslog", PERMISSION: "audit_permissionchange"}
PREFIX = {name: f"{name}/1" for name in CHAINS}


def clean_text(value: Any, max_length: int | None = None) -> str:
    """Text as it may enter a chained record: no NUL, no C0 separators; cut to max_length."""
    text = "" if value is None else str(value)
    text = text.translate(_STRIP)
    return text[:max_length] if max_length else text


def truncate_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def at_text(value: datetime) -> str:
    """UTC, milliseconds: 2026-11-24T01:00:00.123Z (what both databases produce in select_sql)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def canonical_json(value: dict | None) -> str:
    if value is None:
        return ""
    return clean_text(
        json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    )


def _text(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "at":
        return at_text(value)
    if kind == "int":
        return str(int(value))
    return str(value)


def record_values(chain: str, obj: Any) -> list[str]:
    """The content fields of a model instance as canonical text."""
    return [_text(kind, getattr(obj, column)) for column, kind in FIELDS[chain]]


def compute_hash(chain: str, values: Sequence[str], prev_hash: str) -> str:
    message = PREFIX[chain] + SEP + SEP.join(values) + SEP + prev_hash
    return hashlib.sha256(message.encode("utf-8")).hexdigest()


def hasher(chain: str):
    """A fast hash function for the verifier: (values tuple/list, prev_hash) -> hex."""
    prefix = PREFIX[chain] + SEP
    sha256 = hashlib.sha256
    join = SEP.join

    def h(values: Sequence[str], prev_hash: str) -> str:
        return sha256((prefix + join(values) + SEP + prev_hash).encode("utf-8")).hexdigest()

    return h


def _sql_expr(column: str, kind: str, vendor: str) -> str:
    q = f'"{column}"'
    if kind == "at":
        if vendor == "postgresql":
            return f"to_char({q} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
        return f"strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', {q})"
    if kind == "int":
        return f"COALESCE(CAST({q} AS TEXT), '')"
    if kind == "ip" and vendor == "postgresql":
        # host() but for the IPv4-compatible ::a.b.c.d, which Django (and so SQLite) writes in hex.
        n = f"({q} - '::'::inet)"
        return (
            f"COALESCE(CASE WHEN family({q}) = 6 AND {q} << '::/96'::inet AND {q} >= '::0.1.0.0'::inet "
            f"THEN '::' || to_hex({n} >> 16) || ':' || to_hex({n} & 65535) ELSE host({q}) END, '')"
        )
    return f"COALESCE({q}, '')"


def content_sql(chain: str, vendor: str) -> str:
    """SQL making the canonical text of a record's content fields (joined by SEP) in the database:
    one string per row instead of one per field is most of the verifier's speed."""
    sep = " || chr(31) || " if vendor == "postgresql" else " || char(31) || "
    return sep.join(_sql_expr(c, k, vendor) for c, k in FIELDS[chain])


def select_sql(chain: str, vendor: str, where: str = "") -> str:
    """SELECT id, seq, prev_hash, hash, <canonical content text> FROM the chain's table [WHERE …]
    ORDER BY seq. `where` may hold %s placeholders (so literal % are doubled here)."""
    sql = f'SELECT id, seq, prev_hash, hash, {content_sql(chain, vendor)} FROM "{TABLES[chain]}"'  # noqa: S608
    if where:
        sql += f" WHERE {where}"
    return sql + " ORDER BY seq"
