"""Append-only enforcement in the database, for both backends.

- SQLite/SpatiaLite: BEFORE UPDATE and BEFORE DELETE triggers on every audit table that
  `RAISE(ABORT, 'append-only: …')`. The purge (and Django's `flush`, which test teardown uses)
  drops the DELETE triggers inside its transaction and recreates them before it commits, so no
  other connection ever sees a table without them.
- PostgreSQL: one plpgsql trigger function raising on UPDATE, DELETE and TRUNCATE, except DELETE
  and TRUNCATE while `gwanje.audit_purge` is 'on' (set with SET LOCAL by the purge and by flush,
  so only for their own transaction) *and* the current role has the table owner's privileges
  (pg_has_role(current_user, owner, 'USAGE'): the owner, a member of it, a superuser). Any role
  may set a custom setting, so the setting alone lifts nothing: a role granted DELETE or TRUNCATE
  by mistake is still refused. The triggers bind the table owner too; the application role
  additionally lacks UPDATE/DELETE/TRUNCATE (see pgrole.py, deploy/postgres-app-role.sql). The
  owner can drop the triggers: against the owner, the hash chain and the anchors are what count.

Django's SQLite table rebuild (an AlterField on one of these tables) drops the triggers: a
migration that alters an audit table must call `install(schema_editor.connection)` again
(tests/audit checks that every table has its triggers).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection as default_connection
from django.db import transaction

APPEND_ONLY_TABLES = (
    "audit_accesslog",
    "audit_permissionchange",
    "audit_loginevent",
    "audit_auditanchor",
    "audit_monthlyreview",
)
# The tables whose oldest rows the purge may delete.
PURGEABLE_TABLES = ("audit_accesslog", "audit_permissionchange", "audit_loginevent")

# The same text as migration 0003 installs (tests/audit/test_guards.py compares the installed one).
# search_path is fixed so that no function or operator of the caller's schemas takes part.
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION gwanje_audit_append_only() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND current_setting('gwanje.audit_purge', true) = 'on'
       AND pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'USAGE')
    THEN
        IF TG_LEVEL = 'ROW' THEN
            RETURN OLD;
        END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'raise_exception',
              HINT = 'Audit records are never changed; old ones are removed only by gwanje audit purge, '
                     'run as the owner of the tables.';
END;
$$;
"""


def sqlite_trigger_sql(table: str, op: str) -> str:
    name = f"{table}_append_only_{op.lower()}"
    return (
        f'CREATE TRIGGER IF NOT EXISTS "{name}" BEFORE {op} ON "{table}" '
        f"BEGIN SELECT RAISE(ABORT, 'append-only: {op} on {table} is not allowed'); END"
    )


def _sqlite_names(table: str) -> tuple[str, str]:
    return f"{table}_append_only_update", f"{table}_append_only_delete"


def install(connection=None) -> None:
    connection = connection or default_connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_FUNCTION)
            for table in APPEND_ONLY_TABLES:
                cursor.execute(f'DROP TRIGGER IF EXISTS {table}_append_only ON "{table}"')
                cursor.execute(f'DROP TRIGGER IF EXISTS {table}_no_truncate ON "{table}"')
                cursor.execute(
                    f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "{table}" '
                    "FOR EACH ROW EXECUTE FUNCTION gwanje_audit_append_only()"
                )
                cursor.execute(
                    f'CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON "{table}" '
                    "FOR EACH STATEMENT EXECUTE FUNCTION gwanje_audit_append_only()"
                )
        else:
            for table in APPEND_ONLY_TABLES:
                for op in ("UPDATE", "DELETE"):
                    cursor.execute(sqlite_trigger_sql(table, op))


def uninstall(connection=None) -> None:
    connection = connection or default_connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in APPEND_ONLY_TABLES:
                cursor.execute(f'DROP TRIGGER IF EXISTS {table}_append_only ON "{table}"')
                cursor.execute(f'DROP TRIGGER IF EXISTS {table}_no_truncate ON "{table}"')
            cursor.execute("DROP FUNCTION IF EXISTS gwanje_audit_append_only()")
        else:
            for table in APPEND_ONLY_TABLES:
                for name in _sqlite_names(table):
                    cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def installed(connection=None) -> dict[str, set[str]]:
    """{table: {"UPDATE", "DELETE"[, "TRUNCATE"]}} — the operations each audit table refuses."""
    connection = connection or default_connection
    found: dict[str, set[str]] = {t: set() for t in APPEND_ONLY_TABLES}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgtype FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE p.proname = 'gwanje_audit_append_only' AND NOT t.tgisinternal AND t.tgenabled <> 'D'"
            )
            for table, tgtype in cursor.fetchall():
                if table in found:
                    # pg_trigger.tgtype bits: 8 DELETE, 16 UPDATE, 32 TRUNCATE
                    found[table] |= {
                        op for bit, op in ((8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE")) if tgtype & bit
                    }
        else:
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
            for table, name in cursor.fetchall():
                if table in found:
                    for op in ("update", "delete"):
                        if name == f"{table}_append_only_{op}":
                            found[table].add(op.upper())
    return found


@contextmanager
def deletion_allowed(tables: tuple[str, ...] = PURGEABLE_TABLES, connection=None) -> Iterator[None]:
    """Let this transaction delete rows of `tables` (the purge, flush). Runs the block in
    transaction.atomic(); the guard is back before the transaction commits, or rolls back with it."""
    connection = connection or default_connection
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL gwanje.audit_purge = 'on'")
            else:
                for table in tables:
                    cursor.execute(f'DROP TRIGGER IF EXISTS "{table}_append_only_delete"')
        yield
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL gwanje.audit_purge = 'off'")
            else:
                for table in tables:
                    cursor.execute(sqlite_trigger_sql(table, "DELETE"))
