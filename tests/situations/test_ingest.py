"""The MQTT path against a real Mosquitto: broker accounts and ACLs, the consumer storing before
acknowledging, duplicates and dead letters, and a SIGKILL in the middle of a burst losing nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import paho.mqtt.client as mqtt
import pytest
from django.db import connection
from django.utils import timezone

from gwanje.situations.models import DeadLetter, Device, Incident, RawMessage
from gwanje.situations.mqtt.client import Endpoint, Publisher, device_endpoint, endpoint
from gwanje.situations.mqtt.consumer import Consumer
from gwanje.situations.services.intake import topic_for
from gwanje.video.simulator.process import _die_with_parent
from tests.situations.events import payload

pytestmark = pytest.mark.django_db


def connect_result(where: Endpoint) -> mqtt.ReasonCode | str:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"probe-{time.monotonic_ns()}")
    if where.username:
        client.username_pw_set(where.username, where.password)
    result = {}
    client.on_connect = lambda c, u, f, rc, p: result.setdefault("rc", rc)
    client.connect(where.host, where.port)
    deadline = time.monotonic() + 5
    while "rc" not in result and time.monotonic() < deadline:
        client.loop(timeout=0.05)
    client.disconnect()
    return result.get("rc", "no answer")


def bells(n: int) -> list[Device]:
    return list(Device.objects.filter(kind="bell").order_by("device_id")[:n])


def test_the_broker_refuses_anonymous_and_wrong_passwords(broker):
    good = endpoint("gwanje-ingest")
    assert not connect_result(good).is_failure
    assert connect_result(Endpoint(good.host, good.port, "", "")).is_failure
    assert connect_result(Endpoint(good.host, good.port, "gwanje-ingest", "guess")).is_failure
    bell = bells(1)[0]
    assert not connect_result(device_endpoint(bell.device_id, bell.secret)).is_failure
    assert connect_result(device_endpoint(bell.device_id, "not-its-secret")).is_failure


def test_a_bell_press_over_mqtt_becomes_an_incident_once(broker):
    bell = bells(1)[0]
    consumer = Consumer(client_id="test-ingest")
    assert consumer.pump(5, until=lambda: consumer.client.is_connected())
    consumer.pump(0.5)  # subscribed
    pub = Publisher(device_endpoint(bell.device_id, bell.secret), "test-bell")
    body = json.dumps(payload()).encode()
    pub.publish(topic_for("bell", bell.device_id), body)
    pub.publish(topic_for("bell", bell.device_id), body)  # the same message again
    pub.publish(topic_for("bell", bell.device_id), b"{broken")
    assert pub.drain()
    pub.close()
    assert consumer.pump(10, until=lambda: consumer.stored + consumer.duplicates + consumer.dead >= 3)
    incident = Incident.objects.get(device=bell)
    assert incident.event_count == 1 and RawMessage.objects.filter(device_id=bell.device_id).count() == 1
    assert consumer.duplicates == 1 and DeadLetter.objects.filter(reason="malformed").exists()


def test_a_device_publishes_only_to_its_own_topic(broker):
    mine, other = bells(2)
    consumer = Consumer(client_id="test-ingest-acl")
    consumer.pump(5, until=lambda: consumer.client.is_connected())
    consumer.pump(0.5)
    pub = Publisher(device_endpoint(mine.device_id, mine.secret), "test-acl")
    pub.publish(topic_for("bell", other.device_id), json.dumps(payload()).encode())  # not its own
    pub.publish(topic_for("bell", mine.device_id), json.dumps(payload()).encode())
    assert pub.drain()
    pub.close()
    assert consumer.pump(10, until=lambda: consumer.stored >= 1)
    consumer.pump(1)
    assert not Incident.objects.filter(device=other).exists()
    assert Incident.objects.filter(device=mine).count() == 1 and consumer.stored == 1


# --- a real kill ---------------------------------------------------------------------------------
def _database_url(tmp_path) -> tuple[str, callable]:
    """A URL a child process can use for this test's (committed) data, and a row counter."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        path = tmp_path / "ingest.sqlite3"
        target = sqlite3.connect(path)
        connection.ensure_connection()
        connection.connection.backup(target)
        target.close()

        def count(sql: str) -> int:
            with sqlite3.connect(path, timeout=20) as db:
                return db.execute(sql).fetchone()[0] or 0

        return f"spatialite:///{path}", count
    url = f"postgis://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"

    def count(sql: str) -> int:
        with connection.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0] or 0

    return url, count


