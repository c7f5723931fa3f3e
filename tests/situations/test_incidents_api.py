"""The incidents API: the queue, the detail with role-aware actions, the workflow over HTTP with
Korean error messages, and the access log for personal data."""

from __future__ import annotations

import datetime as dt

import pytest

from gwanje.accounts.roles import Role
from gwanje.audit.models import AccessLog
from gwanje.situations.models import DutyRule
from tests.situations.events import device, payload, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def night():
    rule = DutyRule.objects.get(kind="bell")
    rule.day_starts = rule.day_ends = dt.time(0, 0)
    rule.save()


def test_agent_and_officer_take_a_bell_from_alarm_to_closure(night, make_user, client_for):
    agent, officer = (
        client_for(make_user(Role.MONITORING_AGENT)),
        client_for(make_user(Role.POLICE_STATIONED)),
    )
    incident = send("bell", device("bell").device_id, payload())[1]
    queue = agent.get("/api/v1/incidents/?open=1&mine=1").json()
    assert incident.pk in [i["id"] for i in queue["results"]]
    assert incident.pk not in [
        i["id"] for i in officer.get("/api/v1/incidents/?open=1&mine=1").json()["results"]
    ]
    detail = agent.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert detail["actions"] == ["acknowledge", "confirm", "dismiss"]
    assert detail["nearest_cameras"] and detail["nearest_cameras"][0]["distance_m"] < 1000
    assert officer.get(f"/api/v1/incidents/{incident.pk}/").json()["actions"] == []
    url = f"/api/v1/incidents/{incident.pk}/act/"
    for step in ("acknowledge", "confirm", "hand_over"):
        r = agent.post(url, {"action": step}, content_type="application/json")
        assert r.status_code == 200, r.content
    assert r.json()["status"] == "handed_over" and r.json()["current_party"] == "police"
    refused = agent.post(url, {"action": "dispatch", "unit": "x"}, content_type="application/json")
    assert refused.status_code == 403 and "경찰" in refused.json()["errors"][0]["message"]
    missing = officer.post(url, {"action": "dispatch"}, content_type="application/json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "unit"
    assert (
        officer.post(
            url, {"action": "dispatch", "unit": "왕십리지구대 2호차"}, content_type="application/json"
        ).status_code
        == 200
    )
    assert officer.post(url, {"action": "resolve"}, content_type="application/json").status_code == 200
    bad = officer.post(url, {"action": "close", "result": "magic"}, content_type="application/json")
    assert bad.status_code == 400
    done = officer.post(
        url,
        {"action": "close", "result": "evidence", "result_text": "영상 확보"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["result"] == "evidence"
    detail = officer.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert [t["action"] for t in detail["transitions"]][-1] == "close" and detail["actions"] == []


def test_sos_detail_is_logged_and_bells_are_not(make_user, client_for):
    agent_user = make_user(Role.MONITORING_AGENT)
    agent = client_for(agent_user)
    sos = send(
        "sos",
        device("sos").device_id,
        payload(subject_id="S-77", category="child", position={"lat": 37.55, "lon": 127.04}),
    )[1]
    ring = send("bell", device("bell", 3).device_id, payload())[1]
    before = AccessLog.objects.filter(user=agent_user).count()
    detail = agent.get(f"/api/v1/incidents/{sos.pk}/").json()
    assert detail["subject_ref"] == "S-77" and len(detail["track"]) == 1
    agent.get(f"/api/v1/incidents/{ring.pk}/")
    logs = AccessLog.objects.filter(user=agent_user).order_by("id")[before:]
    assert [r.subject for r in logs] == [f"incident:{sos.number}"]


def test_contractor_queue_and_roles_without_incidents(make_user, client_for):
    contractor = client_for(make_user(Role.CONTRACTOR))
    night_incident = None
    rule = DutyRule.objects.get(kind="bell")
    rule.day_starts = rule.day_ends = dt.time(0, 0)
    rule.save()
    night_incident = send("bell", device("bell", 5).device_id, payload())[1]
    assert contractor.get(f"/api/v1/incidents/{night_incident.pk}/").status_code == 404
    manager = client_for(make_user(Role.DEPARTMENT_MANAGER))
    assert manager.get("/api/v1/incidents/").status_code == 403


def test_notes_and_english_errors(night, make_user, client_for):
    agent = client_for(make_user(Role.MONITORING_AGENT))
    incident = send("bell", device("bell", 2).device_id, payload())[1]
    r = agent.post(
        f"/api/v1/incidents/{incident.pk}/notes/",
        {"text": "현장 CCTV 확인 중"},
        content_type="application/json",
    )
    assert r.status_code == 201
    assert (
        agent.post(
            f"/api/v1/incidents/{incident.pk}/notes/", {"text": ""}, content_type="application/json"
        ).status_code
        == 400
    )
    r = agent.post(
        f"/api/v1/incidents/{incident.pk}/act/",
        {"action": "hand_over"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 400 and "not possible" in r.json()["errors"][0]["message"]
