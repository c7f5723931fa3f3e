"""The incident workflow: steps by the parties the duty matrix names, day/night routing of bells,
correlation, SLA escalations, closure with the CCTV utilisation result, grants ending."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from gwanje.accounts.roles import Role
from gwanje.situations.choices import Action, IncidentStatus, Party
from gwanje.situations.models import ConsoleEvent, DutyRule, Escalation, Incident
from gwanje.situations.services import workflow
from tests.situations.events import bell, device, payload, send

pytestmark = pytest.mark.django_db


def _day(starts: dt.time, ends: dt.time) -> None:
    rule = DutyRule.objects.get(kind="bell")
    rule.day_starts, rule.day_ends = starts, ends
    rule.save()


def always_day() -> None:
    _day(dt.time(0, 0), dt.time(23, 59, 59, 999999))


def night_bell(n: int = 0):
    """A bell pressed by night (the matrix's day made empty, whatever the clock says): by Annex 2
    the monitoring agents answer first."""
    _day(dt.time(0, 0), dt.time(0, 0))
    _got, incident = send("bell", device("bell", n).device_id, payload())
    return incident


def test_annex_2_is_the_default_duty_matrix():
    rows = {r.kind: r for r in DutyRule.objects.all()}
    assert rows["bell"].responded_by == Party.POLICE
    assert (rows["bell"].day_first, rows["bell"].night_first) == (Party.MAINTENANCE, Party.DISTRICT)
    assert (rows["sos"].recognised_by, rows["sos"].responded_by) == (Party.DISTRICT, Party.DISTRICT)
    assert (rows["analytics"].recognised_by, rows["analytics"].responded_by) == (Party.DISTRICT, Party.POLICE)
    assert (rows["plate"].recognised_by, rows["plate"].responded_by) == (Party.POLICE, Party.POLICE)


def test_a_bell_goes_to_maintenance_by_day_and_to_the_agents_by_night():
    always_day()
    assert send("bell", bell().device_id, payload())[1].first_party == Party.MAINTENANCE
    incident = night_bell(n=1)
    assert (incident.first_party, incident.responder_party) == (Party.DISTRICT, Party.POLICE)


def test_routing_follows_the_matrix_by_time_of_day():
    rule = DutyRule.objects.get(kind="bell")
    assert rule.first_party(dt.time(9, 0)) == Party.MAINTENANCE
    assert rule.first_party(dt.time(17, 59)) == Party.MAINTENANCE
    assert rule.first_party(dt.time(18, 0)) == Party.DISTRICT
    assert rule.first_party(dt.time(3, 0)) == Party.DISTRICT
    rule.day_starts, rule.day_ends = dt.time(8, 0), dt.time(20, 0)  # a supervisor edits the row
    rule.save()
    assert rule.first_party(dt.time(19, 0)) == Party.MAINTENANCE


def test_changing_the_matrix_changes_who_may_act(make_user):
    agent, contractor = make_user(Role.MONITORING_AGENT), make_user(Role.CONTRACTOR)
    always_day()  # a supervisor makes the day cover the clock: maintenance answers first
    _got, incident = send("bell", bell().device_id, payload())
    assert incident.first_party == Party.MAINTENANCE
    assert workflow.allowed_actions(agent, incident) == []
    assert Action.ACKNOWLEDGE in workflow.allowed_actions(contractor, incident)
    with pytest.raises(PermissionDenied):
        workflow.act(user=agent, incident=incident, action=Action.ACKNOWLEDGE)
    workflow.act(user=contractor, incident=incident, action=Action.ACKNOWLEDGE)


def test_from_alarm_to_closure_by_agent_and_officer(make_user):
    agent, officer = make_user(Role.MONITORING_AGENT), make_user(Role.POLICE_STATIONED)
    incident = night_bell()
    assert incident.status == IncidentStatus.NEW and incident.first_party == Party.DISTRICT
    assert workflow.allowed_actions(officer, incident) == []
    for action in (Action.ACKNOWLEDGE, Action.CONFIRM, Action.HAND_OVER):
        incident = workflow.act(user=agent, incident=incident, action=action)
    assert incident.status == IncidentStatus.HANDED_OVER and incident.current_party == Party.POLICE
    assert workflow.allowed_actions(agent, incident) == []
    assert set(workflow.allowed_actions(officer, incident)) == {Action.DISPATCH, Action.RESOLVE}
    with pytest.raises(ValidationError) as err:
        workflow.act(user=officer, incident=incident, action=Action.DISPATCH)
    assert "unit" in err.value.message_dict
    incident = workflow.act(user=officer, incident=incident, action=Action.DISPATCH, unit="성수지구대 1호차")
    incident = workflow.act(user=officer, incident=incident, action=Action.ARRIVE)
    incident = workflow.act(user=officer, incident=incident, action=Action.RESOLVE)
    with pytest.raises(ValidationError):
        workflow.act(user=officer, incident=incident, action=Action.CLOSE)  # no result
    incident = workflow.act(
        user=officer, incident=incident, action=Action.CLOSE, result="arrest", result_text="현행범 체포"
    )
    assert incident.status == IncidentStatus.CLOSED and incident.result == "arrest"
    assert (
        incident.dispatch_unit == "성수지구대 1호차" and incident.arrived_at and incident.closed_by == officer
    )
    steps = list(incident.transitions.values_list("action", "actor__username"))
    assert steps == [
        ("open", None),
        ("acknowledge", agent.username),
        ("confirm", agent.username),
        ("hand_over", agent.username),
        ("dispatch", officer.username),
        ("arrive", officer.username),
        ("resolve", officer.username),
        ("close", officer.username),
    ]
    events = ConsoleEvent.objects.filter(incident=incident).values_list("event", flat=True)
    assert list(events) == ["created"] + ["changed"] * 7


def test_steps_out_of_order_are_refused_with_a_message(make_user):
    agent = make_user(Role.MONITORING_AGENT)
    incident = night_bell()
    with pytest.raises(ValidationError) as err:
        workflow.act(user=agent, incident=incident, action=Action.HAND_OVER)
    assert "action" in err.value.message_dict
    with pytest.raises(ValidationError):
        workflow.act(user=agent, incident=incident, action="fly")
    investigator = make_user(Role.POLICE_INVESTIGATOR)
    with pytest.raises(PermissionDenied):
        workflow.act(user=investigator, incident=incident, action=Action.ACKNOWLEDGE)


def test_dismissed_is_a_false_alarm_and_ends_grants(make_user):
    from gwanje.situations.services import create_grant

    agent, officer = make_user(Role.MONITORING_AGENT), make_user(Role.POLICE_STATIONED)
    incident = night_bell()
    grant = create_grant(user=officer, incident=incident, reason="비상벨 현장 확인")
    assert grant.is_active
    incident = workflow.act(user=agent, incident=incident, action=Action.DISMISS, note="오작동")
    assert incident.status == IncidentStatus.DISMISSED and incident.result == "false_alarm"
    grant.refresh_from_db()
    assert not grant.is_active and not incident.is_open


def test_sos_is_handled_by_the_district_alone(make_user):
    agent = make_user(Role.MONITORING_AGENT)
    gw = "useoul-sos-gw"
    _got, incident = send(
        "sos", gw, payload(subject_id="S-1", category="child", position={"lat": 37.55, "lon": 127.04})
    )
    assert (incident.first_party, incident.responder_party) == (Party.DISTRICT, Party.DISTRICT)
    incident = workflow.act(user=agent, incident=incident, action=Action.CONFIRM)
    assert Action.HAND_OVER not in workflow.allowed_actions(agent, incident)
    incident = workflow.act(user=agent, incident=incident, action=Action.RESOLVE)
    incident = workflow.act(user=agent, incident=incident, action=Action.CLOSE, result="rescue")
    assert incident.status == IncidentStatus.CLOSED


def test_sla_timers_escalate_once_and_clear(make_user):
    agent = make_user(Role.MONITORING_AGENT)
    incident = night_bell()
    assert workflow.check_timers() == 0
    later = incident.ack_due_at + dt.timedelta(seconds=1)
    assert workflow.check_timers(later) == 1
    assert workflow.check_timers(later) == 0  # raised once
    esc = Escalation.objects.get(incident=incident)
    assert esc.timer == "acknowledge" and esc.cleared_at is None
    assert ConsoleEvent.objects.filter(incident=incident, event="escalated").count() == 1
    workflow.act(user=agent, incident=incident, action=Action.ACKNOWLEDGE)
    esc.refresh_from_db()
    assert esc.cleared_at is not None
    incident.refresh_from_db()
    # the hand-over timer runs from the opening
    assert workflow.check_timers(incident.handover_due_at + dt.timedelta(seconds=1)) == 1
    assert set(Escalation.objects.filter(incident=incident).values_list("timer", flat=True)) == {
        "acknowledge",
        "hand_over",
    }


def test_numbers_are_per_year_and_human_readable():
    a, b = (
        night_bell(),
        send(
            "sos",
            "useoul-sos-gw",
            payload(subject_id="S-2", category="woman", position={"lat": 37.56, "lon": 127.03}),
        )[1],
    )
    year = timezone.localtime().year
    assert a.number.startswith(f"{year}-") and len(a.number) == 11
    assert int(b.number[5:]) == int(a.number[5:]) + 1


def test_contractors_see_only_incidents_routed_to_maintenance(make_user):
    from gwanje.core import permissions

    contractor = make_user(Role.CONTRACTOR)
    night = night_bell()
    sos = send(
        "sos",
        "useoul-sos-gw",
        payload(subject_id="S-3", category="elderly", position={"lat": 37.55, "lon": 127.05}),
    )[1]
    visible = permissions.restrict(contractor, "incidents.view", Incident.objects.all())
    assert night not in visible and sos not in visible
    always_day()
    day = send("bell", device("bell", 1).device_id, payload())[1]
    assert day in permissions.restrict(contractor, "incidents.view", Incident.objects.all())
