"""The roles of the control center (seeded as auth groups named by code)."""

from django.utils.translation import gettext_lazy as _

from gwanje.core.choices import ChoiceSet


class Role(ChoiceSet):
    MONITORING_AGENT = "monitoring_agent"
    SUPERVISOR = "supervisor"
    IT_ADMIN = "it_admin"
    DEPARTMENT_MANAGER = "department_manager"
    POLICE_STATIONED = "police_stationed"
    POLICE_112 = "police_112"
    POLICE_INVESTIGATOR = "police_investigator"
    CONTRACTOR = "contractor"
    SYSTEM_ADMIN = "system_admin"

    CHOICES = [
        (MONITORING_AGENT, _("Monitoring agent"), "#1e88e5"),
        (SUPERVISOR, _("Control-center supervisor"), "#3949ab"),
        (IT_ADMIN, _("IT administrator"), "#00897b"),
        (DEPARTMENT_MANAGER, _("Department CCTV manager"), "#7cb342"),
        (POLICE_STATIONED, _("Stationed police officer"), "#0d47a1"),
        (POLICE_112, _("Police 112 situation-room officer"), "#283593"),
        (POLICE_INVESTIGATOR, _("Police investigator"), "#4527a0"),
        (CONTRACTOR, _("Maintenance contractor"), "#6d4c41"),
        (SYSTEM_ADMIN, _("System administrator"), "#c62828"),
    ]

    POLICE = frozenset({POLICE_STATIONED, POLICE_112, POLICE_INVESTIGATOR})
