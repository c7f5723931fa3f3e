"""Append-only in the database: triggers on both backends, the PostgreSQL application role, and
the two ways past them (the purge, Django's flush)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from gwanje.audit import guards, pgrole, services
from gwanje.audit.models import AccessLog, AuditAnchor, LoginEvent, MonthlyReview, PermissionChange

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def one_of_each(supervisor):
    services.record_access(user=supervisor, action="view", subject_type="camera", subject="camera:1")
    services.record_change(actor=supervisor, action="account_changed", subject_user=supervisor)
    services.record_login(username=supervisor.username, user=supervisor, success=True)
    AuditAnchor.objects.create(
        chain="access", day=date(2026, 1, 1), last_seq=0, last_hash="0" * 64, written_at=timezone.now()
    )
    services.record_review(month=date(2026, 1, 1), reviewer=supervisor, remarks="ok", flag_counts={})
    return [AccessLog, PermissionChange, LoginEvent, AuditAnchor, MonthlyReview]


def test_every_audit_table_has_its_triggers():
    expected = {"UPDATE", "DELETE"} | ({"TRUNCATE"} if connection.vendor == "postgresql" else set())
    assert guards.installed() == dict.fromkeys(guards.APPEND_ONLY_TABLES, expected)


@pytest.mark.parametrize(
    "model_name", ["AccessLog", "PermissionChange", "LoginEvent", "AuditAnchor", "MonthlyReview"]
)
def test_orm_cannot_update_or_delete(one_of_each, model_name):
    model = next(m for m in one_of_each if m.__name__ == model_name)
    obj = model.objects.order_by("-pk").first()
    field = "remarks" if model is MonthlyReview else "last_hash" if model is AuditAnchor else "at"
    value = "x" if field == "remarks" else "f" * 64 if field == "last_hash" else timezone.now()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        model.objects.filter(pk=obj.pk).update(**{field: value})
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        obj.delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        setattr(obj, field, value)
        obj.save()
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("table", guards.APPEND_ONLY_TABLES)
def test_raw_sql_cannot_update_or_delete(one_of_each, table):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as c:
        c.execute(f'UPDATE "{table}" SET id = id')  # noqa: S608
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as c:
        c.execute(f'DELETE FROM "{table}"')  # noqa: S608


def test_postgres_trigger_refuses_truncate_even_for_the_owner(one_of_each, pg_only):
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE"),
        transaction.atomic(),
        connection.cursor() as c,
    ):
        c.execute("TRUNCATE audit_accesslog")
    assert AccessLog.objects.exists()


def test_postgres_app_role_cannot_update(one_of_each, pg_only):
    role = "gwanje_app_test"
    with transaction.atomic():  # CREATE ROLE and the grants roll back with the savepoint
        with connection.cursor() as c:
            c.execute(f"CREATE ROLE {role} NOLOGIN")
            for statement in pgrole.statements(pgrole.app_role_sql(role)):
                c.execute(statement)
            c.execute(f"SET LOCAL ROLE {role}")
            # It may append (the chain head and the record) …
            r = services.record_access(user=None, action="view", subject_type="camera", subject="camera:7")
            assert AccessLog.objects.filter(pk=r.pk).exists()
            # … but not change or remove, and not by a privilege the trigger would otherwise catch.
            for sql in (
                "UPDATE audit_accesslog SET subject = 'x'",
                "DELETE FROM audit_accesslog",
                "TRUNCATE audit_loginevent",
                "UPDATE audit_permissionchange SET target = 'x'",
                "DELETE FROM audit_chainhead",
            ):
                with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
                    c.execute(sql)
            # Not even inside a purge's setting: the role lacks the privilege.
            with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
                c.execute("SET LOCAL gwanje.audit_purge = 'on'")
                c.execute("DELETE FROM audit_accesslog")
            # The rest of the application's tables: read and write as usual.
            c.execute("SELECT COUNT(*) FROM django_content_type")
            with transaction.atomic():
                c.execute("DELETE FROM django_session WHERE session_key = 'none'")
            c.execute("RESET ROLE")
        transaction.set_rollback(True)


def test_postgres_purge_setting_does_not_let_a_non_owner_delete(one_of_each, pg_only):
    """`gwanje.audit_purge` is a setting any role may set: the trigger also wants the table's owner
    (or a member of it), so a role that was granted DELETE or TRUNCATE by mistake still cannot."""
    role = "gwanje_not_owner_test"
    tables = ", ".join(guards.APPEND_ONLY_TABLES)
    with transaction.atomic():  # the role and the grants roll back with the savepoint
        with connection.cursor() as c:
            c.execute(f"CREATE ROLE {role} NOLOGIN")
            c.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
            c.execute(f"GRANT SELECT, DELETE, TRUNCATE ON TABLE {tables} TO {role}")
            c.execute(f"SET LOCAL ROLE {role}")
            for sql in ("DELETE FROM audit_accesslog", "TRUNCATE audit_loginevent"):
                with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                    c.execute("SET LOCAL gwanje.audit_purge = 'on'")
                    c.execute(sql)
            c.execute("RESET ROLE")
        assert AccessLog.objects.exists() and LoginEvent.objects.exists()
        transaction.set_rollback(True)


def test_postgres_purge_setting_works_for_the_owner_that_is_no_superuser(one_of_each, pg_only):
    owner = "gwanje_owner_test"
    with transaction.atomic():  # the role and the new owner roll back with the savepoint
        with connection.cursor() as c:
            c.execute(f"CREATE ROLE {owner} NOLOGIN")
            c.execute(f"GRANT USAGE ON SCHEMA public TO {owner}")
            c.execute(f"ALTER TABLE audit_loginevent OWNER TO {owner}")
            c.execute(f"SET LOCAL ROLE {owner}")
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                c.execute("DELETE FROM audit_loginevent")
            with transaction.atomic():
                c.execute("SET LOCAL gwanje.audit_purge = 'on'")
                c.execute("DELETE FROM audit_loginevent")
            c.execute("RESET ROLE")
        assert not LoginEvent.objects.exists()
        transaction.set_rollback(True)


def test_postgres_trigger_function_is_the_one_guards_installs(pg_only):
    """Migration 0003 put the owner check into the installed function."""
    with connection.cursor() as c:
        c.execute("SELECT prosrc FROM pg_proc WHERE proname = 'gwanje_audit_append_only'")
        (source,) = c.fetchone()
    assert source.strip() == guards.PG_FUNCTION.split("$$")[1].strip()
    assert "pg_has_role" in source


def test_app_role_sql_command_and_deploy_file_agree(capsys):
    call_command("audit", "app-role-sql", "gwanje_app")
    printed = capsys.readouterr().out
    assert printed == (ROOT / "deploy" / "postgres-app-role.sql").read_text(encoding="utf-8")
    assert (
        "REVOKE UPDATE, DELETE, TRUNCATE" in printed
        and "GRANT SELECT, INSERT, UPDATE ON TABLE audit_chainhead" in printed
    )


def test_app_role_sql_refuses_a_bad_role_name():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="not a role name"):
        call_command("audit", "app-role-sql", "x; DROP TABLE audit_accesslog")


def test_deletion_allowed_restores_the_guard(one_of_each):
    with guards.deletion_allowed(), connection.cursor() as c:
        c.execute("DELETE FROM audit_loginevent")
    assert not LoginEvent.objects.exists()
    expected = {"UPDATE", "DELETE"} | ({"TRUNCATE"} if connection.vendor == "postgresql" else set())
    assert guards.installed()["audit_loginevent"] == expected
    services.record_login(username="x", success=False, reason="unknown_user")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LoginEvent.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_audit_tables_and_keeps_the_guard():
    """Test teardown of live-server and browser tests flushes the database: it must pass the guard
    (and a record written afterwards starts a new chain)."""
    services.record_access(user=None, action="view", subject_type="camera", subject="camera:1")
    services.record_login(username="someone", success=False, reason="unknown_user")
    call_command("flush", interactive=False, verbosity=0)
    assert not AccessLog.objects.exists() and not LoginEvent.objects.exists()
    expected = {"UPDATE", "DELETE"} | ({"TRUNCATE"} if connection.vendor == "postgresql" else set())
    assert guards.installed() == dict.fromkeys(guards.APPEND_ONLY_TABLES, expected)
    r = services.record_access(user=None, action="view", subject_type="camera", subject="camera:2")
    assert r.seq == 1 and r.prev_hash == "0" * 64
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLog.objects.all().delete()
