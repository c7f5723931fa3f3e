from django.utils.translation import gettext_lazy as _

from gwanje.core.choices import ChoiceSet


class OrganisationKind(ChoiceSet):
    DISTRICT_OFFICE = "district_office"
    DEPARTMENT = "department"
    POLICE_STATION = "police_station"
    POLICE_UNIT = "police_unit"
    CONTRACTOR = "contractor"
    OTHER = "other"

    CHOICES = [
        (DISTRICT_OFFICE, _("District office"), "#00695c"),
        (DEPARTMENT, _("District department"), "#26a69a"),
        (POLICE_STATION, _("Police station"), "#0d47a1"),
        (POLICE_UNIT, _("Police unit"), "#1976d2"),
        (CONTRACTOR, _("Maintenance contractor"), "#6d4c41"),
        (OTHER, _("Other"), "#757575"),
    ]

    POLICE = frozenset({POLICE_STATION, POLICE_UNIT})
