"""API tokens (`Authorization: Token …`) are for integration accounts: a token request passes the
same lock and IP allow-list as a session, and an account whose roles require a second factor
cannot use a token at all (a token cannot give one)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from gwanje.accounts import services
from gwanje.accounts.models import RoleNetworkPolicy, User
from gwanje.accounts.roles import Role
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db

CAMERAS = "/api/v1/cameras/"
GRANTS = "/api/v1/grants/"


def token_client(user, **defaults) -> Client:
    key = services.issue_api_token(user)
    return Client(headers={"authorization": f"Token {key}", "accept-language": "en"}, **defaults)


def policy(role: str, cidrs: str) -> None:
    services.save_network_policy(RoleNetworkPolicy(role=role, cidrs=cidrs), actor=None)


def lock(user, minutes_ago: int = 1) -> None:
    User.objects.filter(pk=user.pk).update(
        locked_at=timezone.now() - dt.timedelta(minutes=minutes_ago), failed_logins=5
    )


def test_the_reported_case_is_refused(police_officer):
    """A locked police account with a role policy 10.99.0.0/16, from 203.0.113.9."""
    policy(Role.POLICE_STATIONED, "10.99.0.0/16")
    lock(police_officer)
    r = token_client(police_officer, REMOTE_ADDR="203.0.113.9").get(GRANTS)
    assert r.status_code in (401, 403)
    assert_error(r, r.status_code)


def test_an_integration_account_works(make_user):
    integration = make_user(Role.DEPARTMENT_MANAGER, org="seongdong-parks")
    policy(Role.DEPARTMENT_MANAGER, "10.99.0.0/16")
    r = token_client(integration, REMOTE_ADDR="10.99.3.4").get(CAMERAS, {"page_size": 1})
    assert r.status_code == 200 and r.json()["count"] == 43


def test_a_locked_account_is_refused(settings, parks_manager):
    c = token_client(parks_manager)
    assert c.get(CAMERAS, {"page_size": 1}).status_code == 200
    lock(parks_manager)
    r = c.get(CAMERAS, {"page_size": 1})
    errs = assert_error(r, 401)
    assert errs[0]["code"] == "account_locked"
    assert errs[0]["message"].startswith("This account is locked after 5 failed sign-in attempts.")
    assert r["WWW-Authenticate"].startswith("Token")
    settings.LOCKOUT_MINUTES = 0  # only an administrator unlocks
    lock(parks_manager, minutes_ago=60 * 24 * 30)
    assert_error(c.get(CAMERAS, {"page_size": 1}), 401)
    settings.LOCKOUT_MINUTES = 30  # a lock that ran out no longer refuses
    assert c.get(CAMERAS, {"page_size": 1}).status_code == 200
    services.unlock(parks_manager, actor=None)
    assert c.get(CAMERAS, {"page_size": 1}).status_code == 200


def test_an_address_outside_the_role_policies_is_refused(parks_manager):
    policy(Role.DEPARTMENT_MANAGER, "10.99.0.0/16")
    r = token_client(parks_manager, REMOTE_ADDR="203.0.113.9").get(CAMERAS, {"page_size": 1})
    errs = assert_error(r, 403)
    assert errs[0]["code"] == "ip_not_allowed" and "203.0.113.9" in errs[0]["message"]
    assert token_client(parks_manager, REMOTE_ADDR="10.99.0.1").get(CAMERAS).status_code == 200


@pytest.mark.parametrize("role", [Role.POLICE_STATIONED, Role.MONITORING_AGENT, Role.IT_ADMIN])
def test_accounts_that_require_a_second_factor_cannot_use_tokens(make_user, role):
    user = make_user(role)
    errs = assert_error(token_client(user).get(CAMERAS, {"page_size": 1}), 403)
    assert errs[0]["code"] == "token_not_allowed"
    assert "second factor" in errs[0]["message"]


def test_a_superuser_cannot_use_a_token(parks_manager):
    User.objects.filter(pk=parks_manager.pk).update(is_superuser=True)
    errs = assert_error(token_client(parks_manager).get(CAMERAS), 403)
    assert errs[0]["code"] == "token_not_allowed"


def test_a_role_that_requires_a_second_factor_given_later_ends_token_use(parks_manager):
    c = token_client(parks_manager)
    assert c.get(CAMERAS, {"page_size": 1}).status_code == 200
    services.save_account(parks_manager, roles=[Role.DEPARTMENT_MANAGER, Role.SUPERVISOR], actor=None)
    assert_error(c.get(CAMERAS, {"page_size": 1}), 403)


def test_the_token_command_warns_for_accounts_that_require_a_second_factor(agent, parks_manager):
    out, err = io.StringIO(), io.StringIO()
    call_command("create-api-token", agent.username, stdout=out, stderr=err)
    assert out.getvalue().strip() and "second factor" in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    call_command("create-api-token", parks_manager.username, stdout=out, stderr=err)
    assert out.getvalue().strip() and err.getvalue() == ""
