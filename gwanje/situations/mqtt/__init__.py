"""MQTT for situations: the private Mosquitto broker (broker.py), client connections (client.py),
the ingest consumer (consumer.py) and the consoles' wake-up subscriber (wakeups.py)."""
