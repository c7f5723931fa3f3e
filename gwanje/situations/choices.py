from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gwanje.core.choices import ChoiceSet


class IncidentStatus(ChoiceSet):
    """Minimal for now; the situations issue adds the full workflow (acknowledged, handed to police…)."""

    OPEN = "open"
    CLOSED = "closed"

    CHOICES = [
        (OPEN, pgettext_lazy("incident status", "Open"), "#d32f2f"),
        (CLOSED, _("Closed"), "#757575"),
    ]


class GrantState(ChoiceSet):
    """Derived, never stored: a grant's state follows its expiry, revocation and incident."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    INCIDENT_CLOSED = "incident_closed"

    CHOICES = [
        (ACTIVE, _("Active"), "#2e7d32"),
        (EXPIRED, _("Expired"), "#757575"),
        (REVOKED, _("Revoked"), "#d32f2f"),
        (INCIDENT_CLOSED, _("Incident closed"), "#616161"),
    ]
