"""The incident workflow: opening (by hand or from a device event), the state machine, notes and
the SLA timers. Which party may take each step comes from the duty matrix (Annex 2) as copied onto
the incident when it opened; which users belong to a party comes from their roles (PARTY_ROLES).

    new → acknowledged → confirmed ─┬→ handed_over → dispatched → resolved → closed (with result)
      └──────────┴──────→ dismissed  └→ (when one party both recognises and responds, no hand-over)

Every step is one transaction that stores an IncidentTransition (actor, time) and a console event.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gwanje.accounts.roles import Role
from gwanje.core import permissions
from gwanje.geo.queries import in_korea
from gwanje.situations.choices import Action, IncidentKind, IncidentStatus, Party, Timer, UtilisationResult
from gwanje.situations.models import (
    DutyRule,
    Escalation,
    Incident,
    IncidentNote,
    IncidentTransition,
    YearCounter,
)
from gwanje.situations.services import console
from gwanje.situations.services.grants import end_grants_of

S = IncidentStatus
# Which roles act for which party. A supervisor stands in for agents and maintenance staff; the
# system administrator for every party (so a small center can operate with few accounts).
PARTY_ROLES: dict[str, frozenset[str]] = {
    Party.DISTRICT: frozenset({Role.MONITORING_AGENT, Role.SUPERVISOR, Role.SYSTEM_ADMIN}),
    Party.MAINTENANCE: frozenset({Role.CONTRACTOR, Role.SUPERVISOR, Role.SYSTEM_ADMIN}),
    Party.POLICE: frozenset({Role.POLICE_STATIONED, Role.POLICE_112, Role.SYSTEM_ADMIN}),
}
MAX_NOTE = 500


@dataclass(frozen=True)
class Step:
    sources: frozenset[str]
    target: str
    by: str  # "first": the first-answer party; "responder": the party that judges and responds


STEPS: dict[str, Step] = {
    Action.ACKNOWLEDGE: Step(frozenset({S.NEW}), S.ACKNOWLEDGED, "first"),
    Action.CONFIRM: Step(frozenset({S.NEW, S.ACKNOWLEDGED}), S.CONFIRMED, "first"),
    Action.DISMISS: Step(frozenset({S.NEW, S.ACKNOWLEDGED, S.CONFIRMED}), S.DISMISSED, "first"),
    Action.HAND_OVER: Step(frozenset({S.CONFIRMED}), S.HANDED_OVER, "first"),
    Action.DISPATCH: Step(frozenset({S.HANDED_OVER, S.CONFIRMED}), S.DISPATCHED, "responder"),
    Action.ARRIVE: Step(frozenset({S.DISPATCHED}), S.DISPATCHED, "responder"),
    Action.RESOLVE: Step(frozenset({S.HANDED_OVER, S.CONFIRMED, S.DISPATCHED}), S.RESOLVED, "responder"),
    Action.CLOSE: Step(frozenset({S.RESOLVED}), S.CLOSED, "responder"),
}


def parties_of(user) -> frozenset[str]:
    roles = permissions.roles_of(user)
    return frozenset(p for p, allowed in PARTY_ROLES.items() if roles & allowed)


def _needs_handover(incident: Incident) -> bool:
    return incident.first_party != incident.responder_party


def _step_possible(incident: Incident, action: str) -> bool:
    step = STEPS[action]
    if incident.status not in step.sources:
        return False
    handover = _needs_handover(incident)
    if action == Action.HAND_OVER:
        return handover
    if handover and incident.status == S.CONFIRMED and action in (Action.DISPATCH, Action.RESOLVE):
        return False  # the responder takes over only once it has been handed over
    if action == Action.ARRIVE:
        return incident.arrived_at is None
    return True


def allowed_actions(user, incident: Incident) -> list[str]:
    """The actions `user` may take on `incident` now (role-aware buttons, API `actions`)."""
    if not permissions.allowed(user, "incidents.handle"):
        return []
    parties = parties_of(user)
    out = []
    for action, step in STEPS.items():
        party = incident.first_party if step.by == "first" else incident.responder_party
        if party in parties and _step_possible(incident, action):
            out.append(action)
    return out


def _next_number(now: dt.datetime) -> str:
    """YYYY-NNNNNN, gapless per year: one UPDATE … RETURNING (SQLite ≥ 3.35, PostgreSQL), which locks
    the year's row until commit, so a number is never given twice."""
    year = timezone.localtime(now).year
    table = YearCounter._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f'UPDATE "{table}" SET "last" = "last" + 1 WHERE "year" = %s RETURNING "last"', [year])  # noqa: S608
        row = cur.fetchone()
    if row is None:
        YearCounter.objects.get_or_create(year=year)
        return _next_number(now)
    return f"{year}-{row[0]:06d}"


