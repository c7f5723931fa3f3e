"""The JSON schemas of device events (docs/events.md prints them) and their validation.

Every event carries `message_id` (the device's own id for the message: with the device id it is
the idempotency key) and `ts` (when it happened, ISO 8601 with a UTC offset). Unknown extra keys
are ignored, so a device firmware that adds fields keeps working.
"""

from __future__ import annotations

import datetime as dt
import json

from jsonschema import Draft202012Validator

from gwanje.situations.choices import AnalyticsRule, Hotlist, SosCategory
from gwanje.video.choices import FaultReason

MAX_BYTES = 256 * 1024
MESSAGE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
CAMERA = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9_.-]{1,40}-[0-9]{1,4}$",
    "description": "site code-number, e.g. C318-1",
}
JPEG_B64 = {"type": "string", "maxLength": 240_000, "description": "base64 JPEG (≤ 180 KB)"}
POSITION = {
    "type": "object",
    "required": ["lat", "lon"],
    "properties": {
        "lat": {"type": "number", "minimum": 33, "maximum": 39},
        "lon": {"type": "number", "minimum": 124, "maximum": 132},
        "accuracy_m": {"type": "integer", "minimum": 0, "maximum": 100_000},
    },
}
_BASE = {
    "message_id": {"type": "string", "pattern": MESSAGE_ID},
    "ts": {"type": "string", "minLength": 10, "maxLength": 40, "description": "ISO 8601 with offset"},
}


def _schema(title: str, required: list[str], props: dict) -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "required": ["message_id", "ts", *required],
        "properties": {**_BASE, **props},
    }


