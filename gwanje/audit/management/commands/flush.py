"""Django's `flush`, which must also empty the append-only audit tables.

`flush` removes every row of every table; test teardown (TransactionTestCase, live-server and
browser tests) runs it between tests. The audit tables refuse DELETE and TRUNCATE, so this
command — an app command of the same name takes the place of Django's — runs Django's flush with
the audit guard lifted for its own transaction (guards.deletion_allowed): the guard is back before
the transaction commits. In production the PostgreSQL application role has no DELETE/TRUNCATE
on these tables, so a flush through it still fails (see docs/audit.md).
"""

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections

from gwanje.audit import guards


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        with guards.deletion_allowed(guards.APPEND_ONLY_TABLES, connection=connection):
            return super().handle(**options)
