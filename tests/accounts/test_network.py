"""IP allow-list per role: a user may sign in and work only from an address inside one of the
networks of each of their roles that has a policy; enforced at sign-in and on every request;
policies edited in the back office, with their history."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from gwanje.accounts import security, services
from gwanje.accounts.models import RoleNetworkPolicy, User, parse_cidrs
from gwanje.accounts.roles import Role
from tests.accounts.conftest import changes, english, logins, post_login
from tests.conftest import sign_in_session

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _messages_in_english():
    """Messages are compared in English (the Korean catalogue is checked by test_translations)."""
    with translation.override("en"):
        yield


POLICIES = "/admin/accounts/rolenetworkpolicy/"


def policy(role: str, cidrs: str, actor=None) -> RoleNetworkPolicy:
    return services.save_network_policy(RoleNetworkPolicy(role=role, cidrs=cidrs), actor=actor)


def test_parse_cidrs():
    text = "10.20.0.0/16\n\n# the center\n192.168.7.5  # one host\n2001:db8::/32\n"
    assert [str(n) for n in parse_cidrs(text)] == ["10.20.0.0/16", "192.168.7.5/32", "2001:db8::/32"]
    with pytest.raises(ValidationError) as err:
        parse_cidrs("10.20.0.0/16\n10.1.2.3/16\nnot-an-ip\n")
    assert err.value.messages == [
        "Line 2: 10.1.2.3/16 has host bits set; did you mean 10.1.0.0/16?",
        "Line 3: not-an-ip is not an IP network (write e.g. 10.20.0.0/16).",
    ]


def test_a_policy_needs_at_least_one_network():
    with pytest.raises(ValidationError) as err:
        policy(Role.CONTRACTOR, "# nothing\n")
    assert "Enter at least one network" in err.value.messages[0]


def test_ip_allowed_needs_every_restricted_role(make_user):
    user = make_user(Role.MONITORING_AGENT)
    assert security.ip_allowed(user, "8.8.8.8")  # no policy: no restriction
    policy(Role.MONITORING_AGENT, "10.20.0.0/16")
    assert security.ip_allowed(user, "10.20.3.4")
    assert not security.ip_allowed(user, "10.21.0.1")
    assert not security.ip_allowed(user, None)
    services.save_account(user, roles=[Role.MONITORING_AGENT, Role.SUPERVISOR], actor=None)
    policy(Role.SUPERVISOR, "10.20.5.0/24")
    assert security.ip_allowed(user, "10.20.5.9")  # inside both
    assert not security.ip_allowed(user, "10.20.3.4")  # inside one only


def test_login_from_outside_the_networks_is_refused(contractor):
    policy(Role.CONTRACTOR, "10.50.0.0/16")
    c = english(REMOTE_ADDR="203.0.113.9")
    r = post_login(c, contractor)
    assert r.status_code == 200
    assert "Signing in to this account is not allowed from this network." in r.content.decode()
    assert c.get("/").status_code == 302
    event = logins(contractor).get()
    assert (event.success, event.reason, event.ip) == (False, "ip_not_allowed", "203.0.113.9")
    # not counted towards the lock (nobody outside can lock the account out) ...
    assert User.objects.get(pk=contractor.pk).failed_logins == 0
    # ... and the password is not even checked: a wrong one gets the same answer
    r = post_login(c, contractor, "Wrong-pass-999")
    assert "not allowed from this network" in r.content.decode()
    inside = english(REMOTE_ADDR="10.50.1.2")
    assert post_login(inside, contractor)["Location"] == "/"
    assert inside.get("/").status_code == 200


def test_mid_session_change_of_address_logs_out(contractor):
    policy(Role.CONTRACTOR, "10.50.0.0/16")
    c = english(REMOTE_ADDR="10.50.1.2")
    post_login(c, contractor)
    assert c.get("/").status_code == 200
    c.defaults["REMOTE_ADDR"] = "10.99.0.1"
    r = c.get("/registry/cameras/")
    assert r.status_code == 403
    assert "may not be used from this network (10.99.0.1)" in r.content.decode()
    c.defaults["REMOTE_ADDR"] = "10.50.1.2"
    assert c.get("/").status_code == 302  # logged out: back to the login page
    assert logins(contractor).last().reason == "ip_not_allowed"


def test_mid_session_api_gets_json_403(agent):
    c = sign_in_session(english(REMOTE_ADDR="10.50.1.2"), agent)
    assert c.get("/api/v1/cameras/", {"page_size": 1}).status_code == 200
    policy(Role.MONITORING_AGENT, "192.168.0.0/24")  # a new policy applies at once
    r = c.get("/api/v1/cameras/", {"page_size": 1})
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "ip_not_allowed"
    assert c.get("/api/v1/cameras/", {"page_size": 1}).status_code == 401  # logged out


def test_a_role_without_a_policy_is_free(contractor, make_user):
    policy(Role.SYSTEM_ADMIN, "10.0.0.0/8")
    c = english(REMOTE_ADDR="198.51.100.7")
    assert post_login(c, contractor)["Location"] == "/"


def test_policies_in_the_back_office_with_history(client_for, it_admin, contractor):
    admin = client_for(it_admin)
    admin.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    r = admin.post(f"{POLICIES}add/", {"role": Role.CONTRACTOR, "cidrs": "10.1.2.3/16", "note": ""})
    assert r.status_code == 200 and "did you mean 10.1.0.0/16?" in r.content.decode()
    r = admin.post(
        f"{POLICIES}add/", {"role": Role.CONTRACTOR, "cidrs": "10.1.0.0/16\n10.2.0.0/16", "note": "center"}
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    saved = RoleNetworkPolicy.objects.get(role=Role.CONTRACTOR)
    record = changes(action="network_policy_changed").get()
    assert record.actor_id == it_admin.pk and record.target == "role:contractor"
    assert json.loads(record.before)["cidrs"] is None
    assert json.loads(record.after)["cidrs"] == ["10.1.0.0/16", "10.2.0.0/16"]
    r = admin.post(
        f"{POLICIES}{saved.pk}/change/", {"role": Role.CONTRACTOR, "cidrs": "10.1.0.0/16", "note": "center"}
    )
    assert r.status_code == 302
    last = changes(action="network_policy_changed").last()
    assert json.loads(last.before)["cidrs"] == ["10.1.0.0/16", "10.2.0.0/16"]
    assert json.loads(last.after)["cidrs"] == ["10.1.0.0/16"]
    assert "10.1.0.0/16" in admin.get(POLICIES).content.decode()
    r = admin.post(f"{POLICIES}{saved.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302 and not RoleNetworkPolicy.objects.exists()
    last = changes(action="network_policy_changed").last()
    assert json.loads(last.after)["cidrs"] is None
    assert changes(action="network_policy_changed").count() == 3


def test_an_administrator_cannot_shut_themselves_out(client_for, it_admin):
    admin = client_for(it_admin)
    admin.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    r = admin.post(f"{POLICIES}add/", {"role": Role.IT_ADMIN, "cidrs": "10.9.0.0/16", "note": ""})
    assert r.status_code == 200 and "saving would log you out" in r.content.decode()
    r = admin.post(f"{POLICIES}add/", {"role": Role.IT_ADMIN, "cidrs": "127.0.0.0/8", "note": ""})
    assert r.status_code == 302


def test_only_account_managers_edit_policies(client_for, make_user):
    supervisor = make_user(Role.SUPERVISOR)  # accounts.view, no admin.access
    assert client_for(supervisor).get(POLICIES).status_code == 302