RULE_CACHE_SECONDS = 2.0
_rules: dict[str, tuple[float, DutyRule]] = {}


def duty_rule(kind: str) -> DutyRule:
    """The matrix's row for a kind. Read at most every RULE_CACHE_SECONDS per process (a burst of
    events reads it once); an edit applies in this process at once and in the others within that."""
    now = time.monotonic()
    hit = _rules.get(kind)
    if hit is not None and now - hit[0] < RULE_CACHE_SECONDS:
        return hit[1]
    rule = DutyRule.objects.filter(kind=kind).first()
    if rule is None:  # the matrix lost a row: route to the agents, who see everything
        rule = DutyRule(kind=kind, recognised_by=Party.DISTRICT, responded_by=Party.POLICE)
    _rules[kind] = (now, rule)
    return rule


def forget_duty_rules() -> None:
    _rules.clear()


def create_incident(
    *,
    kind: str,
    title: str,
    point: Point,
    at: dt.datetime,
    opened_by=None,
    rule: DutyRule | None = None,
    **fields,
) -> Incident:
    """Open an incident, routed and timed by the duty matrix (inside the caller's transaction)."""
    rule = rule or duty_rule(kind)
    now = timezone.now()
    first = rule.first_party(timezone.localtime(at).time())
    incident = Incident(
        number=_next_number(now),
        kind=kind,
        title=title[:200],
        point=point,
        status=S.NEW,
        first_party=first,
        responder_party=rule.responded_by,
        opened_at=now,
        opened_by=opened_by,
        first_event_at=at,
        last_event_at=at,
        updated_at=now,
        ack_due_at=now + dt.timedelta(seconds=rule.ack_seconds),
        handover_due_at=(
            now + dt.timedelta(seconds=rule.handover_seconds) if first != rule.responded_by else None
        ),
        **fields,
    )
    incident.save()
    IncidentTransition.objects.create(
        incident=incident, action="open", to_status=S.NEW, actor=opened_by, party=first, at=now
    )
    console.publish(incident, "created", escalations=[])  # a new incident has none
    return incident


@transaction.atomic
def open_incident(*, user, title: str, lon: float, lat: float, address: str = "") -> Incident:
    """An incident entered by hand (an agent saw something; a call came in)."""
    permissions.require(user, "incidents.manage")
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": _("Give the incident a title.")})
    if not in_korea(lon, lat):
        raise ValidationError(
            {"point": _("The location is outside Korea (latitude 33–39, longitude 124–132).")}
        )
    return create_incident(
        kind=IncidentKind.MANUAL,
        title=title,
        point=Point(lon, lat, srid=4326),
        at=timezone.now(),
        opened_by=user,
        address=(address or "")[:200],
    )


def _clean_note(text: str) -> str:
    return " ".join((text or "").split())[:MAX_NOTE]


