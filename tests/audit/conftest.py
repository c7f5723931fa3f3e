"""Fixtures of the audit tests: an anchor directory per test, history built at chosen times, and
tampering with the database the way an intruder would (triggers switched off inside the test's
transaction, so the rollback at the end of the test restores everything)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from gwanje.accounts.roles import Role
from gwanje.audit import guards, services
from gwanje.audit.models import AccessLog


@pytest.fixture(autouse=True)
def anchor_dir(settings, tmp_path):
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    return settings.AUDIT_ANCHOR_DIR


@pytest.fixture
def supervisor(make_user):
    return make_user(Role.SUPERVISOR)


@pytest.fixture
def pg_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")


def add_access(user, at: datetime, **fields) -> AccessLog:
    """An access-log record at a chosen time (history for the review), appended to the chain."""
    fields.setdefault("action", "view")
    fields.setdefault("subject_type", "camera")
    fields.setdefault("subject", "camera:1")
    record = services.access_record(user=user, **fields)
    with transaction.atomic():
        services._append(record, at=at)
    return record


@contextmanager
def tampering() -> Iterator[object]:
    """A raw cursor with the append-only triggers off (restored on exit)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            guards.uninstall()
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL session_replication_role = origin")
            else:
                guards.install()


def run_verify(*args: str) -> tuple[bool, str]:
    """(ok, output) of `gwanje audit verify`."""
    out = io.StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out)
    except CommandError as e:
        return False, out.getvalue() + f"\nCommandError: {e}"
    return True, out.getvalue()


def record_n(n: int, user=None, **fields) -> list[AccessLog]:
    return [
        services.record_access(
            user=user,
            action=fields.get("action", "view"),
            subject_type=fields.get("subject_type", "camera"),
            subject=f"camera:{i} 2026-11-24T01:00Z/2026-11-24T02:00Z",
        )
        for i in range(n)
    ]
