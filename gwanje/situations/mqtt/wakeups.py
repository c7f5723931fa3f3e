"""The web process's subscriber to console wake-ups (gwanje/v1/console/notify, QoS 0): a paho
client in its own thread calling `callback(seq)` for each; it reconnects by itself.

    wakeups = ConsoleWakeups(callback)   # callback(seq: int), called in paho's thread: keep it
    wakeups.start()                      # cheap and thread-safe (e.g. loop.call_soon_threadsafe)
    ...
    wakeups.stop()

`seq` is the newest ConsoleEvent id the ingest worker committed (0 if the payload was not a
number). QoS 0: a wake-up can be lost, so the receiver must also poll now and then."""

from __future__ import annotations

import logging
import secrets

from gwanje.situations.mqtt.client import CONSOLE_NOTIFY, endpoint, make_client

log = logging.getLogger(__name__)


class ConsoleWakeups:
    def __init__(self, callback) -> None:
        self.callback = callback
        self.where = endpoint("gwanje-web")
        # unique per instance on every host (an external broker drops the older of two equal ids);
        # 23 characters, the length every MQTT 3.1.1 broker must accept
        self.client = make_client(f"gwanje-web-{secrets.token_hex(6)}", self.where)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("console wake-ups: broker refused the connection: %s", reason_code)
            return
        client.subscribe(CONSOLE_NOTIFY, qos=0)

    def _on_message(self, client, userdata, message) -> None:
        try:
            seq = int(message.payload or b"0")
        except ValueError:
            seq = 0
        try:
            self.callback(seq)
        except Exception:  # an exception here would end paho's thread, and the wake-ups with it
            log.exception("console wake-ups: the callback failed")

    def start(self) -> None:
        self.client.connect_async(self.where.host, self.where.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
