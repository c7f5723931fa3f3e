"""Helpers for situations tests: event payloads as devices send them, and intake by function call
(the MQTT path is tested against the real broker in test_ingest.py)."""

from __future__ import annotations

import datetime as dt
import itertools
import json

from django.utils import timezone

from gwanje.situations.choices import IntakeSource
from gwanje.situations.models import Device
from gwanje.situations.services import intake

_ids = itertools.count(1)


def payload(**fields) -> dict:
    fields.setdefault("message_id", f"m{next(_ids)}")
    fields.setdefault("ts", timezone.now().isoformat())
    return fields


def send(kind: str, device_id: str, body: dict | bytes | str, *, source=IntakeSource.MQTT):
    """Receive and process one message; returns (Received, Incident | None)."""
    raw = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
    got = intake.receive(source=source, topic=intake.topic_for(kind, device_id), payload=raw)
    incident = intake.process(got.raw) if got.raw is not None and not got.duplicate else None
    return got, incident


def bell() -> Device:
    return Device.objects.filter(kind="bell").order_by("device_id").first()


def device(kind: str, n: int = 0) -> Device:
    return Device.objects.filter(kind=kind).order_by("device_id")[n]


def at_seoul(hour: int, minute: int = 0) -> dt.datetime:
    """Today at this Seoul wall-clock time (aware)."""
    now = timezone.localtime()
    return now.replace(hour=hour, minute=minute, second=0, microsecond=0)
