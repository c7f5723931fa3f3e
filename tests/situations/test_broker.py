"""The private Mosquitto and the MQTT plumbing around it: the generated files, the pid file that
account syncs signal, console wake-ups reaching the web process's subscriber, and a broker restart
losing none of the messages published while it was down (consumer offline too)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time

import pytest

from gwanje.situations.models import Device, Incident, RawMessage
from gwanje.situations.mqtt import broker as broker_module
from gwanje.situations.mqtt.client import CONSOLE_NOTIFY, Publisher, device_endpoint
from gwanje.situations.mqtt.consumer import Consumer
from gwanje.situations.mqtt.wakeups import ConsoleWakeups
from gwanje.situations.services import console
from gwanje.situations.services.intake import topic_for
from gwanje.video.simulator.process import terminate
from tests.situations.events import payload

pytestmark = pytest.mark.django_db


def wait_for(condition, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_the_files_are_private_and_hold_only_hashes(broker):
    bell = Device.objects.filter(kind="bell").first()
    passwd = (broker.directory / "passwd").read_text()
    assert f"{bell.device_id}:$7$" in passwd  # PBKDF2-SHA512, Mosquitto 2's format
    assert bell.secret not in passwd
    assert stat.S_IMODE(os.stat(broker.directory / "passwd").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(broker.directory).st_mode) == 0o700
    conf = (broker.directory / "mosquitto.conf").read_text()
    assert f"listener {broker.port} 127.0.0.1" in conf and "allow_anonymous false" in conf


def test_a_stale_pid_file_is_not_signalled(broker, settings, tmp_path):
    """After a crash the pid file may name a pid the system gave to another program since."""
    settings.DATA_DIR = str(tmp_path)
    directory = broker.directory
    broker_module.pid_file(directory).write_text(str(broker.proc.pid))
    assert broker_module.running_pid(directory) == broker.proc.pid
    other = subprocess.Popen(["sleep", "30"])
    try:
        broker_module.pid_file(directory).write_text(str(other.pid))
        assert broker_module.running_pid(directory) is None
        (tmp_path / "mqtt").mkdir(exist_ok=True)
        broker_module.pid_file().write_text(str(other.pid))
        broker_module.sync_if_running()  # would SIGHUP (and so end) `sleep`
        time.sleep(0.2)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_console_wake_ups_reach_the_web_subscriber_and_devices_cannot_fake_them(broker):
    consumer = Consumer(client_id="test-ingest-wakeups")
    assert consumer.pump(5, until=lambda: consumer.client.is_connected())
    got: list[int] = []
    wakeups = ConsoleWakeups(got.append)
    wakeups.start()
    try:
        assert wait_for(lambda: wakeups.client.is_connected())
        time.sleep(0.3)  # subscribed
        bell = Device.objects.filter(kind="bell").first()
        pub = Publisher(device_endpoint(bell.device_id, bell.secret), "test-fake-wakeup")
        pub.publish(CONSOLE_NOTIFY, b"999999")  # not its topic: the broker drops it
        assert pub.drain()
        pub.close()
        console.notify(4242)  # what a commit that wrote console events does
        consumer.pump(0.3)
        assert wait_for(lambda: got == [4242]), got
    finally:
        wakeups.stop()
        consumer.client.disconnect()


def test_a_broker_restart_loses_nothing_published_around_it(broker, tmp_path):
    """The consumer is offline; 5 presses wait in its persistent session, the broker restarts
    (persistence), 5 more presses are published while it is down (queued by the publisher and sent
    after its reconnect). The consumer then gets all 10."""
    bell = Device.objects.filter(kind="bell").first()
    consumer = Consumer(client_id="test-ingest-restart")

    assert consumer.pump(5, until=lambda: consumer.client.is_connected())
    consumer.pump(0.5)  # subscribed: the session exists
    consumer.client.disconnect()
    consumer.client.loop(0.2)  # (pump would connect again)
    pub = Publisher(device_endpoint(bell.device_id, bell.secret), "test-restart")
    restarted = None
    try:
        for _ in range(5):
            pub.publish(topic_for("bell", bell.device_id), json.dumps(payload()).encode())
        assert pub.drain()
        terminate(broker.proc, timeout=5)  # Mosquitto saves its persistence file on SIGTERM
        assert wait_for(lambda: not pub.client.is_connected())
        for _ in range(5):
            pub.publish(topic_for("bell", bell.device_id), json.dumps(payload()).encode())
        restarted = broker_module.start(broker.port, broker.directory, log_path=tmp_path / "again.log")
        assert pub.drain(20), "the queued presses were not sent after the reconnect"
        assert pub.acked == 10
        assert consumer.pump(10, until=lambda: consumer.stored == 10), consumer.stored
    finally:
        pub.close()
        consumer.client.disconnect()
        if restarted is not None:
            terminate(restarted, timeout=5)
    assert RawMessage.objects.filter(device_id=bell.device_id).count() == 10
    assert sum(Incident.objects.filter(device=bell).values_list("event_count", flat=True)) == 10


def test_the_broker_command_refuses_with_an_external_broker(settings):
    from django.core.management import CommandError, call_command

    settings.MQTT_URL = "mqtt://u:p@broker.example:1883"
    with pytest.raises(CommandError):
        call_command("broker")
