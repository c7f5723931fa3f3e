"""Daily anchors: each chain's last record at the end of a day (Asia/Seoul), kept twice — a row of
AuditAnchor and a line `YYYY-MM-DD seq hash` appended to settings.AUDIT_ANCHOR_DIR/<chain>-anchors.log,
outside the database. Whoever rewrites the tables must also rewrite the file (best kept on other
storage or shipped off the machine); `gwanje audit verify` compares the chain with both.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from gwanje.audit import chain, days
from gwanje.audit.models import AuditAnchor

_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d+) ([0-9a-f]{64})$")
# When anchors are missing (the timer did not run), at most this many past days are filled in.
MAX_BACKFILL_DAYS = 400


def anchor_path(name: str) -> Path:
    return Path(settings.AUDIT_ANCHOR_DIR) / f"{name}-anchors.log"


def format_line(day: date, seq: int, hash_: str) -> str:
    return f"{day.isoformat()} {seq} {hash_}\n"


@dataclass
class FileAnchors:
    path: Path
    exists: bool = False
    by_day: dict[date, list[tuple[int, str]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def read_file(name: str) -> FileAnchors:
    path = anchor_path(name)
    out = FileAnchors(path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return out
    except OSError as e:
        out.errors.append(f"cannot read {path}: {e}")
        return out
    out.exists = True
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line.strip())
        if not m:
            out.errors.append(f"{path}:{n}: not an anchor line: {line[:100]!r}")
            continue
        try:
            day = date.fromisoformat(m.group(1))
        except ValueError:
            out.errors.append(f"{path}:{n}: not a date: {m.group(1)!r}")
            continue
        out.by_day.setdefault(day, []).append((int(m.group(2)), m.group(3)))
    return out


def _append_line(name: str, line: str) -> None:
    path = anchor_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _last_before(name: str, end) -> tuple[int, str] | None:
    """(seq, hash) of the chain's last record before `end`, (0, GENESIS) when there is none, None
    when the records before `end` were purged."""
    table = chain.TABLES[name]
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT seq, hash FROM "{table}" WHERE at < %s ORDER BY seq DESC LIMIT 1',  # noqa: S608
            [days.db_datetime(end)],
        )
        row = cursor.fetchone()
        if row:
            return int(row[0]), row[1]
        cursor.execute(f'SELECT MIN(seq) FROM "{table}"')  # noqa: S608
        (first,) = cursor.fetchone()
    if first is not None and first > 1:
        return None
    return 0, chain.GENESIS


@dataclass
class AnchorResult:
    chain: str
    day: date
    seq: int | None
    hash: str | None
    created: bool  # a new table row
    file_written: bool  # a new file line
    message: str = ""


def write_anchor(name: str, day: date, *, today: date | None = None) -> AnchorResult:
    """Anchor one chain for one finished day (idempotent: an existing row is kept and only a
    missing file line is added; a file line that differs from the row is left for verify)."""
    if day >= (today or days.today()):
        raise ValueError(f"{day} is not over yet (Asia/Seoul): only past days can be anchored")
    with transaction.atomic():
        existing = AuditAnchor.objects.filter(chain=name, day=day).first()
        created = False
        if existing is None:
            _start, end = days.day_bounds(day)
            last = _last_before(name, end)
            if last is None:
                return AnchorResult(name, day, None, None, False, False, "records of that day were purged")
            existing = AuditAnchor.objects.create(
                chain=name, day=day, last_seq=last[0], last_hash=last[1], written_at=timezone.now()
            )
            created = True
    in_file = read_file(name).by_day.get(day, [])
    file_written = False
    if not in_file:
        _append_line(name, format_line(day, existing.last_seq, existing.last_hash))
        file_written = True
    message = ""
    if any(entry != (existing.last_seq, existing.last_hash) for entry in in_file):
        message = f"the file {anchor_path(name)} holds a different anchor for {day}"
    return AnchorResult(name, day, existing.last_seq, existing.last_hash, created, file_written, message)


def days_to_anchor(name: str, until: date) -> list[date]:
    """Days from the day after the last anchor (or the first record's day) up to `until`."""
    last = AuditAnchor.objects.filter(chain=name).order_by("-day").values_list("day", flat=True).first()
    if last is not None:
        first = last + timedelta(days=1)
    else:
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT MIN(at) FROM "{chain.TABLES[name]}"')  # noqa: S608
            (first_at,) = cursor.fetchone()
        first = until if first_at is None else days.local(days.from_db(first_at)).date()
    first = max(first, until - timedelta(days=MAX_BACKFILL_DAYS))
    return [first + timedelta(days=i) for i in range((until - first).days + 1)]