def _ingest(url: str, port: int, log) -> subprocess.Popen:
    env = {**os.environ, "GWANJE_DATABASE_URL": url, "GWANJE_MQTT_PORT": str(port), "GWANJE_MQTT_URL": ""}
    return subprocess.Popen(
        [sys.executable, "-m", "gwanje.cli", "ingest"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,  # and with the test run, should it be killed
    )


@pytest.fixture
def ingest_children(tmp_path):
    """Start `gwanje ingest` children; whatever a failing test leaves running is killed."""
    children, log = [], open(tmp_path / "ingest.log", "ab")  # noqa: SIM115

    def start(url: str, port: int) -> subprocess.Popen:
        children.append(_ingest(url, port, log))
        return children[-1]

    yield start
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    log.close()


@pytest.mark.django_db(transaction=True)
def test_killing_the_consumer_mid_burst_loses_and_doubles_nothing(
    broker, seongdong, tmp_path, ingest_children
):
    devices = bells(10)
    broker.sync_accounts()
    url, count = _database_url(tmp_path)
    child = ingest_children(url, broker.port)
    rows = "SELECT COUNT(*) FROM situations_rawmessage"
    deadline = time.monotonic() + 60
    # the consumer's persistent session must exist before the burst
    while "connected" not in (tmp_path / "ingest.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    per_device, total = 200, 0
    publishers = [Publisher(device_endpoint(d.device_id, d.secret), f"burst-{d.pk}") for d in devices]
    for i in range(per_device):
        for d, pub in zip(devices, publishers, strict=True):
            body = {"message_id": f"burst-{i}", "ts": timezone.now().isoformat()}
            pub.publish(topic_for("bell", d.device_id), json.dumps(body).encode())
            total += 1
    for pub in publishers:
        assert pub.drain(60)  # the broker has every message; the consumer works through them
        pub.close()
    deadline = time.monotonic() + 60
    while count(rows) < 300 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(child.pid, signal.SIGKILL)  # mid-burst, no chance to finish anything
    child.wait()
    stored_at_kill = count(rows)
    assert stored_at_kill < total
    child = ingest_children(url, broker.port)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (
            count(rows) == total
            and count("SELECT COUNT(*) FROM situations_rawmessage WHERE state='pending'") == 0
        ):
            break
        time.sleep(0.5)
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 0
    assert count(rows) == total
    assert count("SELECT COUNT(*) FROM situations_rawmessage WHERE state='done'") == total
    assert count("SELECT COUNT(*) FROM situations_deadletter") == 0
    # every press counted exactly once in the incidents it joined
    assert count("SELECT SUM(event_count) FROM situations_incident WHERE kind='bell'") == total


@pytest.mark.django_db(transaction=True)
def test_a_database_error_leaves_the_message_unacknowledged(broker, seongdong, monkeypatch):
    """Not stored, not acknowledged: the consumer drops the connection and the broker sends the
    message again after the reconnect."""
    from django.db import OperationalError

    from gwanje.situations.services import intake

    real, calls = intake.receive, []

    def database_down_once(**kwargs):
        calls.append(kwargs["topic"])
        if len(calls) == 1:
            raise OperationalError("could not connect to server")
        return real(**kwargs)

    monkeypatch.setattr(intake, "receive", database_down_once)
    bell = bells(1)[0]
    broker.sync_accounts()
    consumer = Consumer(client_id="test-ingest-dberror")
    assert consumer.pump(5, until=lambda: consumer.client.is_connected())
    consumer.pump(0.5)
    pub = Publisher(device_endpoint(bell.device_id, bell.secret), "test-dberror")
    pub.publish(topic_for("bell", bell.device_id), json.dumps(payload()).encode())
    assert pub.drain()
    pub.close()
    assert consumer.pump(5, until=lambda: consumer.failed == 1)
    assert not consumer.client.is_connected() and not RawMessage.objects.exists()
    for _ in range(5):  # let paho write what it queued (an acknowledgement would go out now)
        consumer.client.loop(timeout=0.05)
    # the next pump reconnects with the same persistent session: the broker sends it again
    assert consumer.pump(10, until=lambda: consumer.stored == 1)
    assert len(calls) == 2 and RawMessage.objects.count() == 1
    assert Incident.objects.get(device=bell).event_count == 1


def test_a_message_that_trips_a_bug_is_dead_lettered_and_the_consumer_goes_on(broker, monkeypatch):
    from gwanje.situations.services import intake

    real = intake.receive

    def buggy(**kwargs):
        if b"trip" in kwargs["payload"]:
            raise KeyError("a bug")
        return real(**kwargs)

    monkeypatch.setattr(intake, "receive", buggy)
    bell = bells(1)[0]
    consumer = Consumer(client_id="test-ingest-bug")
    assert consumer.pump(5, until=lambda: consumer.client.is_connected())
    consumer.pump(0.5)
    pub = Publisher(device_endpoint(bell.device_id, bell.secret), "test-bug")
    pub.publish(topic_for("bell", bell.device_id), json.dumps(payload(note="trip")).encode())
    pub.publish(topic_for("bell", bell.device_id), json.dumps(payload()).encode())
    assert pub.drain()
    pub.close()
    assert consumer.pump(10, until=lambda: consumer.dead + consumer.stored >= 2)
    letter = DeadLetter.objects.get(reason="error")
    assert "KeyError" in letter.detail and "trip" in letter.payload
    assert Incident.objects.filter(device=bell).count() == 1


def test_simulated_events_are_valid_and_become_incidents(broker):
    from django.core.management import call_command

    from gwanje.situations.schemas import validate
    from gwanje.situations.simulate import EventSource, demo_devices

    devices, _secrets = demo_devices()
    source = EventSource(devices, seed=7)
    for _ in range(200):
        kind, device_id, body = source.next(timezone.now())
        validate(kind, body)
        assert device_id in {d[0] for d in devices[kind]}
    consumer = Consumer(client_id="test-ingest-sim")
    consumer.pump(5, until=lambda: consumer.client.is_connected())
    consumer.pump(0.5)
    call_command("simulate-events", rate=500, count=40, seed=3)
    assert consumer.pump(20, until=lambda: consumer.stored >= 40)
    assert DeadLetter.objects.count() == 0
    kinds = set(Incident.objects.values_list("kind", flat=True))
    assert kinds <= {"bell", "sos", "analytics", "plate"} and len(kinds) >= 3
    sos = Incident.objects.filter(kind="sos").first()
    assert sos is None or sos.positions.count() >= 1


def test_simulate_events_refuses_bad_arguments():
    from django.core.management import CommandError, call_command

    for kwargs in ({"rate": 0}, {"kinds": "weather"}, {"count": -1}):
        with pytest.raises(CommandError):
            call_command("simulate-events", **kwargs)
