"""`gwanje audit verify`: recompute a chain and compare it with its head and its daily anchors.

The records are read as raw rows in seq order (keyset batches, canonical texts made by the
database, see chain.select_sql), never as model instances, so the check runs well above
100,000 records/s. What is found, per record:

- gap in seq                 → records were deleted ("missing");
- prev_hash ≠ previous hash  → records were replaced, reordered or removed;
- recomputed hash ≠ hash     → the record's content was edited;
- id order ≠ seq order       → seq values were changed (records reordered);
- a separator inside a field → a record was written outside the services;
- after the last record: the chain head names a higher seq → the newest records were deleted;
- anchors (table and file): the anchored record is missing or its hash differs; table and file
  disagree.

The chain may start after seq 1 only where `gwanje audit purge` removed its oldest part: a purge
record in the chain must name exactly that prefix ("seq …..N", N = first remaining seq - 1), and
the first remaining record's prev_hash must equal the last purged hash it names (and the anchor of
seq N, when there is one). Anything else is a problem — an anchor matching the first remaining
record's prev_hash is no excuse, since whoever deletes the oldest records leaves that link intact.

With `--since DAY` the check starts at the first record dated DAY or later and is tied to the
record before it (the highest seq below): a gap or a prev_hash that does not match is a problem,
as it is inside the window. When no record lies below, the window must start at seq 1 or where a
purge record says the chain starts.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import date

from django.db import connection

from gwanje.audit import anchors, chain, days
from gwanje.audit.models import AuditAnchor, ChainHead

BATCH = 20_000
MAX_PROBLEMS = 50
PURGE_TEXT = "seq {first}..{last} up to {day}, last hash {hash}"
PURGE_RE = re.compile(r"seq (\d+)\.\.(\d+) up to (\d{4}-\d{2}-\d{2}), last hash ([0-9a-f]{64})")


@dataclass
class Problem:
    seq: int | None
    id: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        where = []
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        if self.id is not None:
            where.append(f"id {self.id}")
        return f"[{self.kind}] {' '.join(where) + ': ' if where else ''}{self.message}"


@dataclass
class Report:
    chain: str
    checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    seconds: float = 0.0
    anchors_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    more_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rate(self) -> float:
        return self.checked / self.seconds if self.seconds > 0 else 0.0

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.more_problems += 1


def purge_points(name: str) -> dict[int, str]:
    """{last purged seq: its hash} from the chain's own purge records (which the chain itself
    protects: a purge record is checked like every other record)."""
    with connection.cursor() as cursor:
        if name == chain.ACCESS:
            cursor.execute(
                "SELECT subject FROM audit_accesslog WHERE action = %s AND subject_type = %s",
                ["delete", "access_log"],
            )
        else:
            cursor.execute("SELECT target FROM audit_permissionchange WHERE action = %s", ["history_purged"])
        texts = [r[0] for r in cursor.fetchall()]
    out: dict[int, str] = {}
    for text in texts:
        m = PURGE_RE.search(text or "")
        if m:
            out[int(m.group(2))] = m.group(4)
    return out


def _head(name: str) -> tuple[int, str] | None:
    head = ChainHead.objects.filter(chain=name).values_list("last_seq", "last_hash").first()
    return (int(head[0]), head[1]) if head else None


def _anchor_sources(name: str, report: Report, since: date | None) -> dict[int, list[tuple[str, str]]]:
    """{seq: [(hash, where)]} from the anchor table and file; table/file disagreements are problems."""
    table = {
        a.day: (a.last_seq, a.last_hash)
        for a in AuditAnchor.objects.filter(chain=name).only("day", "last_seq", "last_hash")
    }
    file = anchors.read_file(name)
    for error in file.errors:
        report.add(Problem(None, None, "anchor-file", error))
    if table and not file.exists:
        report.notes.append(f"anchor file {file.path} not found: anchors checked against the table only")
    by_seq: dict[int, list[tuple[str, str]]] = {}
    for day in sorted(set(table) | set(file.by_day)):
        if since and day < since:
            continue
        in_table = table.get(day)
        in_file = file.by_day.get(day, [])
        if in_table:
            by_seq.setdefault(in_table[0], []).append((in_table[1], f"anchor of {day} (table)"))
        for seq, hash_ in in_file:
            if in_table and (seq, hash_) != in_table:
                report.add(
                    Problem(
                        seq,
                        None,
                        "anchor-mismatch",
                        f"anchor of {day}: the file {file.path} says seq {seq} hash {hash_}, "
                        f"the table says seq {in_table[0]} hash {in_table[1]}",
                    )
                )
            if not in_table:
                report.add(
                    Problem(
                        seq, None, "anchor-missing", f"anchor of {day} is in {file.path} but not in the table"
                    )
                )
            by_seq.setdefault(seq, []).append((hash_, f"anchor of {day} (file)"))
        if in_table and not in_file and file.exists:
            report.notes.append(f"anchor of {day} is in the table but not in {file.path}")
    return by_seq


def _record_below(table: str, seq: int) -> tuple[int, str] | None:
    """(seq, hash) of the record with the highest seq below `seq`, or None."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT seq, hash FROM "{table}" WHERE seq < %s ORDER BY seq DESC LIMIT 1',  # noqa: S608
            [seq],
        )
        row = cursor.fetchone()
    return (int(row[0]), row[1]) if row else None


