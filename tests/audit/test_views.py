"""The audit pages and exports: permissions, the review record, CSV/XLSX, and that looking at or
exporting the log is itself logged."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from gwanje.accounts.roles import Role
from gwanje.audit import days, services
from gwanje.audit.models import AccessLog, MonthlyReview

from .conftest import add_access

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}


def last_month():
    return days.previous_month(days.today().replace(day=1))


@pytest.fixture
def month_with_records(agent):
    month = last_month()
    start = days.start_of(month)
    add_access(agent, start + timedelta(days=2, hours=23), subject="camera:11 night")
    add_access(
        agent,
        start + timedelta(days=3, hours=12),
        action="export",
        subject_type="export",
        subject="=HYPERLINK(1)",
    )
    services.record_login(username=agent.username, user=agent, success=True)
    return month


@pytest.mark.parametrize("name", ["audit:index", "audit:review", "audit:export"])
def test_anonymous_is_sent_to_login(name):
    r = Client().get(reverse(name))
    assert r.status_code == 302 and "/login/" in r["Location"]


@pytest.mark.parametrize("role", [Role.MONITORING_AGENT, Role.POLICE_112, Role.IT_ADMIN])
@pytest.mark.parametrize("name", ["audit:index", "audit:review", "audit:export"])
def test_other_roles_are_refused(make_user, client_for, role, name):
    r = client_for(make_user(role)).get(
        reverse(name), {"month": "2026-10", "what": "access", "format": "csv"}
    )
    assert r.status_code == 403


def test_access_log_page_lists_filters_and_is_itself_logged(supervisor, agent, client_for):
    services.record_access(user=agent, action="view", subject_type="camera", subject="camera:42 live")
    services.record_access(
        user=agent, action="search", subject_type="plate", subject="12가3456", result="denied"
    )
    c = client_for(supervisor)
    r = c.get(reverse("audit:index"), headers=EN)
    assert r.status_code == 200
    assert "camera:42 live" in r.text and "12가3456" in r.text
    r = c.get(reverse("audit:index"), {"result": "denied", "user": agent.username[:6]}, headers=EN)
    assert r.status_code == 200 and "12가3456" in r.text and "camera:42 live" not in r.text
    logged = AccessLog.objects.filter(user_id=supervisor.pk, subject_type="access_log").order_by("seq")
    assert [x.action for x in logged] == ["view", "search"]
    assert "result=denied" in logged[1].subject
    r = c.get(reverse("audit:index"), {"result": "denied"}, headers={**EN, "HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text and "<table" in r.text


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2026-13-01"},
        {"date_from": "2026-11-10", "date_to": "2026-11-01"},
        {"date_to": "0001-01-01"},
        {"action": "watch"},
    ],
)
def test_access_log_page_refuses_bad_filters(supervisor, client_for, params):
    r = client_for(supervisor).get(reverse("audit:index"), params, headers=EN)
    assert r.status_code == 400 and "The filter is not valid." in r.text


def test_access_log_page_date_range(supervisor, client_for):
    today = days.today().isoformat()
    services.record_access(user=None, action="view", subject_type="camera", subject="camera:77")
    r = client_for(supervisor).get(reverse("audit:index"), {"date_from": today, "date_to": today})
    assert "camera:77" in r.text
    r = client_for(supervisor).get(reverse("audit:index"), {"date_to": "2001-01-01"})
    assert "camera:77" not in r.text


def test_review_page_shows_flags_and_records_a_review(supervisor, client_for, month_with_records):
    month = month_with_records
    c = client_for(supervisor)
    r = c.get(reverse("audit:review"), {"month": f"{month:%Y-%m}"}, headers=EN)
    assert r.status_code == 200
    assert f"Access-log review {month:%Y-%m}" in r.text
    assert "Access at night (22:00–06:00)" in r.text and "camera:11 night" in r.text
    assert "Exports, downloads and prints" in r.text
    assert AccessLog.objects.filter(
        user_id=supervisor.pk, subject__startswith=f"review month {month:%Y-%m}"
    ).exists()
    r = c.post(
        reverse("audit:review") + f"?month={month:%Y-%m}", {"remarks": "야간 접속 1건 확인: 근무표와 일치"}
    )
    assert r.status_code == 302 and r["Location"].endswith(f"?month={month:%Y-%m}")
    review = MonthlyReview.objects.get(month=month)
    assert review.reviewer_username == supervisor.username and review.remarks.startswith("야간")
    assert review.flag_counts["night"] == 1 and review.flag_counts["outbound"] == 1
    r = c.get(reverse("audit:review"), {"month": f"{month:%Y-%m}"}, headers=EN)
    assert "야간 접속 1건 확인" in r.text


def test_review_page_defaults_to_last_month(supervisor, client_for):
    r = client_for(supervisor).get(reverse("audit:review"), headers=EN)
    assert r.status_code == 200 and f"Access-log review {last_month():%Y-%m}" in r.text


def test_review_refuses_bad_months(supervisor, client_for):
    c = client_for(supervisor)
    r = c.get(reverse("audit:review"), {"month": "2026-13"}, headers=EN)
    assert r.status_code == 400 and "YYYY-MM" in r.text
    future = days.next_month(days.today().replace(day=1))
    r = c.post(reverse("audit:review") + f"?month={future:%Y-%m}", {"remarks": "x"}, headers=EN)
    assert r.status_code == 400 and "has not started yet" in r.text
    assert not MonthlyReview.objects.exists()
    r = c.post(reverse("audit:review"), {"remarks": "x" * 5001}, headers=EN)
    assert r.status_code == 400


def test_export_csv_is_logged_in_the_same_request(supervisor, client_for, month_with_records):
    month = month_with_records
    r = client_for(supervisor).get(
        reverse("audit:export"), {"month": f"{month:%Y-%m}", "what": "access", "format": "csv"}
    )
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert f'filename="gwanje-audit-access-{month:%Y-%m}.csv"' in r["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 3  # header + two records
    assert rows[1][9] == "camera:11 night"
    assert rows[2][9] == "'=HYPERLINK(1)"  # never a formula
    logged = AccessLog.objects.get(user_id=supervisor.pk, action="export")
    assert logged.subject_type == "access_log" and logged.subject == f"month {month:%Y-%m} access (csv)"


@pytest.mark.parametrize("what", ["access", "logins", "changes", "reviews", "flags"])
def test_export_xlsx_opens_with_openpyxl(supervisor, client_for, month_with_records, what):
    month = month_with_records
    r = client_for(supervisor).get(
        reverse("audit:export"), {"month": f"{month:%Y-%m}", "what": what, "format": "xlsx"}
    )
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows and len(rows[0]) >= 5
    if what == "access":
        assert len(rows) == 3 and rows[2][9] == "=HYPERLINK(1)" and ws.cell(3, 10).data_type == "s"
    if what == "flags":
        assert len(rows) == 3  # one night, one export
    assert AccessLog.objects.filter(
        user_id=supervisor.pk, action="export", subject__contains=f" {what} "
    ).exists()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"month": "2026-11", "what": "passwords", "format": "csv"},
        {"month": "11/2026", "what": "access", "format": "csv"},
        {"month": "2026-11", "what": "access", "format": "pdf"},
    ],
)
def test_export_refuses_bad_parameters(supervisor, client_for, params):
    r = client_for(supervisor).get(reverse("audit:export"), params, headers=EN)
    assert r.status_code == 400 and "The request is not valid." in r.text
    assert not AccessLog.objects.filter(action="export").exists()
