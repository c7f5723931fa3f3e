"""Connections to the broker: GWANJE_MQTT_URL (`mqtt://user:password@host:port`) for an external
broker — one account for the platform's services — or the private broker on
127.0.0.1:GWANJE_MQTT_PORT with per-service accounts whose passwords derive from the secret key."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from django.conf import settings

SERVICE_ACCOUNTS = ("gwanje-ingest", "gwanje-web")
EVENTS = "gwanje/v1/events/+/+"
CONSOLE_NOTIFY = "gwanje/v1/console/notify"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    username: str
    password: str


def service_password(name: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"gwanje-mqtt:{name}".encode(), hashlib.sha256).hexdigest()[
        :40
    ]


def endpoint(service: str) -> Endpoint:
    if settings.MQTT_URL:
        parts = urlsplit(settings.MQTT_URL)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError("GWANJE_MQTT_URL must look like mqtt://user:password@host:1883")
        return Endpoint(
            parts.hostname, parts.port or 1883, unquote(parts.username or ""), unquote(parts.password or "")
        )
    return Endpoint("127.0.0.1", settings.MQTT_PORT, service, service_password(service))


def device_endpoint(device_id: str, secret: str) -> Endpoint:
    base = endpoint("gwanje-web")
    return Endpoint(base.host, base.port, device_id, secret)


def make_client(
    client_id: str, where: Endpoint, *, persistent: bool = False, manual_ack: bool = False
) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        clean_session=not persistent,
        manual_ack=manual_ack,
    )
    client.username_pw_set(where.username, where.password)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.max_inflight_messages_set(100)
    return client


class Publisher:
    """A connected publisher with a bounded in-flight window of QoS 1 messages (more than 65,535
    unacknowledged messages would be lost: STACK.md). `publish` blocks while `window` messages
    await their PUBACK. A message published while the connection is down stays queued in paho and
    is sent after its automatic reconnect (it counts in the window until acknowledged)."""

    def __init__(self, where: Endpoint, client_id: str, *, window: int = 100):
        self.limit = window
        self.in_flight = 0
        self.acked = 0
        self._cond = threading.Condition()
        self._sent: dict[int, int] = {}  # mid -> qos, until paho reports it published
        self._early: set[int] = set()
        self.client = make_client(client_id, where)
        self.client.max_inflight_messages_set(window)
        self.client.max_queued_messages_set(0)
        self.client.on_publish = self._on_publish
        self.client.connect(where.host, where.port, keepalive=30)
        self.client.loop_start()
        deadline = time.monotonic() + 10
        while not self.client.is_connected():
            if time.monotonic() > deadline:
                self.client.loop_stop()
                raise ConnectionError(
                    f"cannot connect to the broker at {where.host}:{where.port} as {where.username}"
                )
            time.sleep(0.01)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._cond:
            if mid in self._sent:
                self._done(self._sent.pop(mid))
            else:  # before publish() has seen its mid
                self._early.add(mid)

    def _done(self, qos: int) -> None:  # with self._cond held
        if qos:
            self.acked += 1
            self.in_flight -= 1
            self._cond.notify_all()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        if qos:
            with self._cond:
                while self.in_flight >= self.limit:
                    self._cond.wait(1.0)
                self.in_flight += 1
        info = self.client.publish(topic, payload, qos=qos)
        # MQTT_ERR_NO_CONN: queued by paho, sent (and acknowledged) after the reconnect
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            if qos:
                with self._cond:
                    self.in_flight -= 1
                    self._cond.notify_all()
            raise ConnectionError(f"publish failed: {mqtt.error_string(info.rc)}")
        with self._cond:
            if info.mid in self._early:
                self._early.discard(info.mid)
                self._done(qos)
            else:
                self._sent[info.mid] = qos

    def drain(self, timeout: float = 30) -> bool:
        """Wait until every QoS 1 message sent has been acknowledged."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
