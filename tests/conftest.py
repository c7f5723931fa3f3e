"""Shared fixtures. The Seongdong default deployment is loaded once into the test database, so
every non-transactional test starts from the real default data (524 sites, 1,069 cameras).
Transactional tests (live server, browser) get an emptied database and load what they need
with the `seongdong` fixture."""

from __future__ import annotations

import itertools
import time

import pytest
from django.test import Client

from gwanje import deployments
from gwanje.accounts import services as accounts
from gwanje.accounts.models import Organisation
from gwanje.accounts.roles import Role
from gwanje.situations.mqtt import broker as broker_module
from gwanje.video.simulator.process import free_port, terminate

PASSWORD = "Gwanje-test-pass-2026"  # noqa: S105
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        deployments.load("seongdong", log=lambda *a: None)


@pytest.fixture(autouse=True)
def _fresh_intake_caches():
    """The intake keeps devices and duty rules a few seconds per process; a test that empties and
    reloads the database must not see another test's rows."""
    from gwanje.situations.services.intake import forget_caches
    from gwanje.situations.services.workflow import forget_duty_rules

    forget_caches()
    forget_duty_rules()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Most tests make users with a password; PBKDF2 would cost ~0.4 s each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seongdong(db):
    """The Seongdong deployment (already there unless a transactional test emptied the db)."""
    if not deployments.is_loaded("seongdong"):
        deployments.load("seongdong", log=lambda *a: None)


ROLE_ORG = {
    Role.MONITORING_AGENT: "seongdong-it",
    Role.SUPERVISOR: "seongdong-it",
    Role.IT_ADMIN: "seongdong-it",
    Role.DEPARTMENT_MANAGER: "seongdong-parks",
    Role.POLICE_STATIONED: "seongdong-police",
    Role.POLICE_112: "seongdong-police-112",
    Role.POLICE_INVESTIGATOR: "seongdong-police",
    Role.CONTRACTOR: "seongdong-maintenance",
    Role.SYSTEM_ADMIN: "seongdong-it",
}


@pytest.fixture
def make_user(seongdong):
    def make(role: str, *, org: str | None = None, username: str | None = None):
        organisation = Organisation.objects.get(code=org or ROLE_ORG[role])
        return accounts.create_user(
            username=username or f"{role}{next(_counter)}",
            organisation=organisation,
            roles=[role],
            name=f"{Role.label(role)} 테스트",
            password=PASSWORD,
        )

    return make


@pytest.fixture
def agent(make_user):
    return make_user(Role.MONITORING_AGENT)


@pytest.fixture
def it_admin(make_user):
    return make_user(Role.IT_ADMIN)


@pytest.fixture
def parks_manager(make_user):
    """A department CCTV manager of 공원녹지과 (34 sites, 43 cameras)."""
    return make_user(Role.DEPARTMENT_MANAGER, org="seongdong-parks")


@pytest.fixture
def police_officer(make_user):
    return make_user(Role.POLICE_STATIONED)


def sign_in_session(client: Client, user) -> Client:
    """Log `user` in on a test client as a completed sign-in: `force_login`, the session clock
    started, and — for accounts that require a second factor — a confirmed TOTP device whose id
    is in the session as django-otp's `otp_device_id` (what the real code step stores), so the
    session counts as verified. The login form and the code step themselves are tested in
    tests/accounts/ and tests/browser/."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from gwanje.accounts.models import User
    from gwanje.accounts.security import start_session
    from gwanje.core.permissions import requires_mfa

    client.force_login(user)
    session = client.session
    start_session(session)
    fresh = User.objects.get(pk=user.pk)  # roles_of() caches on the instance: keep the test's clean
    if requires_mfa(fresh):
        device = TOTPDevice.objects.filter(user=fresh, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=fresh, name="test", confirmed=True)
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def client_for():
    """A test client signed in as the user (second factor done where required)."""

    def make(user) -> Client:
        return sign_in_session(Client(), user)

    return make


# --- a real private Mosquitto per test (our generated config, password file and ACL) -----------


class BrokerHandle:
    def __init__(self, proc, port: int, directory):
        self.proc, self.port, self.directory = proc, port, directory

    def sync_accounts(self) -> None:
        """Rewrite the password file from the devices and make the broker re-read it."""
        broker_module.write_passwords(self.directory)
        broker_module.reload(self.proc)
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
