"""Device webhooks: HMAC-signed, the same intake as MQTT, clear JSON errors."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from gwanje.situations.models import DeadLetter, Incident
from gwanje.situations.schemas import MAX_BYTES
from gwanje.situations.webhooks import sign
from tests.situations.events import bell, payload

pytestmark = pytest.mark.django_db


def post(kind: str, body: bytes, *, device=None, secret=None, timestamp=None, signature=None):
    device = device or bell()
    ts = str(int(time.time())) if timestamp is None else timestamp
    headers = {
        "HTTP_X_GWANJE_DEVICE": device.device_id,
        "HTTP_X_GWANJE_TIMESTAMP": ts,
        "HTTP_X_GWANJE_SIGNATURE": signature or sign(secret or device.secret, ts, body),
    }
    return Client().post(f"/api/v1/events/{kind}/", body, content_type="application/json", **headers)


def test_a_signed_bell_press_opens_an_incident_and_a_replay_is_idempotent():
    body = json.dumps(payload()).encode()
    first = post("bell", body)
    assert first.status_code == 202, first.content
    number = first.json()["incident"]
    assert Incident.objects.get(number=number).device == bell()
    again = post("bell", body)
    assert again.status_code == 200 and again.json() == {"duplicate": True, "incident": number}


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"secret": "wrong"}, "bad_signature"),
        ({"signature": "sha256=00"}, "bad_signature"),
        ({"timestamp": "1700000000"}, "bad_signature"),  # too old: a captured request replayed later
        ({"timestamp": "soon"}, "bad_signature"),
    ],
)
def test_unsigned_or_badly_signed_requests_get_401_and_a_dead_letter(kwargs, reason):
    r = post("bell", json.dumps(payload()).encode(), **kwargs)
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == reason and r.json()["errors"][0]["message"]
    assert DeadLetter.objects.order_by("-id").first().reason == reason


def test_no_headers_at_all_and_unknown_kinds_and_methods():
    r = Client().post("/api/v1/events/bell/", b"{}", content_type="application/json")
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "bad_signature"
    assert Client().post("/api/v1/events/weather/", b"{}", content_type="application/json").status_code == 404
    assert Client().get("/api/v1/events/bell/").status_code == 405


def test_invalid_and_oversized_bodies():
    r = post("bell", b"{nope")
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "malformed"
    r = post("bell", json.dumps(payload(button="x")).encode())
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "invalid"
    assert "button" in r.json()["errors"][0]["message"]
    r = post("bell", b"x" * (MAX_BYTES + 1))
    assert r.status_code == 413 and r.json()["errors"][0]["code"] == "too_large"


def test_docs_events_md_is_generated_from_the_schemas():
    from pathlib import Path

    from django.conf import settings
    from django.utils import translation

    from gwanje.situations.schemas import events_markdown

    with translation.override("en"):
        expected = events_markdown()
    assert (Path(settings.BASE_DIR) / "docs" / "events.md").read_text(encoding="utf-8") == expected, (
        "run `gwanje event-schemas` to regenerate docs/events.md"
    )
