"""`gwanje audit review` and `gwanje audit export` on the command line, and the deploy files."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from gwanje.audit import days
from gwanje.audit.models import AccessLog

from .conftest import add_access

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def month(agent):
    month = days.previous_month(days.today().replace(day=1))
    add_access(agent, days.start_of(month) + timedelta(days=1, hours=2), subject="camera:8 night")
    return month


def test_review_text(month):
    out = io.StringIO()
    call_command("audit", "review", "--month", f"{month:%Y-%m}", stdout=out)
    text = out.getvalue()
    assert f"review {month:%Y-%m}: 1 flag(s)" in text
    assert "camera:8 night" in text


def test_review_csv_and_xlsx_files(month, tmp_path):
    call_command(
        "audit", "review", "--month", f"{month:%Y-%m}", "--format", "csv", "-o", str(tmp_path / "f.csv")
    )
    rows = list(csv.reader(io.StringIO((tmp_path / "f.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2 and "camera:8 night" in rows[1][4]
    call_command(
        "audit", "review", "--month", f"{month:%Y-%m}", "--format", "xlsx", "-o", str(tmp_path / "f.xlsx")
    )
    ws = openpyxl.load_workbook(tmp_path / "f.xlsx").active
    assert ws.max_row == 2


def test_review_command_writes_an_access_log_record(month, supervisor, tmp_path):
    """The review shows user names and addresses: looking at it is access to the log."""
    before = AccessLog.objects.count()
    call_command("audit", "review", "--month", f"{month:%Y-%m}", stdout=io.StringIO())
    shown = AccessLog.objects.order_by("-seq").first()
    assert AccessLog.objects.count() == before + 1
    assert (shown.username, shown.user_id, shown.action) == ("system", None, "view")
    assert (shown.subject_type, shown.subject) == ("access_log", f"review {month:%Y-%m}")
    target = tmp_path / "flags.csv"
    call_command(
        "audit", "review", "--month", f"{month:%Y-%m}", "--format", "csv", "-o", str(target),
        "--user", supervisor.username, stdout=io.StringIO(),
    )  # fmt: skip
    assert target.exists()
    written = AccessLog.objects.order_by("-seq").first()
    assert (written.username, written.user_id, written.action) == (
        supervisor.username,
        supervisor.pk,
        "export",
    )
    assert (written.subject_type, written.subject) == ("access_log", f"review {month:%Y-%m}")
    assert written.roles == "supervisor"


def test_review_command_refuses_an_unknown_operator_and_logs_nothing(month):
    before = AccessLog.objects.count()
    with pytest.raises(CommandError, match="no account named 'nobody'"):
        call_command("audit", "review", "--month", f"{month:%Y-%m}", "--user", "nobody", stdout=io.StringIO())
    assert AccessLog.objects.count() == before


def test_review_command_logs_nothing_when_the_file_cannot_be_written(month):
    before = AccessLog.objects.count()
    with pytest.raises(CommandError, match="cannot write"):
        call_command(
            "audit",
            "review",
            "--month",
            f"{month:%Y-%m}",
            "-o",
            "/nonexistent/dir/x.txt",
            stdout=io.StringIO(),
        )
    assert AccessLog.objects.count() == before


def test_export_command_writes_the_file_and_logs_it(month, tmp_path):
    target = tmp_path / "access.xlsx"
    call_command(
        "audit",
        "export",
        "--month",
        f"{month:%Y-%m}",
        "--what",
        "access",
        "--format",
        "xlsx",
        "-o",
        str(target),
        stderr=io.StringIO(),
    )
    ws = openpyxl.load_workbook(target).active
    assert ws.max_row == 2
    logged = AccessLog.objects.get(action="export")
    assert logged.username == "system" and logged.subject == f"month {month:%Y-%m} access (xlsx)"


def test_export_command_names_the_operator(month, supervisor, tmp_path):
    call_command(
        "audit", "export", "--month", f"{month:%Y-%m}", "--what", "logins", "--format", "csv",
        "-o", str(tmp_path / "logins.csv"), "--user", supervisor.username, stderr=io.StringIO(),
    )  # fmt: skip
    logged = AccessLog.objects.get(action="export")
    assert (logged.username, logged.user_id) == (supervisor.username, supervisor.pk)


@pytest.mark.parametrize(
    "args,message",
    [
        (["review", "--month", "2026-13"], "not a month"),
        (["review", "--month", "2026-11", "--format", "xlsx"], "needs -o FILE"),
        (["review"], "--month"),
        (
            ["export", "--month", "2026-11", "--what", "passwords", "--format", "csv", "-o", "x"],
            "invalid choice",
        ),
        (
            [
                "export",
                "--month",
                "2026-11",
                "--what",
                "access",
                "--format",
                "csv",
                "-o",
                "/nonexistent/dir/x.csv",
            ],
            "cannot write",
        ),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_are_clear_errors(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("audit", *args, stderr=io.StringIO())


def test_anchor_timer_units_exist():
    service = (ROOT / "deploy" / "gwanje-audit-anchor.service").read_text()
    timer = (ROOT / "deploy" / "gwanje-audit-anchor.timer").read_text()
    assert "gwanje audit anchor" in service and "Type=oneshot" in service
    assert "OnCalendar=*-*-* 00:10:00 Asia/Seoul" in timer and "Persistent=true" in timer
