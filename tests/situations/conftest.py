"""A real private Mosquitto per test (our generated config, password file and ACL) on a free port."""

from __future__ import annotations

import pytest

from gwanje.situations.mqtt import broker as broker_module
from gwanje.video.simulator.process import free_port, terminate


class BrokerHandle:
    def __init__(self, proc, port: int, directory):
        self.proc, self.port, self.directory = proc, port, directory

    def sync_accounts(self) -> None:
        """Rewrite the password file from the devices and make the broker re-read it."""
        broker_module.write_passwords(self.directory)
        broker_module.reload(self.proc)
        import time

        time.sleep(0.3)


@pytest.fixture
def broker(settings, tmp_path, db):
    port = free_port()
    settings.MQTT_URL, settings.MQTT_PORT = "", port
    directory = tmp_path / "mqtt"
    directory.mkdir()
    proc = broker_module.start(port, directory, log_path=tmp_path / "mosquitto.log")
    yield BrokerHandle(proc, port, directory)
    terminate(proc, timeout=5)
