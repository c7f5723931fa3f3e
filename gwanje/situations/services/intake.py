"""Event intake, in two steps (DESIGN rule 8):

1. `receive()` stores every message as it arrived — keyed by (device id, message id) so a
   redelivered message is recognised and ignored — or, when it cannot even be keyed (not JSON, too
   large, a topic that names no device), a dead letter. Only then is it acknowledged (MQTT PUBACK,
   webhook 202). It never raises for bad input.
2. `process()` validates the stored message against its schema, checks the device and the time,
   and opens an incident or joins it to an open one (correlation by the duty matrix's window).
   A message that fails becomes a dead letter with the reason. A database error leaves it pending:
   `process_pending()` takes it up again (the consumer calls it at start, so a kill loses nothing).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone, translation

from gwanje.registry.models import Camera
from gwanje.situations.choices import AnalyticsRule, IncidentKind, IncidentStatus, SosCategory
from gwanje.situations.models import (
    DeadLetter,
    Device,
    Incident,
    IncidentImage,
    IncidentPosition,
    IncidentTransition,
    RawMessage,
)
from gwanje.situations.schemas import Invalid, event_time, message_id, parse_json, validate
from gwanje.situations.services import console, workflow
from gwanje.video.choices import FaultReason

log = logging.getLogger(__name__)
TOPIC_RE = re.compile(r"^gwanje/v1/events/([a-z]+)/([A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")
KEEP_BYTES = 4096


def topic_for(kind: str, device_id: str) -> str:
    return f"gwanje/v1/events/{kind}/{device_id}"


@dataclass
class Received:
    raw: RawMessage | None = None
    duplicate: bool = False
    dead: DeadLetter | None = None


def _text(payload: bytes) -> str:
    return payload[:KEEP_BYTES].decode("utf-8", errors="replace")


def dead_letter(
    *,
    source: str,
    topic: str,
    reason: str,
    detail: str,
    payload: bytes,
    device_id: str = "",
    message_id: str = "",
) -> DeadLetter:
    return DeadLetter.objects.create(
        source=source,
        topic=topic[:300],
        device_id=device_id[:64],
        message_id=message_id[:64],
        reason=reason,
        detail=detail[:500],
        payload=_text(payload),
        size=len(payload),
    )


def receive(*, source: str, topic: str, payload: bytes) -> Received:
    match = TOPIC_RE.match(topic or "")
    if not match or match[1] not in IncidentKind.DEVICE_KINDS:
        detail = "topics are gwanje/v1/events/<bell|sos|analytics|plate|fault>/<device id>"
        return Received(
            dead=dead_letter(
                source=source, topic=topic or "", reason="bad_topic", detail=detail, payload=payload
            )
        )
    kind, device_id = match[1], match[2]
    try:
        data = parse_json(payload)
        mid = message_id(data)
    except Invalid as exc:
        return Received(
            dead=dead_letter(
                source=source,
                topic=topic,
                reason=exc.reason,
                detail=exc.detail,
                payload=payload,
                device_id=device_id,
            )
        )
    try:
        with transaction.atomic():
            raw = RawMessage.objects.create(
                source=source,
                topic=topic,
                kind=kind,
                device_id=device_id,
                message_id=mid,
                payload=payload.decode("utf-8"),
            )
    except IntegrityError:
        return Received(
            raw=RawMessage.objects.filter(device_id=device_id, message_id=mid).first(), duplicate=True
        )
    return Received(raw=raw)


def process(raw: RawMessage) -> Incident | None:
    """Turn a stored message into an incident (or a dead letter). Raises only DatabaseError (the
    message stays pending for a retry)."""
    try:
        with transaction.atomic():
            if raw.state != RawMessage.PENDING:
                return raw.incident
            try:
                with transaction.atomic():
                    incident = _apply(raw)
            except Invalid as exc:
                _kill(raw, exc.reason, exc.detail)
                return None
            # taken only if still pending: a message is never processed twice
            done = RawMessage.objects.filter(pk=raw.pk, state=RawMessage.PENDING).update(
                state=RawMessage.DONE, processed_at=timezone.now(), incident=incident
            )
            if not done:
                raise _AlreadyProcessed
            raw.state, raw.incident = RawMessage.DONE, incident
            return incident
    except _AlreadyProcessed:
        return RawMessage.objects.get(pk=raw.pk).incident
    except DatabaseError:
        raise
    except Exception as exc:  # a bug, not bad input: keep the message, keep the consumer running
        log.exception("processing message %s failed", raw.pk)
        with transaction.atomic():
            raw = RawMessage.objects.select_for_update().get(pk=raw.pk)
            if raw.state == RawMessage.PENDING:
                _kill(raw, "error", f"{type(exc).__name__}: {exc}")
        return None


class _AlreadyProcessed(Exception):
    """Another consumer took the message first: this transaction is rolled back."""


def process_pending(limit: int | None = None) -> int:
    done = 0
    while limit is None or done < limit:
        batch = list(RawMessage.objects.filter(state=RawMessage.PENDING).order_by("id")[:500])
        if not batch:
            break
        for raw in batch:
            process(raw)
            done += 1
    return done


def dead_letter_of(raw: RawMessage) -> DeadLetter | None:
    """The dead letter a stored message became, if it did."""
    return (
        DeadLetter.objects.filter(device_id=raw.device_id, message_id=raw.message_id).order_by("-id").first()
    )


def _kill(raw: RawMessage, reason: str, detail: str) -> None:
    if not RawMessage.objects.filter(pk=raw.pk, state=RawMessage.PENDING).update(
        state=RawMessage.DEAD, processed_at=timezone.now()
    ):
        raise _AlreadyProcessed
    raw.state = RawMessage.DEAD
    payload = raw.payload.encode("utf-8")
    dead_letter(
        source=raw.source,
        topic=raw.topic,
        reason=reason,
        detail=detail,
        payload=payload,
        device_id=raw.device_id,
        message_id=raw.message_id,
    )
    raw.state, raw.processed_at = RawMessage.DEAD, timezone.now()
    raw.save(update_fields=["state", "processed_at"])


# --- from a valid message to an incident -------------------------------------------------------
DEVICE_CACHE_SECONDS = 5.0
_devices: dict[str, tuple[float, Device | None]] = {}


def _device(device_id: str) -> Device | None:
    """The active device, with its site and camera. Kept for DEVICE_CACHE_SECONDS per process (a
    burst of events from one device looks it up once); a deactivated device is refused within that
    time. Webhooks check the device (and its signature) themselves on every request."""
    now = time.monotonic()
    hit = _devices.get(device_id)
    if hit is not None and now - hit[0] < DEVICE_CACHE_SECONDS:
        return hit[1]
    device = (
        Device.objects.select_related("site", "camera__site")
        .filter(device_id=device_id, is_active=True)
        .first()
    )
    if len(_devices) > 10_000:
        _devices.clear()
    _devices[device_id] = (now, device)
    return device


def _apply(raw: RawMessage) -> Incident | None:
    data = json.loads(raw.payload)
    validate(raw.kind, data)
    at = event_time(
        data,
        now=timezone.now(),
        max_age_s=settings.EVENT_MAX_AGE_SECONDS,
        max_skew_s=settings.EVENT_MAX_SKEW_SECONDS,
    )
    device = _device(raw.device_id)
    if device is None:
        raise Invalid("unknown_device", f"no active device {raw.device_id!r} is registered")
    if device.kind != raw.kind:
        raise Invalid("wrong_kind", f"device {device.device_id} is a {device.kind} device, not {raw.kind}")
    rule = workflow.duty_rule(raw.kind)
    with translation.override(settings.LANGUAGE_CODE):  # titles are stored in the center's language
        return _HANDLERS[raw.kind](device, data, at, rule)


def _camera(data: dict, device: Device) -> Camera:
    code = data.get("camera")
    if code:
        site_code, number = code.rsplit("-", 1)
        camera = (
            Camera.objects.select_related("site").filter(site__code=site_code, number=int(number)).first()
        )
        if camera is None:
            raise Invalid("unknown_camera", f"camera {code} is not in the registry")
        return camera
    if device.camera is None:
        raise Invalid("unknown_camera", "the message names no camera and the device has none")
    return device.camera


def _jpeg(b64: str | None, field: str) -> bytes | None:
    if not b64:
        return None
    try:
        content = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("invalid", f"{field}: not base64") from None
    if not content.startswith(b"\xff\xd8"):
        raise Invalid("invalid", f"{field}: not a JPEG image")
    return content


def _open_match(qs, at: dt.datetime, kind: str, rule) -> Incident | None:
    """The open incident this event joins: looked for by id first (cheap, the usual answer is
    none), then loaded whole and locked."""
    window = dt.timedelta(minutes=rule.correlation_minutes)
    pk = (
        qs.exclude(status__in=IncidentStatus.FINISHED)
        .filter(kind=kind, last_event_at__gte=at - window)
        .order_by("-id")
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:
        return None
    return (
        Incident.objects.select_for_update().filter(pk=pk).exclude(status__in=IncidentStatus.FINISHED).first()
    )


def _join(incident: Incident, at: dt.datetime, note: str, event: str = "event") -> Incident:
    now = timezone.now()
    incident.event_count += 1
    incident.last_event_at = max(incident.last_event_at, at)
    incident.updated_at = now
    incident.save(update_fields=["event_count", "last_event_at", "updated_at", "point"])
    IncidentTransition.objects.create(
        incident=incident,
        action="event",
        from_status=incident.status,
        to_status=incident.status,
        at=now,
        note=note[:500],
    )
    console.publish(incident, event)
    return incident


def _first_camera_id(site_id: int) -> int | None:
    return Camera.objects.filter(site_id=site_id).order_by("number").values_list("pk", flat=True).first()


def forget_caches() -> None:
    """Drop the device cache (tests that empty and reload the database call this)."""
    _devices.clear()


def _address(site) -> str:
    return (site.road_address or site.jibun_address or "")[:200] if site else ""


def _bell(device: Device, data: dict, at: dt.datetime, rule) -> Incident:
    site = device.site or (device.camera.site if device.camera else None)
    if site is None:
        raise Invalid("unknown_device", f"bell {device.device_id} is not attached to a site")
    found = _open_match(Incident.objects.filter(device=device), at, IncidentKind.BELL, rule)
    if found:
        return _join(found, at, "비상벨 재호출")
    return workflow.create_incident(
        rule=rule,
        kind=IncidentKind.BELL,
        title=f"{site.code} {site.name}".strip(),
        point=site.point,
        at=at,
        device=device,
        site=site,
        camera_id=_first_camera_id(site.pk),
        address=_address(site),
    )


def _sos(device: Device, data: dict, at: dt.datetime, rule) -> Incident:
    pos = data["position"]
    point = Point(pos["lon"], pos["lat"], srid=4326)
    subject = data["subject_id"]
    found = _open_match(Incident.objects.filter(subject_ref=subject), at, IncidentKind.SOS, rule)
    if found:
        if at >= found.last_event_at:
            found.point = point
        IncidentPosition.objects.create(incident=found, point=point, accuracy_m=pos.get("accuracy_m"), at=at)
        return _join(found, at, "위치 갱신", event="position")
    incident = workflow.create_incident(
        rule=rule,
        kind=IncidentKind.SOS,
        title=f"{SosCategory.label(data['category'])} SOS",
        point=point,
        at=at,
        device=device,
        subject_ref=subject,
        category=data["category"],
    )
    IncidentPosition.objects.create(incident=incident, point=point, accuracy_m=pos.get("accuracy_m"), at=at)
    return incident


def _analytics(device: Device, data: dict, at: dt.datetime, rule) -> Incident:
    camera = _camera(data, device)
    snapshot = _jpeg(data.get("snapshot"), "snapshot")
    qs = Incident.objects.filter(camera=camera, category=data["rule"])
    found = _open_match(qs, at, IncidentKind.ANALYTICS, rule)
    if found:
        found.confidence = max(found.confidence or 0, data["confidence"])
        found.save(update_fields=["confidence"])
        incident = _join(found, at, f"{AnalyticsRule.label(data['rule'])} {data['confidence']:.2f}")
    else:
        incident = workflow.create_incident(
            rule=rule,
            kind=IncidentKind.ANALYTICS,
            title=f"{camera.label} {AnalyticsRule.label(data['rule'])}",
            point=camera.point,
            at=at,
            device=device,
            site=camera.site,
            camera=camera,
            category=data["rule"],
            confidence=data["confidence"],
            address=_address(camera.site),
        )
    if snapshot:
        IncidentImage.objects.create(
            incident=incident, camera=camera, caption=data["rule"], content=snapshot, at=at
        )
    return incident


def _plate(device: Device, data: dict, at: dt.datetime, rule) -> Incident:
    """A hotlisted vehicle seen again (by any camera) joins its open incident, whose track follows it."""
    camera = _camera(data, device)
    image = _jpeg(data.get("image"), "image")
    found = _open_match(Incident.objects.filter(plate=data["plate"]), at, IncidentKind.PLATE, rule)
    if found:
        if at >= found.last_event_at:
            found.point, found.camera, found.site = camera.point, camera, camera.site
            found.save(update_fields=["camera", "site"])
        incident = _join(found, at, f"{camera.label}", event="position")
    else:
        incident = workflow.create_incident(
            rule=rule,
            kind=IncidentKind.PLATE,
            title=f"{camera.label}",
            point=camera.point,
            at=at,
            device=device,
            site=camera.site,
            camera=camera,
            plate=data["plate"],
            category=data["hotlist"],
            address=_address(camera.site),
        )
    IncidentPosition.objects.create(incident=incident, point=camera.point, at=at)
    if image:
        IncidentImage.objects.create(incident=incident, camera=camera, caption="plate", content=image, at=at)
    return incident


def _fault(device: Device, data: dict, at: dt.datetime, rule) -> Incident | None:
    camera = _camera(data, device)
    found = _open_match(Incident.objects.filter(camera=camera), at, IncidentKind.FAULT, rule)
    reason = FaultReason.label(data["reason"])
    if data["state"] == "up":
        return _join(found, at, f"복구: {reason}") if found else None
    if found:
        return _join(found, at, reason)
    return workflow.create_incident(
        rule=rule,
        kind=IncidentKind.FAULT,
        title=f"{camera.label} {reason}",
        point=camera.point,
        at=at,
        device=device,
        site=camera.site,
        camera=camera,
        category=data["reason"],
        address=_address(camera.site),
    )


_HANDLERS = {
    IncidentKind.BELL: _bell,
    IncidentKind.SOS: _sos,
    IncidentKind.ANALYTICS: _analytics,
    IncidentKind.PLATE: _plate,
    IncidentKind.FAULT: _fault,
}


def report_camera_fault(camera_id: int, *, reason: str, state: str, at: dt.datetime, key: str) -> None:
    """The recorder's own fault reports enter the same intake as any device's (kind `fault`, device
    `gwanje-recorder`, registered on first use). Called after the fault's commit; `key` makes the
    message id, so a report repeated after a restart is recognised. Never raises: a fault report
    must not stop recording."""
    from gwanje.situations.services.devices import RECORDER_DEVICE, register_device

    try:
        camera = Camera.objects.select_related("site").get(pk=camera_id)
        if not Device.objects.filter(device_id=RECORDER_DEVICE).exists():
            register_device(device_id=RECORDER_DEVICE, kind=IncidentKind.FAULT, name="Gwanje recorder")
        body = {
            "message_id": key,
            "ts": at.isoformat(),
            "camera": camera.label,
            "state": state,
            "reason": reason,
        }
        got = receive(
            source="recorder",
            topic=topic_for(IncidentKind.FAULT, RECORDER_DEVICE),
            payload=json.dumps(body).encode(),
        )
        if got.raw is not None and not got.duplicate:
            process(got.raw)
    except Exception:
        log.exception("could not report the fault of camera %s to the incident intake", camera_id)
