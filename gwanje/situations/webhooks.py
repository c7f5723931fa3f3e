"""HTTPS webhooks for devices that cannot speak MQTT: POST /api/v1/events/<kind>/.

A device signs each request with its secret (docs/events.md):
    X-Gwanje-Device:    the device id
    X-Gwanje-Timestamp: Unix time in seconds (within ±5 minutes of the server clock)
    X-Gwanje-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body>
The body is the same JSON as over MQTT. The message goes through the same intake (stored, then
processed); answers: 202 accepted (with the incident number), 200 for a message already received,
400 invalid (dead-lettered with the reason), 401 unsigned or badly signed, 413 too large.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from gwanje.situations.choices import IncidentKind, IntakeSource
from gwanje.situations.models import Device
from gwanje.situations.schemas import MAX_BYTES
from gwanje.situations.services import intake

SKEW_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"field": None, "code": code, "message": message}]}, status=status)


def _refuse(status, code, message, *, topic, body, device_id="") -> JsonResponse:
    intake.dead_letter(source=IntakeSource.WEBHOOK, topic=topic, reason=code, detail=message, payload=body,
                       device_id=device_id)  # fmt: skip
    return _error(status, code, message)


def _signature_problem(request, device: Device | None, body: bytes) -> str:
    if device is None or not device.secret:
        return "unknown or inactive device"
    timestamp = request.headers.get("X-Gwanje-Timestamp", "")
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError:
        return "X-Gwanje-Timestamp must be Unix seconds"
    if skew > SKEW_SECONDS:
        return f"X-Gwanje-Timestamp is {int(skew)} s away from the server clock (at most {SKEW_SECONDS})"
    given = request.headers.get("X-Gwanje-Signature", "")
    if not hmac.compare_digest(given.encode(), sign(device.secret, timestamp, body).encode()):
        return "X-Gwanje-Signature does not match (HMAC-SHA256 of '<timestamp>.' + body)"
    return ""


@csrf_exempt
def event_webhook(request, kind: str):
    if request.method != "POST":
        return _error(405, "method_not_allowed", "POST only")
    if kind not in IncidentKind.DEVICE_KINDS:
        return _error(404, "not_found", "no such event kind")
    device_id = request.headers.get("X-Gwanje-Device", "")[:64]
    topic = intake.topic_for(kind, device_id or "-")
    length = request.headers.get("Content-Length") or "0"
    if not length.isdigit() or int(length) > MAX_BYTES:
        return _refuse(
            413, "too_large", f"at most {MAX_BYTES} bytes", topic=topic, body=b"", device_id=device_id
        )
    body = request.body
    if len(body) > MAX_BYTES:
        return _refuse(
            413, "too_large", f"at most {MAX_BYTES} bytes", topic=topic, body=b"", device_id=device_id
        )
    device = Device.objects.filter(device_id=device_id, is_active=True).first() if device_id else None
    problem = _signature_problem(request, device, body)
    if problem:
        return _refuse(401, "bad_signature", problem, topic=topic, body=body, device_id=device_id)
    try:
        got = intake.receive(source=IntakeSource.WEBHOOK, topic=topic, payload=body)
        if got.dead is not None:
            return _error(400, got.dead.reason, got.dead.detail)
        if got.duplicate:
            number = got.raw.incident.number if got.raw and got.raw.incident else None
            return JsonResponse({"duplicate": True, "incident": number}, status=200)
        incident = intake.process(got.raw)
    except DatabaseError:
        return _error(503, "unavailable", "the event store is unavailable; send the message again")
    if incident is None:
        letter = intake.dead_letter_of(got.raw)
        if letter is not None:
            return _error(400, letter.reason, letter.detail)
    return JsonResponse({"incident": incident.number if incident else None}, status=202)
