"""Row scopes of the registry for the permission choke point."""

from gwanje.core import permissions


def _camera_scope(user, action, qs):
    if permissions.is_scoped_to_department(user):
        return qs.filter(site__department_id=user.organisation_id)
    return qs


def _site_scope(user, action, qs):
    if permissions.is_scoped_to_department(user):
        return qs.filter(department_id=user.organisation_id)
    return qs


def register() -> None:
    from gwanje.registry.models import Camera, Site

    permissions.register_scope(Camera, _camera_scope)
    permissions.register_scope(Site, _site_scope)
