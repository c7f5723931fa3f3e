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


def test_the_incident_page_timeline_steps_and_notes(night, make_user, client_for):
    agent = client_for(make_user(Role.MONITORING_AGENT))
    incident = send("bell", device("bell", 4).device_id, payload())[1]
    page = agent.get(f"/situations/incidents/{incident.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert incident.number in text and "확인" in text and 'value="acknowledge"' in text
    r = agent.post(
        f"/situations/incidents/{incident.pk}/act/", {"action": "acknowledge", "note": "CCTV 확인"}
    )
    assert r.status_code == 302
    r = agent.post(f"/situations/incidents/{incident.pk}/act/", {"action": "dispatch"})  # police's step
    page = agent.get(f"/situations/incidents/{incident.pk}/")
    assert "경찰" in page.content.decode()
    agent.post(f"/situations/incidents/{incident.pk}/notes/", {"text": "신고자와 통화"})
    page = agent.get(f"/situations/incidents/{incident.pk}/").content.decode()
    assert "신고자와 통화" in page and "CCTV 확인" in page


def test_the_duty_matrix_page_and_its_edit_by_a_supervisor(make_user, client_for):
    from gwanje.audit.models import PermissionChange

    supervisor, agent = client_for(make_user(Role.SUPERVISOR)), client_for(make_user(Role.MONITORING_AGENT))
    page = agent.get("/situations/duties/").content.decode()
    assert "비상벨" in page and "duty-form" not in page
    assert agent.post("/situations/duties/", {"kind": "bell"}).status_code == 403
    rule = DutyRule.objects.get(kind="bell")
    data = {f"bell-{k}": v for k, v in {
        "recognised_by": "district", "responded_by": "police", "day_first": "maintenance",
        "night_first": "district",
        "day_starts": "08:00", "day_ends": "20:00", "correlation_minutes": 5, "ack_seconds": 30,
        "handover_seconds": 120, "dispatch_seconds": 300, "note": rule.note}.items()}  # fmt: skip
    r = supervisor.post("/situations/duties/", {"kind": "bell", **data})
    assert r.status_code == 302, r.content.decode()[:2000]
    rule.refresh_from_db()
    assert (rule.day_starts, rule.ack_seconds) == (dt.time(8, 0), 30)
    assert PermissionChange.objects.filter(action="duty_changed", target="duty:bell").exists()
    data["bell-night_first"] = ""
    r = supervisor.post("/situations/duties/", {"kind": "bell", **data})
    assert r.status_code == 200 and "neither" in r.content.decode() or "모두" in r.content.decode()


def test_dead_letters_page_for_administrators(make_user, client_for):
    send("bell", "nobody", b"{oops")
    admin = client_for(make_user(Role.IT_ADMIN))
    page = admin.get("/situations/dead-letters/")
    assert page.status_code == 200 and "{oops" in page.content.decode()
    assert client_for(make_user(Role.MONITORING_AGENT)).get("/situations/dead-letters/").status_code == 403
