"""The web process's subscriber to console wake-ups (gwanje/v1/console/notify, QoS 0): a paho
client in its own thread calling `callback(seq)` for each; it reconnects by itself."""

from __future__ import annotations

import logging
import threading

from gwanje.situations.mqtt.client import CONSOLE_NOTIFY, endpoint, make_client

log = logging.getLogger(__name__)


class ConsoleWakeups:
    def __init__(self, callback) -> None:
        self.callback = callback
        self.where = endpoint("gwanje-web")
        self.client = make_client(f"gwanje-web-{threading.get_native_id()}-{id(self)}", self.where)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("console wake-ups: broker refused the connection: %s", reason_code)
            return
        client.subscribe(CONSOLE_NOTIFY, qos=0)

    def _on_message(self, client, userdata, message) -> None:
        try:
            self.callback(int(message.payload or b"0"))
        except ValueError:
            self.callback(0)

    def start(self) -> None:
        self.client.connect_async(self.where.host, self.where.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