@transaction.atomic
def act(
    *,
    user,
    incident: Incident,
    action: str,
    note: str = "",
    unit: str = "",
    result: str = "",
    result_text: str = "",
    request=None,
) -> Incident:
    """Take one workflow step. Raises PermissionDenied (not this user's party or role) or
    ValidationError (not possible now, missing patrol unit or result) with a message for the user."""
    permissions.require(user, "incidents.handle")
    if action not in STEPS:
        raise ValidationError({"action": _("Unknown action.")})
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    step = STEPS[action]
    party = incident.first_party if step.by == "first" else incident.responder_party
    if party not in parties_of(user):
        raise PermissionDenied(
            _("By the division of duties, %(party)s do this step.") % {"party": Party.label(party)}
        )
    if not _step_possible(incident, action):
        raise ValidationError(
            {
                "action": _("“%(action)s” is not possible while the incident is “%(status)s”.")
                % {"action": Action.label(action), "status": S.label(incident.status)}
            }
        )
    now = timezone.now()
    before = incident.status
    note = _clean_note(note)
    changed = ["status", "updated_at"]
    if action in (Action.ACKNOWLEDGE, Action.CONFIRM, Action.DISMISS) and incident.acknowledged_at is None:
        incident.acknowledged_at = now
        changed.append("acknowledged_at")
    if action == Action.CONFIRM:
        incident.confirmed_at = now
        changed.append("confirmed_at")
    elif action == Action.HAND_OVER:
        incident.handed_over_at = now
        incident.dispatch_due_at = now + dt.timedelta(seconds=duty_rule(incident.kind).dispatch_seconds)
        changed += ["handed_over_at", "dispatch_due_at"]
    elif action == Action.DISPATCH:
        unit = " ".join((unit or "").split())[:60]
        if not unit:
            raise ValidationError({"unit": _("Name the patrol unit dispatched (e.g. 성수지구대 1호차).")})
        incident.dispatch_unit, incident.dispatched_at = unit, now
        changed += ["dispatch_unit", "dispatched_at"]
        note = note or unit
    elif action == Action.ARRIVE:
        incident.arrived_at = now
        changed.append("arrived_at")
    elif action == Action.RESOLVE:
        incident.resolved_at = now
        changed.append("resolved_at")
    elif action == Action.CLOSE:
        if result not in UtilisationResult.values():
            raise ValidationError({"result": _("Choose the CCTV utilisation result.")})
        result_text = (result_text or "").strip()[:2000]
        if result == UtilisationResult.OTHER and not result_text:
            raise ValidationError({"result_text": _("Describe the result when you choose “Other”.")})
        incident.result, incident.result_text = result, result_text
        changed += ["result", "result_text"]
    if action == Action.DISMISS:
        incident.result = UtilisationResult.FALSE_ALARM
        changed.append("result")
    incident.status = step.target
    incident.updated_at = now
    if step.target in S.FINISHED:
        incident.closed_at, incident.closed_by = now, user
        changed += ["closed_at", "closed_by"]
        end_grants_of(incident, actor=user, now=now, request=request)
    incident.save(update_fields=changed)
    IncidentTransition.objects.create(
        incident=incident,
        action=action,
        from_status=before,
        to_status=step.target,
        actor=user,
        party=party,
        at=now,
        note=note,
    )
    _clear_met_timers(incident, now)
    console.publish(incident, "changed")
    return incident


@transaction.atomic
def close_incident(*, user, incident: Incident, result: str = UtilisationResult.OTHER, text: str = "",
                   request=None) -> Incident:  # fmt: skip
    """A supervisor (incidents.manage) closes an incident at whatever step it is (e.g. a duplicate
    entered by hand); its grants end at once."""
    permissions.require(user, "incidents.manage")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if not incident.is_open:
        raise ValidationError(_("The incident is already closed."))
    now = timezone.now()
    before = incident.status
    incident.status, incident.closed_at, incident.closed_by, incident.updated_at = S.CLOSED, now, user, now
    incident.result = incident.result or result
    incident.result_text = incident.result_text or _clean_note(text)
    incident.save(update_fields=["status", "closed_at", "closed_by", "updated_at", "result", "result_text"])
    end_grants_of(incident, actor=user, now=now, request=request)
    IncidentTransition.objects.create(
        incident=incident,
        action="force_close",
        from_status=before,
        to_status=S.CLOSED,
        actor=user,
        at=now,
        note=_clean_note(text),
    )
    _clear_met_timers(incident, now)
    console.publish(incident, "changed")
    return incident


