"""Row-level writes for `bulk.upsert_sites`: plain tuples straight to the database, without model
instances (which cost more than the database itself at 100,000 rows).

- SpatiaLite: `executemany`. The per-row R*Tree and timestamp triggers of the point column are
  dropped for the insert and the new rows' bounding boxes written to the R*Tree in one statement
  afterwards; the triggers are recreated from their own saved SQL. All of it happens inside the
  caller's transaction, so a failure rolls the triggers back too, and other connections (WAL)
  never see the table without them.
- PostGIS: COPY for inserts, `executemany` (pipelined by psycopg) for updates.

A point is given as two values, x (longitude) and y (latitude), WGS84.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import F, FloatField, Func

SRID = 4326
# Coordinates as plain numbers (ST_X/ST_Y exist on PostGIS and SpatiaLite): cheaper than geometries.
X = Func(F("point"), function="ST_X", output_field=FloatField())
Y = Func(F("point"), function="ST_Y", output_field=FloatField())


def is_postgis() -> bool:
    return connection.vendor == "postgresql"


def point_sql() -> str:
    """SQL taking two parameters (x, y) that makes a WGS84 point on this backend."""
    if is_postgis():
        return f"ST_SetSRID(ST_MakePoint(%s, %s), {SRID})"
    return f"MakePoint(%s, %s, {SRID})"


def db_datetime(value):
    """A datetime as the backend driver takes it (SQLite: naive UTC text, as Django stores it)."""
    return value if is_postgis() else connection.ops.adapt_datetimefield_value(value)


def insert(
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    point_column: str = "point",
    ids: bool = True,
) -> list[int]:
    """Insert rows; each row holds one value per column except `point_column`, which takes two
    (x, y). Returns the new rows' ids in row order (none unless `ids`: taking them costs a little
    on PostGIS). Must run inside a transaction."""
    rows = list(rows)
    if not rows:
        return []
    if is_postgis():
        return _copy(table, columns, rows, point_column, ids)
    new_ids = _spatialite_insert(table, columns, rows, point_column)
    return new_ids if ids else []


def execute_many(sql: str, rows: Sequence[tuple]) -> None:
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _copy(
    table: str, columns: Sequence[str], rows: list[tuple], point_column: str, with_ids: bool
) -> list[int]:
    """COPY; wanted ids are taken from the table's sequence first (COPY cannot return them)."""
    from psycopg.copy import QueuedLibpqWriter

    at = list(columns).index(point_column)
    ids: list[int] = []
    if with_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table, len(rows)),
            )
            ids = sorted(r[0] for r in cursor.fetchall())
        columns = ["id", *columns]
        rows = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
        at += 1
    with (
        connection.wrap_database_errors,  # psycopg's errors as Django's (IntegrityError, …)
        connection.cursor() as cursor,
        # The queued writer sends from a thread: the server works while Python formats rows.
        cursor.cursor.copy(
            f'COPY "{table}" ({_quoted(columns)}) FROM STDIN', writer=QueuedLibpqWriter(cursor.cursor)
        ) as copy,
    ):
        for row in rows:
            x, y = row[at], row[at + 1]
            copy.write_row((*row[:at], f"SRID={SRID};POINT({x!r} {y!r})", *row[at + 2 :]))
    return ids


def _spatialite_insert(table: str, columns: Sequence[str], rows: list[tuple], point_column: str) -> list[int]:
    values = ", ".join(point_sql() if c == point_column else "%s" for c in columns)
    sql = f'INSERT INTO "{table}" ({_quoted(columns)}) VALUES ({values})'  # noqa: S608 - identifiers
    triggers = [f"gii_{table}_{point_column}", f"tmi_{table}_{point_column}", f"ggi_{table}_{point_column}"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'trigger' AND tbl_name = %s AND name IN (%s, %s, %s)",
            (table, *triggers),
        )
        saved = cursor.fetchall()
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608 - identifier
        (before,) = cursor.fetchone()
        for name, _sql in saved:
            cursor.execute(f'DROP TRIGGER "{name}"')
        cursor.executemany(sql, rows)
        if any(name.startswith("gii_") for name, _sql in saved):
            # New ids are all above the previous maximum (SQLite never hands out a lower one).
            cursor.execute(
                f'INSERT INTO "idx_{table}_{point_column}" (pkid, xmin, xmax, ymin, ymax) '  # noqa: S608
                f'SELECT id, MbrMinX("{point_column}"), MbrMaxX("{point_column}"), '
                f'MbrMinY("{point_column}"), MbrMaxY("{point_column}") '
                f'FROM "{table}" WHERE id > %s AND "{point_column}" IS NOT NULL',
                (before,),
            )
        if any(name.startswith("tmi_") for name, _sql in saved):
            cursor.execute(
                "UPDATE geometry_columns_time SET last_insert = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now') "
                "WHERE Lower(f_table_name) = Lower(%s) AND Lower(f_geometry_column) = Lower(%s)",
                (table, point_column),
            )
        for _name, trigger_sql in saved:
            cursor.execute(trigger_sql)  # no parameters: no % formatting
        # Rows get ever higher ids, so in id order they are in row order.
        cursor.execute(f'SELECT id FROM "{table}" WHERE id > %s ORDER BY id', (before,))  # noqa: S608
        ids = [r[0] for r in cursor.fetchall()]
    if len(ids) != len(rows):
        raise RuntimeError(f"{table}: {len(rows)} rows inserted but {len(ids)} new ids found")
    return ids
