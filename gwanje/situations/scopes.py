"""Row scope of incidents for the permission choke point: maintenance contractors see only the
incidents the duty matrix routes to maintenance staff (bells by day, camera faults); every other
role that may view incidents sees them all (Art. 9⑤: the police see the same map)."""

from django.db.models import Q

from gwanje.accounts.roles import Role
from gwanje.core import permissions
from gwanje.situations.choices import Party

_UNSCOPED = frozenset(Role.values()) - {Role.CONTRACTOR}


def is_maintenance_only(user) -> bool:
    return not user.is_superuser and not (permissions.roles_of(user) & _UNSCOPED)


def _incident_scope(user, action, qs):
    if is_maintenance_only(user):
        return qs.filter(Q(first_party=Party.MAINTENANCE) | Q(responder_party=Party.MAINTENANCE))
    return qs


def register() -> None:
    from gwanje.situations.models import Incident

    permissions.register_scope(Incident, _incident_scope)
