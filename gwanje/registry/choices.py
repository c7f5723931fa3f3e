from django.utils.translation import gettext_lazy as _

from gwanje.core.choices import ChoiceSet


class Purpose(ChoiceSet):
    """설치목적 (Art. 2②). A secondary purpose is active only after a purpose-expansion record."""

    CRIME_PREVENTION = "crime_prevention"
    VEHICLE_CRIME = "vehicle_crime"
    ILLEGAL_PARKING = "illegal_parking"
    ILLEGAL_DUMPING = "illegal_dumping"
    FACILITY = "facility"
    DISASTER = "disaster"
    CHILD_PROTECTION = "child_protection"
    TRAFFIC_INFO = "traffic_info"

    CHOICES = [
        (CRIME_PREVENTION, _("Crime prevention (incl. plate collection)"), "#1565c0"),
        (VEHICLE_CRIME, _("Vehicle crime prevention"), "#283593"),
        (ILLEGAL_PARKING, _("Illegal parking (incl. green parking)"), "#ef6c00"),
        (ILLEGAL_DUMPING, _("Illegal dumping"), "#6d4c41"),
        (FACILITY, _("Facility management (incl. parks, bicycle storage)"), "#2e7d32"),
        (DISASTER, _("Disaster"), "#c62828"),
        (CHILD_PROTECTION, _("Child protection"), "#f9a825"),
        (TRAFFIC_INFO, _("Traffic information"), "#00838f"),
    ]


class CameraKind(ChoiceSet):
    FIXED = "fixed"
    PTZ = "ptz"
    UNKNOWN = "unknown"

    CHOICES = [
        (FIXED, _("Fixed"), "#546e7a"),
        (PTZ, _("PTZ (rotating)"), "#5e35b1"),
        (UNKNOWN, _("Unknown"), "#9e9e9e"),
    ]


class CameraStatus(ChoiceSet):
    ONLINE = "online"
    OFFLINE = "offline"
    FAULT = "fault"
    RETIRED = "retired"

    CHOICES = [
        (ONLINE, _("Online"), "#2e7d32"),
        (OFFLINE, _("Offline"), "#757575"),
        (FAULT, _("Fault"), "#d32f2f"),
        (RETIRED, _("Retired"), "#212121"),
    ]


class Owner(ChoiceSet):
    """Art. 5: the district owns the CCTV except what the police installed."""

    DISTRICT = "district"
    POLICE = "police"

    CHOICES = [
        (DISTRICT, _("District"), "#00695c"),
        (POLICE, _("Police"), "#0d47a1"),
    ]


class ExpansionProcedure(ChoiceSet):
    """목적 확대 절차."""

    ADMIN_NOTICE = "admin_notice"
    BRIEFING = "briefing"
    HEARING = "hearing"
    PUBLIC_HEARING = "public_hearing"
    OTHER = "other"

    CHOICES = [
        (ADMIN_NOTICE, _("Administrative pre-announcement (행정예고)"), "#1565c0"),
        (BRIEFING, _("Residents' briefing (설명회)"), "#2e7d32"),
        (HEARING, _("Hearing of opinions (의견청취)"), "#ef6c00"),
        (PUBLIC_HEARING, _("Public hearing (공청회)"), "#6a1b9a"),
        (OTHER, _("Other"), "#757575"),
    ]


class DatePrecision(ChoiceSet):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"

    CHOICES = [
        (DAY, _("Day"), "#9e9e9e"),
        (MONTH, _("Month"), "#9e9e9e"),
        (YEAR, _("Year"), "#9e9e9e"),
    ]


class Source(ChoiceSet):
    MANUAL = "manual"
    DEPLOYMENT = "deployment"
    STANDARD = "standard"
    SEOUL_ANSIM = "seoul-ansim"

    CHOICES = [
        (MANUAL, _("Entered by hand"), "#9e9e9e"),
        (DEPLOYMENT, _("Default deployment"), "#9e9e9e"),
        (STANDARD, _("National standard data (전국CCTV표준데이터)"), "#9e9e9e"),
        (SEOUL_ANSIM, _("Seoul 안심이 list"), "#9e9e9e"),
    ]
