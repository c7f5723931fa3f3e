"""Permission-change history of accounts (who, whom, what, before/after, when): creation, roles,
activation, superuser, passwords set by an administrator — through the back office, which saves
accounts only through gwanje.accounts.services."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Group

from gwanje.accounts import services
from gwanje.accounts.models import Organisation, User
from gwanje.accounts.roles import Role
from tests.accounts.conftest import changes
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"


def group(role: str) -> int:
    return Group.objects.get(name=role).pk


def change_form(user: User, **overrides) -> dict:
    """The back office's change form as submitted unchanged, with `overrides`."""
    data = {
        "username": user.username,
        "name": user.name,
        "organisation": user.organisation_id or "",
        "employee_number": user.employee_number,
        "phone": user.phone,
        "email": user.email,
        "groups": list(user.groups.values_list("pk", flat=True)),
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    for flag in ("is_active", "is_staff", "is_superuser"):
        if getattr(user, flag):
            data[flag] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin(client_for, it_admin):
    c = client_for(it_admin)
    c.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return c


def test_create_user_service_records_the_creation(seongdong, it_admin):
    org = Organisation.objects.get(code="seongdong-it")
    user = services.create_user(
        username="new-agent", organisation=org, roles=[Role.MONITORING_AGENT], name="새 요원", actor=it_admin
    )
    record = changes(user, "account_created").get()
    assert record.actor_id == it_admin.pk and record.subject_username == "new-agent"
    after = json.loads(record.after)
    assert after["roles"] == ["monitoring_agent"] and after["organisation"] == "seongdong-it"
    assert after["is_active"] is True and "phone" not in after and record.before == ""


def test_account_created_in_the_back_office(admin, it_admin, seongdong):
    org = Organisation.objects.get(code="seongdong-it")
    r = admin.post(
        f"{USERS}add/",
        {
            "username": "kim-operator",
            "name": "김운영",
            "organisation": org.pk,
            "groups": [group(Role.MONITORING_AGENT)],
            "usable_password": "true",
            "password1": "Seoul-Control-2026!",
            "password2": "Seoul-Control-2026!",
        },
    )
    assert r.status_code == 302, re.findall(r'<ul class="errorlist.*?</ul>', r.content.decode(), re.S)
    user = User.objects.get(username="kim-operator")
    assert user.role_codes == ["monitoring_agent"] and user.check_password("Seoul-Control-2026!")
    assert user.password_changed_at is not None
    record = changes(user).get()  # one record: the creation, roles included
    assert record.action == "account_created" and record.actor_id == it_admin.pk and record.ip == "127.0.0.1"
    assert json.loads(record.after)["roles"] == ["monitoring_agent"]


def test_the_back_office_applies_the_password_rules(admin, seongdong):
    org = Organisation.objects.get(code="seongdong-it")
    r = admin.post(
        f"{USERS}add/",
        {
            "username": "weak-one",
            "organisation": org.pk,
            "usable_password": "true",
            "password1": "weak-one-1",
            "password2": "weak-one-1",
        },
    )
    assert r.status_code == 200 and "must not contain the user name" in r.content.decode()
    assert not User.objects.filter(username="weak-one").exists()


def test_roles_changed_in_the_back_office(admin, it_admin, make_user):
    user = make_user(Role.MONITORING_AGENT)
    r = admin.post(
        f"{USERS}{user.pk}/change/",
        change_form(user, groups=[group(Role.MONITORING_AGENT), group(Role.SUPERVISOR)]),
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    assert User.objects.get(pk=user.pk).role_codes == ["monitoring_agent", "supervisor"]
    record = changes(user, "roles_changed").get()
    assert record.actor_id == it_admin.pk and record.actor_username == it_admin.username
    assert json.loads(record.before) == {"roles": ["monitoring_agent"]}
    assert json.loads(record.after) == {"roles": ["monitoring_agent", "supervisor"]}
    assert not changes(user).exclude(action__in=["account_created", "roles_changed"]).exists()


def test_an_unchanged_save_records_nothing(admin, make_user):
    user = make_user(Role.CONTRACTOR)
    before = changes(user).count()
    assert admin.post(f"{USERS}{user.pk}/change/", change_form(user)).status_code == 302
    assert changes(user).count() == before


def test_deactivation_and_other_fields(admin, make_user):
    user = make_user(Role.CONTRACTOR)
    other = Organisation.objects.get(code="seongdong-parks")
    form = change_form(user, organisation=other.pk, phone="010-1234-5678")
    form.pop("is_active")
    assert admin.post(f"{USERS}{user.pk}/change/", form).status_code == 302
    deactivated = changes(user, "deactivated").get()
    assert json.loads(deactivated.before) == {"is_active": True}
    assert json.loads(deactivated.after) == {"is_active": False}
    changed = changes(user, "account_changed").get()
    assert json.loads(changed.before) == {"organisation": "seongdong-maintenance"}
    after = json.loads(changed.after)
    assert after == {"organisation": "seongdong-parks", "changed_fields": ["phone"]}  # not the number itself
    user.refresh_from_db()
    assert admin.post(f"{USERS}{user.pk}/change/", change_form(user, is_active="on")).status_code == 302
    assert changes(user, "activated").count() == 1


def test_superuser_flag(client_for, make_user, it_admin):
    """Only a superuser grants superuser status; the change is recorded."""
    user = make_user(Role.CONTRACTOR)
    it = client_for(it_admin)
    assert it.post(f"{USERS}{user.pk}/change/", change_form(user, is_superuser="on")).status_code == 302
    assert not User.objects.get(pk=user.pk).is_superuser  # read-only for a non-superuser
    root = make_user(Role.SYSTEM_ADMIN)
    User.objects.filter(pk=root.pk).update(is_superuser=True)
    root = User.objects.get(pk=root.pk)
    c = client_for(root)
    assert c.post(f"{USERS}{user.pk}/change/", change_form(user, is_superuser="on")).status_code == 302
    assert User.objects.get(pk=user.pk).is_superuser
    record = changes(user, "account_changed").get()
    assert record.actor_id == root.pk
    assert json.loads(record.before) == {"is_superuser": False} and json.loads(record.after) == {
        "is_superuser": True
    }


def test_password_set_by_an_administrator(admin, it_admin, make_user):
    user = make_user(Role.CONTRACTOR)
    url = f"{USERS}{user.pk}/password/"
    r = admin.post(url, {"password1": "abc", "password2": "abc", "usable_password": "true"})
    assert r.status_code == 200 and "This password is too simple" in r.content.decode()
    r = admin.post(url, {"password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"})
    assert "must differ from your last 3 passwords" in r.content.decode()
    new = "Reset-by-admin-2026"
    r = admin.post(url, {"password1": new, "password2": new, "usable_password": "true"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert User.objects.get(pk=user.pk).check_password(new)
    record = changes(user, "password_set").get()
    assert record.actor_id == it_admin.pk and json.loads(record.after) == {"usable": True, "own": False}
    assert new not in record.after and new not in record.before


# --- roles are read-only and accounts are never deleted in the back office (review, finding 3) ---
ROLES = "/admin/auth/group/"


@pytest.fixture
def superuser_admin(client_for, make_user):
    root = make_user(Role.SYSTEM_ADMIN)
    User.objects.filter(pk=root.pk).update(is_superuser=True)
    c = client_for(User.objects.get(pk=root.pk))
    c.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return c


@pytest.mark.parametrize("who", ["admin", "superuser_admin"])
def test_roles_are_read_only_in_the_back_office(request, who, seongdong):
    c = request.getfixturevalue(who)
    role = Group.objects.get(name=Role.MONITORING_AGENT)
    permissions = set(role.permissions.values_list("pk", flat=True))
    assert c.get(ROLES).status_code == 200
    page = c.get(f"{ROLES}{role.pk}/change/")
    assert page.status_code == 200 and 'name="name"' not in page.content.decode()  # shown, not editable
    assert c.get(f"{ROLES}add/").status_code == 403
    r = c.post(f"{ROLES}add/", {"name": "new-role"})
    assert r.status_code == 403 and not Group.objects.filter(name="new-role").exists()
    r = c.post(f"{ROLES}{role.pk}/change/", {"name": Role.SYSTEM_ADMIN + "-x", "permissions": []})
    assert r.status_code == 403
    assert c.post(f"{ROLES}{role.pk}/delete/", {"post": "yes"}).status_code == 403
    r = c.post(ROLES, {"action": "delete_selected", "_selected_action": [role.pk], "post": "yes"})
    role.refresh_from_db()
    assert role.name == Role.MONITORING_AGENT
    assert set(role.permissions.values_list("pk", flat=True)) == permissions
    assert Group.objects.filter(name__in=Role.values()).count() == len(Role.values())


@pytest.mark.parametrize("who", ["admin", "superuser_admin"])
def test_accounts_cannot_be_deleted_in_the_back_office(request, who, make_user):
    c = request.getfixturevalue(who)
    user = make_user(Role.CONTRACTOR)
    assert c.get(f"{USERS}{user.pk}/delete/").status_code == 403
    assert c.post(f"{USERS}{user.pk}/delete/", {"post": "yes"}).status_code == 403
    listing = c.get(USERS).content.decode()
    assert 'value="delete_selected"' not in listing
    c.post(USERS, {"action": "delete_selected", "_selected_action": [user.pk], "post": "yes"})
    assert User.objects.filter(pk=user.pk).exists()
    change = c.get(f"{USERS}{user.pk}/change/").content.decode()
    assert f"{USERS}{user.pk}/delete/" not in change  # no delete link; deactivate instead
