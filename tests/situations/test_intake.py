"""Event intake by function call (the same path the MQTT consumer and the webhooks take): every
bad input becomes a dead letter with its reason, duplicates make nothing, repeated events join."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.utils import timezone

from gwanje.situations.models import DeadLetter, Incident, IncidentPosition, RawMessage
from gwanje.situations.schemas import MAX_BYTES
from tests.situations.events import bell, device, payload, send

pytestmark = pytest.mark.django_db
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"0" * 100).decode()


def dead(reason: str) -> DeadLetter:
    letter = DeadLetter.objects.order_by("-id").first()
    assert letter is not None and letter.reason == reason, letter and (letter.reason, letter.detail)
    return letter


def test_a_bell_press_opens_an_incident_at_its_site():
    b = bell()
    got, incident = send("bell", b.device_id, payload(button=1))
    assert got.raw.state == RawMessage.PENDING or got.raw is not None
    assert incident.kind == "bell" and incident.site == b.site and incident.point == b.site.point
    assert incident.camera is not None and incident.camera.site == b.site
    assert RawMessage.objects.get(pk=got.raw.pk).state == RawMessage.DONE


def test_the_same_message_twice_is_stored_once_and_makes_one_incident():
    body = payload()
    first, incident = send("bell", bell().device_id, body)
    again, nothing = send("bell", bell().device_id, body)
    assert again.duplicate and nothing is None and again.raw.pk == first.raw.pk
    assert Incident.objects.filter(device=bell()).count() == 1


def test_repeated_presses_within_the_window_join_the_open_incident():
    b = bell()
    _g, first = send("bell", b.device_id, payload())
    _g, second = send("bell", b.device_id, payload())
    assert second.pk == first.pk
    first.refresh_from_db()
    assert first.event_count == 2
    assert first.transitions.filter(action="event").count() == 1


def test_sos_updates_extend_the_incident_and_draw_its_track():
    gw = device("sos").device_id
    pts = [(37.5500, 127.0400), (37.5505, 127.0410), (37.5512, 127.0418)]
    incidents = {
        send("sos", gw, payload(subject_id="SUBJ-9", category="child", position={"lat": la, "lon": lo}))[1].pk
        for la, lo in pts
    }
    assert len(incidents) == 1
    incident = Incident.objects.get(pk=incidents.pop())
    track = list(IncidentPosition.objects.filter(incident=incident).values_list("point", flat=True))
    assert [(p.y, p.x) for p in track] == pts
    assert (incident.point.y, incident.point.x) == pts[-1]
    assert incident.subject_ref == "SUBJ-9" and incident.category == "child"


def test_a_wanted_vehicle_seen_by_two_cameras_is_one_incident_that_moves():
    a, b = device("plate", 0), device("plate", 1)
    _g, first = send("plate", a.device_id, payload(plate="12가3456", hotlist="stolen", image=JPEG))
    _g, second = send("plate", b.device_id, payload(plate="12가3456", hotlist="stolen"))
    assert first.pk == second.pk
    second.refresh_from_db()
    assert second.camera == b.camera and second.positions.count() == 2 and second.images.count() == 1


def test_analytics_with_a_snapshot():
    va = device("analytics")
    _g, incident = send("analytics", va.device_id, payload(rule="fall", confidence=0.91, snapshot=JPEG))
    assert incident.camera == va.camera and incident.category == "fall" and incident.confidence == 0.91
    assert bytes(incident.images.get().content).startswith(b"\xff\xd8")


def test_a_camera_fault_and_its_recovery():
    rec = device("fault")
    cam = device("analytics").camera
    _g, incident = send("fault", rec.device_id, payload(camera=cam.label, state="down", reason="timeout"))
    assert incident.kind == "fault" and incident.camera == cam
    _g, same = send("fault", rec.device_id, payload(camera=cam.label, state="up", reason="timeout"))
    assert same.pk == incident.pk
    _g, none = send("fault", rec.device_id, payload(camera=cam.label, state="up", reason="other"))
    assert none is not None  # recovery joins the still-open fault incident


@pytest.mark.parametrize(
    ("kind", "device_id", "body", "reason"),
    [
        ("bell", None, b"{not json", "malformed"),
        ("bell", None, b"\xff\xfe", "malformed"),
        ("bell", None, b"[1, 2]", "malformed"),
        ("bell", None, {"ts": "2026-01-01T00:00:00Z"}, "invalid"),  # no message id
        ("bell", None, {"message_id": "x y"}, "invalid"),
        ("bell", None, {"message_id": "a1"}, "invalid"),  # no ts
        ("bell", None, {"message_id": "a2", "ts": "yesterday"}, "invalid"),
        ("bell", None, {"message_id": "a3", "ts": "2026-11-24T10:00:00"}, "invalid"),  # no offset
        ("bell", None, {"message_id": "a4", "ts": "FUTURE"}, "future"),
        ("bell", None, {"message_id": "a5", "ts": "PAST"}, "stale"),
        ("bell", None, {"message_id": "a6", "ts": "NOW", "button": "one"}, "invalid"),
        ("bell", "no-such-bell", {"message_id": "a7", "ts": "NOW"}, "unknown_device"),
        (
            "sos",
            "BELL",
            {
                "message_id": "a8",
                "ts": "NOW",
                "subject_id": "s",
                "category": "child",
                "position": {"lat": 37.5, "lon": 127.0},
            },
            "wrong_kind",
        ),  # fmt: skip
        (
            "sos",
            "SOS",
            {
                "message_id": "a9",
                "ts": "NOW",
                "subject_id": "s",
                "category": "alien",
                "position": {"lat": 37.5, "lon": 127.0},
            },
            "invalid",
        ),  # fmt: skip
        (
            "sos",
            "SOS",
            {
                "message_id": "a10",
                "ts": "NOW",
                "subject_id": "s",
                "category": "child",
                "position": {"lat": 0, "lon": 0},
            },
            "invalid",
        ),  # fmt: skip
        ("analytics", "VA", {"message_id": "a11", "ts": "NOW", "rule": "fall", "confidence": 1.5}, "invalid"),
        (
            "analytics",
            "VA",
            {"message_id": "a12", "ts": "NOW", "rule": "fall", "confidence": 0.5, "camera": "NOPE-1"},
            "unknown_camera",
        ),  # fmt: skip
        (
            "analytics",
            "VA",
            {
                "message_id": "a13",
                "ts": "NOW",
                "rule": "fall",
                "confidence": 0.5,
                "snapshot": base64.b64encode(b"GIF89a").decode(),
            },
            "invalid",
        ),  # fmt: skip
        (
            "plate",
            "LPR",
            {"message_id": "a14", "ts": "NOW", "plate": "ABC123", "hotlist": "stolen"},
            "invalid",
        ),
    ],
)
def test_bad_messages_become_dead_letters_with_the_reason(kind, device_id, body, reason):
    ids = {"BELL": bell().device_id, "SOS": device("sos").device_id, "VA": device("analytics").device_id,
           "LPR": device("plate").device_id}  # fmt: skip
    now = timezone.now()
    if isinstance(body, dict) and "ts" in body:
        body["ts"] = {
            "NOW": now.isoformat(),
            "FUTURE": (now + dt.timedelta(hours=1)).isoformat(),
            "PAST": (now - dt.timedelta(days=2)).isoformat(),
        }.get(body["ts"], body["ts"])
    before = Incident.objects.count()
    got, incident = send(kind, ids.get(device_id, device_id) or bell().device_id, body)
    assert incident is None and Incident.objects.count() == before
    letter = dead(reason)
    assert letter.detail
    if got.raw is not None:
        assert RawMessage.objects.get(pk=got.raw.pk).state == RawMessage.DEAD


def test_oversized_and_badly_addressed_messages():
    from gwanje.situations.choices import IntakeSource
    from gwanje.situations.services import intake

    big = json.dumps(payload(pad="x" * MAX_BYTES)).encode()
    got = intake.receive(
        source=IntakeSource.MQTT, topic=intake.topic_for("bell", bell().device_id), payload=big
    )
    assert got.raw is None and dead("too_large").size == len(big) and len(dead("too_large").payload) <= 4096
    for topic in [
        "gwanje/v1/events/bell",
        "gwanje/v1/events/weather/x1",
        "other/topic",
        "gwanje/v1/events/bell/a/b",
    ]:
        got = intake.receive(source=IntakeSource.MQTT, topic=topic, payload=b"{}")
        assert got.dead is not None and got.dead.reason == "bad_topic"


def test_extra_keys_are_ignored():
    _g, incident = send("bell", bell().device_id, payload(firmware="2.1", battery=88))
    assert incident is not None


def test_the_recorders_fault_reports_open_and_update_a_fault_incident(django_capture_on_commit_callbacks):
    from gwanje.registry.models import Camera
    from gwanje.video import health

    camera = Camera.objects.order_by("id")[7]
    with django_capture_on_commit_callbacks(execute=True):
        health.camera_down(camera.pk, health.Diagnosis("timeout", "no packets"))
    incident = Incident.objects.get(kind="fault", camera=camera)
    assert incident.is_open and incident.category == "timeout" and incident.first_party == "district"
    with django_capture_on_commit_callbacks(execute=True):
        health.camera_down(camera.pk, health.Diagnosis("timeout", "still nothing"))  # same fault: no report
        health.camera_up(camera.pk)
    incident.refresh_from_db()
    assert incident.event_count == 2 and "복구" in incident.transitions.last().note
    assert Incident.objects.filter(kind="fault", camera=camera).count() == 1
