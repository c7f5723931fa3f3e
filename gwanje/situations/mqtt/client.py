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
    unacknowledged messages would be lost: STACK.md)."""

    def __init__(self, where: Endpoint, client_id: str, *, window: int = 100):
        self.window = threading.BoundedSemaphore(window)
        self.client = make_client(client_id, where)
        self.client.max_inflight_messages_set(window)
        self.client.max_queued_messages_set(0)
        self.acked = 0
        self.client.on_publish = self._on_publish
        self.client.connect(where.host, where.port, keepalive=30)
        self.client.loop_start()
        deadline = time.monotonic() + 10
        while not self.client.is_connected():
            if time.monotonic() > deadline:
                raise ConnectionError(
                    f"cannot connect to the broker at {where.host}:{where.port} as {where.username}"
                )
            time.sleep(0.01)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self.acked += 1
        self.window.release()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        if qos:
            self.window.acquire()
        info = self.client.publish(topic, payload, qos=qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS and qos:
            self.window.release()
            raise ConnectionError(f"publish failed: {mqtt.error_string(info.rc)}")

    def drain(self, timeout: float = 30) -> bool:
        """Wait until every QoS 1 message sent has been acknowledged."""
        deadline = time.monotonic() + timeout
        while self.window._value < self.window._initial_value:  # noqa: SLF001
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
