"""The private Mosquitto broker of the embedded default (`gwanje broker`, started by `gwanje run`
when GWANJE_MQTT_URL is unset): 127.0.0.1 only, no anonymous access, one account per device
(user = device id, password = its secret) plus the service accounts, an ACL that lets a device
publish only to its own topics, and persistence so the ingest consumer's queued messages survive a
broker restart. Files under $GWANJE_DATA_DIR/mqtt/ (0600: the password file holds hashes only;
Mosquitto's own `mosquitto_passwd -U` hashes it, PBKDF2-SHA512)."""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from django.conf import settings

from gwanje.situations.mqtt.client import SERVICE_ACCOUNTS, service_password

MOSQUITTO = os.environ.get("GWANJE_MOSQUITTO", "/usr/sbin/mosquitto")
MOSQUITTO_PASSWD = os.environ.get("GWANJE_MOSQUITTO_PASSWD", "/usr/bin/mosquitto_passwd")

ACL = """# written by gwanje: devices publish only to their own topics
user gwanje-ingest
topic read gwanje/v1/events/#
topic readwrite gwanje/v1/console/#

user gwanje-web
topic readwrite gwanje/v1/console/#

pattern write gwanje/v1/events/+/%u
"""


def broker_dir() -> Path:
    return Path(settings.DATA_DIR) / "mqtt"


def config_text(port: int, directory: Path) -> str:
    return "\n".join(
        [
            "# written by gwanje (gwanje/situations/mqtt/broker.py)",
            "per_listener_settings false",
            f"listener {port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {directory / 'passwd'}",
            f"acl_file {directory / 'acl'}",
            "persistence true",
            f"persistence_location {directory / 'data'}/",
            "autosave_interval 30",
            # the ingest consumer's persistent session keeps what arrives while it is down
            "max_queued_messages 1000000",
            "max_inflight_messages 100",
            "max_packet_size 1048576",
            # started as root, Mosquitto would drop to user "mosquitto", which cannot read our
            # private files: it runs as whoever runs Gwanje
            f"user {getpass.getuser()}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "connection_messages false",
            "",
        ]
    )


def accounts() -> list[tuple[str, str]]:
    """(user, password) of every account: active devices with a secret, and the services."""
    from gwanje.situations.models import Device

    rows = [(d.device_id, d.secret) for d in Device.objects.filter(is_active=True).exclude(secret="")]
    rows += [(name, service_password(name)) for name in SERVICE_ACCOUNTS]
    return rows


def write_files(port: int, directory: Path | None = None) -> Path:
    """Write config, ACL and the hashed password file; returns the config path."""
    directory = directory or broker_dir()
    (directory / "data").mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    (directory / "acl").write_text(ACL, encoding="utf-8")
    write_passwords(directory)
    conf = directory / "mosquitto.conf"
    conf.write_text(config_text(port, directory), encoding="utf-8")
    return conf


def write_passwords(directory: Path | None = None) -> None:
    """The password file from the Device table: written in plain text to a private temporary file,
    hashed in place by mosquitto_passwd -U, then moved over the old one."""
    directory = directory or broker_dir()
    fd, tmp = tempfile.mkstemp(prefix=".passwd-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for user, password in accounts():
                f.write(f"{user}:{password}\n")
        subprocess.run([MOSQUITTO_PASSWD, "-U", tmp], check=True, capture_output=True, timeout=120)
        os.chmod(tmp, 0o600)
        os.replace(tmp, directory / "passwd")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def start(port: int, directory: Path | None = None, *, log_path: Path | None = None) -> subprocess.Popen:
    """Start Mosquitto in its own session; waits until it accepts connections."""
    import socket

    from gwanje.video.simulator.process import _die_with_parent

    conf = write_files(port, directory)
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited with status {proc.returncode} (port {port} taken?)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"mosquitto did not listen on 127.0.0.1:{port}") from None
            time.sleep(0.05)


def reload(proc_or_pid) -> None:
    """Re-read the password file and ACL (SIGHUP)."""
    pid = getattr(proc_or_pid, "pid", proc_or_pid)
    os.kill(pid, signal.SIGHUP)


def pid_file(directory: Path | None = None) -> Path:
    return (directory or broker_dir()) / "broker.pid"


def running_pid(directory: Path | None = None) -> int | None:
    """The pid of the private broker of this data dir, when one runs: the pid file's process must
    still be Mosquitto with this directory's config (a stale file after a crash may name a pid the
    system has since given to another program, which must not get our SIGHUP)."""
    directory = directory or broker_dir()
    try:
        pid = int(pid_file(directory).read_text().strip())
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    conf = str(directory / "mosquitto.conf").encode()
    if argv and os.path.basename(argv[0]) == b"mosquitto" and conf in argv:
        return pid
    return None


def sync_if_running() -> None:
    """After devices changed: rewrite the password file of the private broker and make it re-read
    it, when one runs (its pid file exists). Never raises: the device change is already saved."""
    import logging

    if settings.MQTT_URL:
        return
    pid = running_pid()
    if pid is None:
        return
    try:
        write_passwords()
        reload(pid)
    except (OSError, ValueError, subprocess.SubprocessError):
        logging.getLogger(__name__).exception("could not sync the broker's accounts")
