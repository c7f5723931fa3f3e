"""The roles × actions matrix as users meet it: every role against every action through the choke
point, the rules the agreement and PIPA fix, and denied attempts on out-of-scope rows on record."""

from __future__ import annotations

import pytest

from gwanje.accounts.roles import Role
from gwanje.audit.models import AccessLog
from gwanje.core import permissions
from gwanje.registry.models import Camera

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", Role.values())
def test_each_role_is_allowed_exactly_its_row_of_the_matrix(make_user, role):
    user = make_user(role)
    allowed = {a for a in permissions.ACTIONS if permissions.allowed(user, a)}
    assert allowed == permissions.MATRIX[role]


def test_rules_the_agreement_and_pipa_fix():
    m = permissions.MATRIX
    police = Role.POLICE
    # Police never change the registry, manage accounts or read the access log.
    for role in police:
        assert not m[role] & {
            "registry.change",
            "registry.delete",
            "accounts.manage",
            "audit.view",
            "admin.access",
        }
    # Every police video action is grant-bound (Art. 9⑤).
    assert set(permissions.GRANT_BOUND_ROLES) == set(police)
    # Reviewing the log is separate from administering accounts.
    assert "audit.review" not in m[Role.IT_ADMIN] and "accounts.manage" not in m[Role.SUPERVISOR]
    # Contractors and department managers see no video.
    for role in (Role.CONTRACTOR, Role.DEPARTMENT_MANAGER):
        assert not m[role] & permissions.VIDEO_ACTIONS


def test_mfa_is_required_exactly_for_video_and_account_management(make_user):
    for role in Role.values():
        expected = bool(permissions.MATRIX[role] & permissions.MFA_ACTIONS)
        assert permissions.requires_mfa(make_user(role)) is expected, role


def test_another_departments_camera_is_not_found_and_the_attempt_is_logged(client_for, parks_manager):
    other = Camera.objects.exclude(site__department=parks_manager.organisation).first()
    c = client_for(parks_manager)
    assert c.get(f"/registry/cameras/{other.pk}/").status_code == 404
    assert c.get(f"/api/v1/cameras/{other.pk}/").status_code == 404
    assert (
        c.patch(f"/api/v1/cameras/{other.pk}/", {"notes": "x"}, content_type="application/json").status_code
        == 404
    )
    denied = AccessLog.objects.filter(
        username=parks_manager.username, result="denied", subject=f"camera:{other.pk}"
    )
    assert denied.count() == 3
    # A row that does not exist is just not found.
    assert c.get("/api/v1/cameras/999999999/").status_code == 404
    assert not AccessLog.objects.filter(subject="camera:999999999").exists()