def _missing_prefix(
    name: str, start: int, anchored: dict[int, list[tuple[str, str]]], report: Report
) -> tuple[str | None, str]:
    """Nothing lies below seq `start` (> 1): a purge record must name exactly seq ..start-1.
    Returns the hash the first remaining record's prev_hash must equal, and where it comes from;
    a missing prefix that no purge record accounts for is a problem."""
    points = purge_points(name)
    last_gone = start - 1
    anchor_hashes = {h for h, _where in anchored.get(last_gone, [])}
    purged = points.get(last_gone)
    if purged:
        if anchor_hashes and anchor_hashes != {purged}:
            report.add(
                Problem(last_gone, None, "anchor-mismatch", "the purge record and the anchor disagree")
            )
        return purged, f"the purge record of seq ..{last_gone}"
    covered = max((seq for seq in points if seq < last_gone), default=0)
    report.add(
        Problem(
            start,
            None,
            "missing",
            f"records seq {covered + 1}..{last_gone} are missing and no purge record accounts for them"
            + (f" (seq ..{covered} were purged)" if covered else ""),
        )
    )
    if anchor_hashes:  # still check that what is left follows on from the anchored record
        return sorted(anchor_hashes)[0], f"the anchor of seq {last_gone}"
    return None, ""


def verify_chain(name: str, *, since: date | None = None) -> Report:
    if name not in chain.CHAINS:
        raise ValueError(f"unknown chain {name!r}; expected one of: {', '.join(chain.CHAINS)}")
    report = Report(chain=name)
    table = chain.TABLES[name]
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        # The table's extent first, the head second: a record committed before the first read has
        # its head update committed too, so the head never trails the table unless rows were forged.
        cursor.execute(f'SELECT MIN(seq), MAX(seq) FROM "{table}"')  # noqa: S608
        min_seq, max_seq = cursor.fetchone()
        head = _head(name)
        head_seq = head[0] if head else (max_seq or 0)
        if since:
            cursor.execute(
                f'SELECT MIN(seq) FROM "{table}" WHERE at >= %s AND seq <= %s',  # noqa: S608
                [days.db_datetime(days.start_of(since)), head_seq],
            )
            (start,) = cursor.fetchone()
        else:
            start = min_seq
    if max_seq is not None and max_seq > head_seq:
        report.add(
            Problem(
                max_seq,
                None,
                "head",
                f"records after the chain head (seq {head_seq}) exist up to seq {max_seq}: "
                "they were not written by the services",
            )
        )
    anchored = _anchor_sources(name, report, since)
    report.anchors_checked = sum(len(v) for v in anchored.values())

    if start is None:  # nothing (from `since`) to check
        with connection.cursor() as cursor:  # again: records appended since the first read count
            cursor.execute(f'SELECT MAX(seq) FROM "{table}"')  # noqa: S608
            (max_seq,) = cursor.fetchone()
        if head_seq > (max_seq or 0):
            report.add(
                Problem(
                    head_seq,
                    None,
                    "missing",
                    f"the chain head names seq {head_seq} but the table is empty"
                    if max_seq is None
                    else f"the chain head names seq {head_seq} but the last record is seq {max_seq}: "
                    "the newest records were deleted",
                )
            )
        report.seconds = time.perf_counter() - t0
        return report

    # Where the first checked record's seq and prev_hash must come from: the record before it
    # (with --since), genesis, or a purge record naming exactly the prefix that is gone.
    expected_seq = start
    expected_prev: str | None
    below = _record_below(table, start) if since and start > 1 else None
    if below is not None:
        expected_seq = below[0] + 1
        expected_prev, origin = below[1], f"seq {below[0]}"
    elif start == 1:
        expected_prev, origin = chain.GENESIS, "genesis"
    else:
        expected_prev, origin = _missing_prefix(name, start, anchored, report)
    if start > 1:
        report.notes.append(f"starts at seq {start} (previous hash from {origin or 'nowhere'})")

    prefix = chain.PREFIX[name] + chain.SEP
    sep = chain.SEP
    nsep = len(chain.FIELDS[name]) - 1
    sha256 = hashlib.sha256
    sql = chain.select_sql(name, connection.vendor, "seq >= %s AND seq <= %s") + f" LIMIT {BATCH}"
    upper = head_seq
    last_id = -1
    prev_hash = expected_prev
    checked = 0
    cursor_seq = start
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [cursor_seq, upper])
            rows = cursor.fetchall()
            if not rows:
                break
            for row in rows:
                id_, seq, prev, stored = row[0], row[1], row[2], row[3]
                content = row[4]
                if seq != expected_seq:
                    report.add(
                        Problem(
                            seq,
                            id_,
                            "missing",
                            f"seq gap: records seq {expected_seq}..{seq - 1} are missing (deleted)",
                        )
                    )
                    if prev != prev_hash and prev_hash is not None:
                        prev_hash = None  # the gap explains it
                if prev_hash is not None and prev != prev_hash:
                    report.add(
                        Problem(
                            seq,
                            id_,
                            "prev-hash",
                            "prev_hash does not match the previous record's hash: "
                            "records were reordered, replaced or removed"
                            + (f" (the previous hash is from {origin})" if seq == start and origin else ""),
                        )
                    )
                if id_ < last_id:
                    report.add(
                        Problem(
                            seq,
                            id_,
                            "order",
                            f"seq order differs from insertion order (id {id_} after id {last_id}): "
                            "seq values were changed (records reordered)",
                        )
                    )
                if content.count(sep) != nsep:
                    report.add(Problem(seq, id_, "format", "a field contains the separator character"))
                if sha256((prefix + content + sep + prev).encode()).hexdigest() != stored:
                    report.add(
                        Problem(
                            seq,
                            id_,
                            "hash",
                            "hash mismatch: the record's content was changed after it was written",
                        )
                    )
                if seq in anchored:
                    for hash_, where in anchored[seq]:
                        if hash_ != stored:
                            report.add(
                                Problem(seq, id_, "anchor-mismatch", f"{where} holds a different hash")
                            )
                expected_seq = seq + 1
                prev_hash = stored
                last_id = id_
            checked += len(rows)
            if report.first_seq is None:
                report.first_seq = rows[0][1]
            report.last_seq = rows[-1][1]
            cursor_seq = rows[-1][1] + 1
    report.checked = checked

    last = report.last_seq or 0
    if head is not None and head[0] > last:
        report.add(
            Problem(
                head[0],
                None,
                "missing",
                f"the chain head names seq {head[0]} but the last record is seq {last}: "
                "the newest records were deleted",
            )
        )
    elif head is not None and head[0] == last and prev_hash is not None and head[1] != prev_hash:
        report.add(Problem(last, None, "head", "the chain head's hash differs from the last record's"))
    for seq in sorted(anchored):
        if (start <= seq <= last) or seq == 0:
            continue
        if seq > last:
            report.add(Problem(seq, None, "missing", "an anchor names a record after the chain's last one"))
    report.seconds = time.perf_counter() - t0
    return report