@transaction.atomic
def add_note(*, user, incident: Incident, text: str) -> IncidentNote:
    permissions.require(user, "incidents.handle")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the note first.")})
    if len(text) > 4000:
        raise ValidationError({"text": _("A note is at most 4,000 characters.")})
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    note = IncidentNote.objects.create(incident=incident, author=user, text=text)
    Incident.objects.filter(pk=incident.pk).update(updated_at=note.at)
    return note


# --- SLA timers -------------------------------------------------------------------------------
def _timer_met(incident: Incident, timer: str) -> bool:
    if not incident.is_open:
        return True
    if timer == Timer.ACKNOWLEDGE:
        return incident.acknowledged_at is not None
    if timer == Timer.HAND_OVER:
        return incident.handed_over_at is not None or incident.status == S.RESOLVED
    return incident.dispatched_at is not None or incident.status == S.RESOLVED


def _clear_met_timers(incident: Incident, now: dt.datetime) -> None:
    for esc in Escalation.objects.filter(incident=incident, cleared_at__isnull=True):
        if _timer_met(incident, esc.timer):
            esc.cleared_at = now
            esc.save(update_fields=["cleared_at"])


_DUE = {
    Timer.ACKNOWLEDGE: ("ack_due_at", "acknowledged_at"),
    Timer.HAND_OVER: ("handover_due_at", "handed_over_at"),
    Timer.DISPATCH: ("dispatch_due_at", "dispatched_at"),
}


def check_timers(now: dt.datetime | None = None) -> int:
    """Raise an escalation for every open incident whose SLA timer ran out (once per timer). Called
    about every second by the ingest worker. Returns how many were raised."""
    now = now or timezone.now()
    raised = 0
    for timer, (due_field, done_field) in _DUE.items():
        overdue = (
            Incident.objects.exclude(status__in=S.FINISHED)
            .exclude(status=S.RESOLVED)
            .filter(**{f"{due_field}__lte": now, f"{done_field}__isnull": True})
            .exclude(escalations__timer=timer)
            .values_list("pk", flat=True)[:200]
        )
        for pk in list(overdue):
            with transaction.atomic():
                incident = Incident.objects.select_for_update().get(pk=pk)
                if _timer_met(incident, timer) or incident.escalations.filter(timer=timer).exists():
                    continue
                Escalation.objects.create(
                    incident=incident, timer=timer, due_at=getattr(incident, due_field), raised_at=now
                )
                IncidentTransition.objects.create(
                    incident=incident,
                    action="escalated",
                    from_status=incident.status,
                    to_status=incident.status,
                    at=now,
                    note=str(Timer.label(timer)),
                )
                console.publish(incident, "escalated")
                raised += 1
    return raised


def attach_snapshot(*, user, incident: Incident, camera, t: dt.datetime | None = None, request=None):
    """Save a JPEG of `camera` — recorded at `t`, or live now — into the incident, for its report.
    Authorized and logged as a video snapshot by the choke point (police: under a grant)."""
    from gwanje.core import access
    from gwanje.situations.models import IncidentImage
    from gwanje.video import snapshots

    permissions.require(user, "incidents.handle")
    at = t or timezone.now()
    access.require_video(user, "video.snapshot", camera, start=at, end=at,
                         reason=f"incident:{incident.number}", request=request)  # fmt: skip
    jpeg = snapshots.live_snapshot(camera) if t is None else snapshots.recorded_snapshot(camera, t)
    with transaction.atomic():
        image = IncidentImage.objects.create(
            incident=incident, camera=camera, caption=f"snapshot:{user.username}", content=jpeg, at=at
        )
        Incident.objects.filter(pk=incident.pk).update(updated_at=timezone.now())
    return image
