"""The monthly review's flags, login events and the login summary."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import translation

from gwanje.accounts.roles import Role
from gwanje.audit import days, review, services
from gwanje.audit.models import LoginEvent

from .conftest import add_access

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _messages_in_english():
    """Messages are compared in English (the Korean catalogue is checked by test_translations)."""
    with translation.override("en"):
        yield


def reviewed_month():
    return days.previous_month(days.today().replace(day=1))


def at(month, day, hour, minute=0, second=0):
    return datetime(month.year, month.month, day, hour, minute, second, tzinfo=days.SEOUL)


def login(user, when, ip, success=True, username=None):
    return LoginEvent.objects.create(
        at=when, user=user, username=username or user.username, success=success, ip=ip, reason="ok"
    )


@pytest.fixture
def history(make_user):
    """A month with one or more cases of every flag, and near misses that must not be flagged."""
    month = reviewed_month()
    last_day = (days.next_month(month) - timedelta(days=1)).day
    agent = make_user(Role.MONITORING_AGENT)
    busy = make_user(Role.MONITORING_AGENT)
    calm = make_user(Role.MONITORING_AGENT)
    police = make_user(Role.POLICE_112)
    newcomer = make_user(Role.SUPERVISOR)

    # outbound: one export (a download in the next month does not count)
    add_access(agent, at(month, 5, 12), action="export", subject_type="export", subject="camera:3 clip")
    add_access(
        agent, at(days.next_month(month), 1, 12), action="download", subject_type="export", subject="x"
    )
    # night: 23:30, 05:59 and the month's last evening; 06:00 and 21:59 are day; the system is ignored
    add_access(agent, at(month, 6, 23, 30))
    add_access(agent, at(month, 7, 5, 59))
    add_access(agent, at(month, last_day, 23, 30))
    add_access(agent, at(month, 7, 6, 0))
    add_access(agent, at(month, 7, 21, 59))
    add_access(None, at(month, 8, 2, 0))
    # many cameras: 20 distinct cameras in 8 min (flag); 19 (none); one camera 30 times (none)
    for i in range(review.MANY_CAMERAS_COUNT):
        add_access(
            busy, at(month, 10, 14, 0, 0) + timedelta(seconds=25 * i), subject=f"camera:{100 + i} 14:00/14:05"
        )
    for i in range(review.MANY_CAMERAS_COUNT - 1):
        add_access(calm, at(month, 10, 15, 0, 0) + timedelta(seconds=25 * i), subject=f"camera:{200 + i}")
    for i in range(30):
        add_access(calm, at(month, 11, 15, 0, 0) + timedelta(seconds=10 * i), subject="camera:300")
    # spread out: 20 cameras, but over 20 minutes
    for i in range(review.MANY_CAMERAS_COUNT):
        add_access(calm, at(month, 12, 15, 0, 0) + timedelta(minutes=i), subject=f"camera:{400 + i}")
    # denied: a plate search by the agent; a police officer's camera without a grant
    add_access(
        agent, at(month, 13, 10), action="search", subject_type="plate", subject="12가3456", result="denied"
    )
    add_access(
        police, at(month, 14, 10), subject="camera:5 live", result="denied", reason="no open incident grant"
    )
    # new address: known 10.0.0.1 (seen last month), then 10.0.0.2 (flag); a newcomer's first sign-in (flag);
    # failures never count; an address last seen over 90 days ago is new again (flag)
    login(agent, at(month, 1, 9) - timedelta(days=20), "10.0.0.1")
    login(agent, at(month, 3, 9), "10.0.0.1")
    login(agent, at(month, 4, 9), "10.0.0.2")
    login(agent, at(month, 4, 10), "10.0.0.2")
    login(agent, at(month, 5, 9), "10.0.0.9", success=False)
    login(newcomer, at(month, 2, 9), "192.168.0.5")
    login(police, at(month, 1, 9) - timedelta(days=100), "10.9.9.9")
    login(police, at(month, 9, 9), "10.9.9.9")
    return {"month": month, "agent": agent, "busy": busy, "police": police, "newcomer": newcomer}


def test_flags_of_every_kind(history):
    found = review.flags(history["month"])
    assert review.counts(found) == {
        "outbound": 1,
        "night": 3,
        "many_cameras": 1,
        "denied": 2,
        "police_no_grant": 1,
        "new_ip": 3,
    }
    by_kind = {}
    for f in found:
        by_kind.setdefault(f.kind, []).append(f)
    many = by_kind["many_cameras"][0]
    assert many.user == history["busy"].username and "20 cameras within 10 min" in many.detail
    police = by_kind["police_no_grant"][0]
    assert police.user == history["police"].username and "no open incident grant" in police.detail
    assert {f.user for f in by_kind["new_ip"]} == {
        history["agent"].username,
        history["newcomer"].username,
        history["police"].username,
    }
    assert all(f.ref.startswith("access:") for f in found if f.kind != "new_ip")
    assert all(f.ref.startswith("login:") for f in by_kind["new_ip"])
    night = sorted(days.local(f.at).hour for f in by_kind["night"])
    assert night == [5, 23, 23]


def test_a_month_without_records_has_no_flags():
    assert review.flags(days.parse_month("2001-01")) == []


def test_record_login_and_summary(agent):
    services.record_login(username=agent.username, user=agent, success=True)
    first_ok = LoginEvent.objects.order_by("-id").first()
    services.record_login(username=agent.username, user=agent, success=False, reason="bad_password")
    services.record_login(username=agent.username, success=False, reason="bad_password")  # user not found yet
    services.record_login(username="someone-else", success=False, reason="unknown_user")
    services.record_login(username=agent.username, user=agent, success=True)
    previous, failures = services.login_summary(agent)
    assert previous == first_ok and failures == 2


def test_login_summary_of_a_first_sign_in(agent):
    services.record_login(username=agent.username, user=agent, success=True)
    assert services.login_summary(agent) == (None, 0)


def test_record_login_refuses_a_bad_reason():
    with pytest.raises(ValueError, match="reason must be a code"):
        services.record_login(username="x", success=False, reason="Wrong Password!")
    with pytest.raises(ValueError, match="success must be"):
        services.record_login(username="x", success="yes")


def test_record_login_keeps_what_was_typed_and_where_from():
    from django.test import RequestFactory

    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.3.3.3", HTTP_USER_AGENT="curl/8")
    e = services.record_login(username="  AdMiN\x1f ", success=False, reason="unknown_user", request=request)
    assert (e.username, e.ip, e.user_agent, e.user_id) == ("  AdMiN ", "10.3.3.3", "curl/8", None)
