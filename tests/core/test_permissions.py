from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from gwanje.accounts.roles import Role
from gwanje.core import permissions
from gwanje.registry.models import Camera, Site

pytestmark = pytest.mark.django_db


def test_deny_by_default_for_anonymous_and_roleless(make_user, seongdong):
    assert not permissions.allowed(AnonymousUser(), "registry.view")
    assert permissions.restrict(AnonymousUser(), "registry.view", Camera.objects.all()).count() == 0
    from gwanje.accounts import services
    from gwanje.accounts.models import Organisation

    nobody = services.create_user(
        username="norole", organisation=Organisation.objects.get(code="seongdong-it"), roles=[]
    )
    assert not permissions.allowed(nobody, "registry.view")


def test_unknown_action_is_a_programming_error(agent):
    with pytest.raises(ValueError):
        permissions.allowed(agent, "registry.veiw")


def test_agent_views_but_cannot_change(agent):
    assert permissions.allowed(agent, "registry.view")
    assert not permissions.allowed(agent, "registry.change")
    assert not permissions.allowed(agent, "admin.access")
    assert permissions.restrict(agent, "registry.view", Camera.objects.all()).count() == 1069


def test_department_manager_is_scoped_to_own_department(parks_manager):
    cams = permissions.restrict(parks_manager, "registry.view", Camera.objects.all())
    sites = permissions.restrict(parks_manager, "registry.change", Site.objects.all())
    assert cams.count() == 43 and sites.count() == 34
    assert set(sites.values_list("department__name", flat=True)) == {"공원녹지과"}
    assert permissions.restrict(parks_manager, "registry.delete", Camera.objects.all()).count() == 0


def test_inactive_user_is_denied(agent):
    agent.is_active = False
    assert not permissions.allowed(agent, "registry.view")


def test_every_role_has_a_row_and_police_cannot_change(make_user):
    for role in Role.POLICE:
        user = make_user(role)
        assert permissions.allowed(user, "registry.view")
        assert not permissions.allowed(user, "registry.change")


def test_permissions_doc_is_generated_from_the_matrix():
    doc = Path(settings.BASE_DIR, "docs", "permissions.md").read_text(encoding="utf-8")
    assert doc == permissions.matrix_markdown(), (
        "run `gwanje permissions-matrix` to regenerate docs/permissions.md"
    )