SCHEMAS: dict[str, dict] = {
    "bell": _schema(
        "Emergency-bell press",
        [],
        {"button": {"type": "integer", "minimum": 1, "maximum": 16, "description": "which button"}},
    ),
    "sos": _schema(
        "u-Seoul safety SOS (an alert, then position updates of the same subject)",
        ["subject_id", "category", "position"],
        {
            "subject_id": {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{1,64}$"},
            "category": {"enum": SosCategory.values()},
            "position": POSITION,
        },
    ),
    "analytics": _schema(
        "Video-analytics event",
        ["rule", "confidence"],
        {
            "camera": CAMERA,
            "rule": {"enum": AnalyticsRule.values()},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "snapshot": JPEG_B64,
        },
    ),
    "plate": _schema(
        "Wanted or stolen vehicle plate hit",
        ["plate", "hotlist"],
        {
            "camera": CAMERA,
            "plate": {"type": "string", "pattern": r"^([가-힣]{2})?[0-9]{2,3}[가-힣][0-9]{4}$"},
            "hotlist": {"enum": Hotlist.values()},
            "image": JPEG_B64,
        },
    ),
    "fault": _schema(
        "Camera fault (down) or recovery (up)",
        ["camera", "state", "reason"],
        {
            "camera": CAMERA,
            "state": {"enum": ["down", "up"]},
            "reason": {"enum": FaultReason.values()},
        },
    ),
}
_VALIDATORS = {kind: Draft202012Validator(schema) for kind, schema in SCHEMAS.items()}


class Invalid(Exception):
    """The message cannot be used; `reason` is a DeadReason code, `detail` says what is wrong."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail[:500]


def parse_json(payload: bytes) -> dict:
    if len(payload) > MAX_BYTES:
        raise Invalid("too_large", f"{len(payload)} bytes (at most {MAX_BYTES})")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Invalid("malformed", f"not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid("malformed", "the message must be a JSON object")
    return data


def message_id(data: dict) -> str:
    value = data.get("message_id")
    if not isinstance(value, str) or not Draft202012Validator(_BASE["message_id"]).is_valid(value):
        raise Invalid("invalid", "message_id: a string of 1–64 letters, digits, '_', '.', ':' or '-'")
    return value


def validate(kind: str, data: dict) -> None:
    errors = sorted(_VALIDATORS[kind].iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(message)"
        raise Invalid("invalid", f"{where}: {e.message}")


def event_time(data: dict, *, now: dt.datetime, max_age_s: int, max_skew_s: int) -> dt.datetime:
    try:
        ts = dt.datetime.fromisoformat(data["ts"])
    except (TypeError, ValueError):
        raise Invalid("invalid", "ts: not an ISO 8601 time") from None
    if ts.tzinfo is None:
        raise Invalid("invalid", "ts: give a UTC offset (e.g. 2026-11-24T21:05:00+09:00 or …Z)")
    if ts > now + dt.timedelta(seconds=max_skew_s):
        raise Invalid("future", f"ts {ts.isoformat()} is more than {max_skew_s} s ahead of the server clock")
    if ts < now - dt.timedelta(seconds=max_age_s):
        raise Invalid("stale", f"ts {ts.isoformat()} is more than {max_age_s} s old")
    return ts.astimezone(dt.UTC)


_INTRO = """# Device events

Generated by `gwanje event-schemas` from `gwanje/situations/schemas.py` (a test fails when this
file is stale). What the platform does with an event is in docs/operations.md (intake, consumer)
and docs/security.md (devices, signatures).

## How devices send events

**MQTT** (QoS 1): publish to `gwanje/v1/events/<kind>/<device id>`, logged in to the broker with
the device id as user name and the device's secret as password. The broker lets a device publish
only to its own topics (`pattern write gwanje/v1/events/+/%u`).

**HTTPS webhook**: `POST /api/v1/events/<kind>/` with the same JSON body and three headers:

| header | value |
|---|---|
| `X-Gwanje-Device` | the device id |
| `X-Gwanje-Timestamp` | Unix time in seconds; at most 300 s from the server clock |
| `X-Gwanje-Signature` | `sha256=` + hex HMAC-SHA256 of `<timestamp>.` + body (key: the device secret) |

Answers: `202` accepted (`{"incident": "2026-000123"}`; `null` when the event opened nothing, e.g.
a camera recovery), `200` the same message again (`{"duplicate": true, ...}`), `400` invalid,
`401` unsigned, badly signed or unknown device, `413` larger than 256 KiB, `503` the event store
is down (send again). Errors are `{"errors": [{"field": null, "code": <reason>, "message": ...}]}`.

## Every event

- `message_id`: the device's own id of the message (1–64 of `A–Z a–z 0–9 _ . : -`). With the device
  id it is the idempotency key: a message received twice is stored once and acted on once.
- `ts`: when it happened, ISO 8601 **with** a UTC offset (`2026-11-24T21:05:00+09:00`). At most
  `GWANJE_EVENT_MAX_SKEW_SECONDS` (120) ahead of the server clock and `GWANJE_EVENT_MAX_AGE_SECONDS`
  (3600) old.
- At most 256 KiB. Keys not listed are ignored.

A message that fails any check is kept as a **dead letter** with the reason (administrators see
them under 이벤트 수신 / Event intake) and raises no alarm:

| reason | meaning |
|---|---|
{reasons}

## Correlation

Repeated events join the open incident instead of opening another, within the duty matrix's
window for that kind (`correlation_minutes`, default 10): the same bell pressed again; the same SOS
subject (each message adds a position to the track); the same camera and analytics rule; the same
plate (from any camera — the incident follows the vehicle); the same camera's fault (a recovery,
`state: up`, is added to the open fault incident).

## Schemas (JSON Schema 2020-12)
"""


def events_markdown() -> str:
    from gwanje.situations.choices import DeadReason

    reasons = "\n".join(f"| `{v}` | {label} |" for v, label in DeadReason.choices())
    with_reasons = _INTRO.replace("{reasons}", reasons)
    parts = [with_reasons]
    for kind, schema in SCHEMAS.items():
        parts.append(f"### `{kind}` — {schema['title']}\n\nTopic `gwanje/v1/events/{kind}/<device id>`.\n")
        parts.append("```json\n" + json.dumps(schema, ensure_ascii=False, indent=2) + "\n```\n")
    return "\n".join(parts)
