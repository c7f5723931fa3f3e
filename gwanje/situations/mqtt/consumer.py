"""`gwanje ingest`: the one consumer of device events (DESIGN rule 8: a single consumer on SQLite).

- Subscribes to gwanje/v1/events/+/+ at QoS 1 with a persistent session (fixed client id, clean
  session off): what devices publish while it is down waits in the broker.
- Each message is stored raw (`intake.receive`) and only then acknowledged (paho's manual acks): a
  kill between the two means the broker sends it again, and the stored copy makes the resend a
  recognised duplicate. A database error leaves the message unacknowledged and drops the
  connection, so the broker redelivers it after the reconnect (waiting 1, 2, 4 … 30 s while the
  failures go on). A message that trips a bug in `receive` becomes a dead letter (reason `error`).
- Then the stored message is processed (`intake.process`); what a kill left pending is processed at
  the next start, and any left by a database error is retried every second.
- Every second the SLA timers are checked (also while the broker is unreachable). After each
  commit that wrote console events a wake-up is published to gwanje/v1/console/notify for the web
  processes' console hubs.
- SIGTERM/SIGINT: finish the current message, disconnect, exit 0.
"""

from __future__ import annotations

import logging
import signal
import time

import paho.mqtt.client as mqtt
from django.db import DatabaseError, close_old_connections

from gwanje.situations.choices import IntakeSource
from gwanje.situations.mqtt.client import CONSOLE_NOTIFY, EVENTS, endpoint, make_client
from gwanje.situations.services import console, intake, workflow

log = logging.getLogger(__name__)
CLIENT_ID = "gwanje-ingest"


class Consumer:
    def __init__(self, *, client_id: str = CLIENT_ID, out=print):
        self.where = endpoint("gwanje-ingest")
        self.client = make_client(client_id, self.where, persistent=True, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.out = out
        self.stopping = False
        self.stored = self.duplicates = self.dead = self.failed = 0
        self.failures = 0  # in a row: database errors and failed reconnects (the back-off grows)
        self.connected_at = self.last_tick = 0.0
        console.on_notify(self._notify)

    # --- callbacks (run in this thread, inside client.loop) ---------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.failures += 1
            self.out(f"ingest: broker refused the connection: {reason_code}")
            return
        self.connected_at = time.monotonic()
        client.subscribe(EVENTS, qos=1)
        kept = flags.session_present
        self.out(f"ingest: connected to {self.where.host}:{self.where.port} (session kept: {kept})")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if not self.stopping:
            self.out(f"ingest: disconnected ({reason_code}); reconnecting")

    def _on_message(self, client, userdata, message) -> None:
        try:
            got = intake.receive(source=IntakeSource.MQTT, topic=message.topic, payload=message.payload)
        except DatabaseError as exc:
            self._not_stored(client, exc)
            return
        except Exception as exc:  # a bug, not bad input: keep the message as a dead letter, go on
            log.exception("ingest: storing a message from %s failed", message.topic)
            try:
                got = intake.Received(dead=self._dead_letter(message, exc))
            except DatabaseError as db_exc:
                self._not_stored(client, db_exc)
                return
        client.ack(message.mid, message.qos)
        self.failures = 0
        if got.dead is not None:
            self.dead += 1
            return
        if got.duplicate:
            self.duplicates += 1
            return
        self.stored += 1
        try:
            intake.process(got.raw)
        except DatabaseError as exc:  # stays pending: retried by the sweep
            log.error("ingest: processing message %s failed (%s); will retry", got.raw.pk, exc)
            close_old_connections()
        except Exception:  # process() keeps bugs to itself; should one escape, the sweep retries
            log.exception("ingest: processing message %s failed", got.raw.pk)

    def _not_stored(self, client, exc: Exception) -> None:
        """Not stored: no acknowledgement; drop the connection so that the broker sends it (and what
        followed it) again after the reconnect, which waits longer after each failure in a row."""
        self.failed += 1
        self.failures += 1
        log.error("ingest: cannot store a message (%s); it will be redelivered", exc)
        close_old_connections()
        client.disconnect()

    @staticmethod
    def _dead_letter(message, exc: Exception):
        return intake.dead_letter(
            source=IntakeSource.MQTT,
            topic=message.topic,
            reason="error",
            detail=f"{type(exc).__name__}: {exc}",
            payload=message.payload,
        )

    def _notify(self, seq: int) -> None:
        if self.client.is_connected():
            self.client.publish(CONSOLE_NOTIFY, str(seq).encode(), qos=0)

    # --- the loop -------------------------------------------------------------------------------
    def stop(self, *_args) -> None:
        self.stopping = True

    def run(self, *, max_seconds: float | None = None) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        pending = intake.process_pending()
        if pending:
            self.out(f"ingest: processed {pending} message(s) stored before the last stop")
        self.client.connect_async(self.where.host, self.where.port, keepalive=30)
        self._connect(self.client.reconnect)
        started = self.last_tick = time.monotonic()
        while not self.stopping:
            rc = self.client.loop(timeout=0.2)
            if rc != mqtt.MQTT_ERR_SUCCESS and not self.stopping:
                # the SLA timers keep running while the broker is away
                self._sleep(min(2.0**self.failures, 30.0))
                if not self.stopping:
                    self._connect(self.client.reconnect)
                continue
            now = time.monotonic()
            self._tick_if_due()
            if self.failures and self.client.is_connected() and now - self.connected_at > 5:
                self.failures = 0
            if max_seconds is not None and now - started > max_seconds:
                break
        self.client.disconnect()
        self.client.loop(timeout=0.5)
        self.out(
            f"ingest: stopped (stored {self.stored}, duplicates {self.duplicates}, dead letters {self.dead})"
        )
        return 0

    def _connect(self, how) -> None:
        try:
            how()
        except (OSError, ValueError) as exc:  # broker not up (yet)
            self.failures += 1
            log.warning("ingest: cannot reach the broker: %s", exc)

    def _sleep(self, seconds: float) -> None:
        """Sleep, but wake for SIGTERM and keep the once-a-second tick."""
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(max(0.0, min(0.1, deadline - time.monotonic())))
            self._tick_if_due()

    def _tick_if_due(self) -> None:
        now = time.monotonic()
        if now - self.last_tick >= 1.0:
            self.last_tick = now
            self._tick()

    def pump(self, seconds: float, until=None) -> bool:
        """Run the loop in this thread for up to `seconds` or until `until()` is true (tests)."""
        if not self.client.is_connected():
            self.client.connect(self.where.host, self.where.port, keepalive=30)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.client.loop(timeout=0.05)
            if until is not None and until():
                return True
        return until is None

    def _tick(self) -> None:
        try:
            workflow.check_timers()
            intake.process_pending(limit=500)
        except DatabaseError as exc:
            log.error("ingest: timer/sweep failed: %s", exc)
            close_old_connections()
