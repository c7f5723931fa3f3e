from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gwanje.core.choices import ChoiceSet


class IncidentKind(ChoiceSet):
    """What raised an incident (the situation kinds of Annex 2, plus faults and manual entry)."""

    BELL = "bell"
    SOS = "sos"
    ANALYTICS = "analytics"
    PLATE = "plate"
    FAULT = "fault"
    MANUAL = "manual"

    CHOICES = [
        (BELL, _("Emergency bell"), "#d32f2f"),
        (SOS, _("u-Seoul safety SOS"), "#c2185b"),
        (ANALYTICS, _("Video-analytics event"), "#f57c00"),
        (PLATE, _("Wanted-vehicle plate hit"), "#512da8"),
        (FAULT, _("Camera fault"), "#616161"),
        (MANUAL, _("Entered by hand"), "#1976d2"),
    ]
    # Kinds that devices send (topic gwanje/v1/events/<kind>/<device id>).
    DEVICE_KINDS = (BELL, SOS, ANALYTICS, PLATE, FAULT)


class IncidentStatus(ChoiceSet):
    """The incident workflow (docs/events.md draws it): every change is an IncidentTransition."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    HANDED_OVER = "handed_over"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"
    CLOSED = "closed"

    CHOICES = [
        (NEW, pgettext_lazy("incident status", "New"), "#d32f2f"),
        (ACKNOWLEDGED, _("Acknowledged"), "#f57c00"),
        (CONFIRMED, _("Confirmed"), "#fbc02d"),
        (DISMISSED, _("Dismissed (false alarm)"), "#9e9e9e"),
        (HANDED_OVER, _("Handed to police"), "#1565c0"),
        (DISPATCHED, _("Patrol dispatched"), "#6a1b9a"),
        (RESOLVED, _("Resolved"), "#2e7d32"),
        (CLOSED, pgettext_lazy("incident status", "Closed"), "#757575"),
    ]
    FINISHED = frozenset({DISMISSED, CLOSED})  # every other status is open (grants live, queue shows it)


class Party(ChoiceSet):
    """Who does a duty in Annex 2: the district's monitoring agents, the center's maintenance staff
    (first answer to bells by day), or the police (stationed officer, 112 situation room)."""

    DISTRICT = "district"
    MAINTENANCE = "maintenance"
    POLICE = "police"

    CHOICES = [
        (DISTRICT, _("Monitoring agents (district)"), "#1e88e5"),
        (MAINTENANCE, _("Maintenance staff"), "#6d4c41"),
        (POLICE, _("Police"), "#0d47a1"),
    ]


class Action(ChoiceSet):
    """What a user does to an incident; which party may, follows the duty matrix."""

    ACKNOWLEDGE = "acknowledge"
    CONFIRM = "confirm"
    DISMISS = "dismiss"
    HAND_OVER = "hand_over"
    DISPATCH = "dispatch"
    ARRIVE = "arrive"
    RESOLVE = "resolve"
    CLOSE = "close"

    CHOICES = [
        (ACKNOWLEDGE, _("Acknowledge"), "#f57c00"),
        (CONFIRM, _("Confirm"), "#fbc02d"),
        (DISMISS, _("Dismiss as false alarm"), "#9e9e9e"),
        (HAND_OVER, _("Hand to police"), "#1565c0"),
        (DISPATCH, _("Dispatch patrol"), "#6a1b9a"),
        (ARRIVE, _("Patrol arrived"), "#4527a0"),
        (RESOLVE, _("Resolve"), "#2e7d32"),
        (CLOSE, _("Close with result"), "#757575"),
    ]


class UtilisationResult(ChoiceSet):
    """CCTV utilisation result (agreement Art. 11②), entered when an incident is closed."""

    ARREST = "arrest"
    EVIDENCE = "evidence"
    PREVENTED = "prevented"
    RESCUE = "rescue"
    REFERRAL = "referral"
    FALSE_ALARM = "false_alarm"
    OTHER = "other"

    CHOICES = [
        (ARREST, _("Arrest"), "#b71c1c"),
        (EVIDENCE, _("Evidence secured"), "#4a148c"),
        (PREVENTED, _("Crime prevented"), "#1b5e20"),
        (RESCUE, _("Rescue or protection"), "#0277bd"),
        (REFERRAL, _("Referred to another agency"), "#ef6c00"),
        (FALSE_ALARM, _("False alarm"), "#9e9e9e"),
        (OTHER, _("Other"), "#616161"),
    ]


class SosCategory(ChoiceSet):
    CHILD = "child"
    ELDERLY = "elderly"
    WOMAN = "woman"
    OTHER = "other"

    CHOICES = [
        (CHILD, _("Child"), "#43a047"),
        (ELDERLY, _("Elderly person"), "#8d6e63"),
        (WOMAN, _("Woman"), "#d81b60"),
        (OTHER, _("Other"), "#757575"),
    ]


class AnalyticsRule(ChoiceSet):
    INTRUSION = "intrusion"
    LOITERING = "loitering"
    FALL = "fall"
    FIGHT = "fight"
    CROWD = "crowd"
    ABANDONED = "abandoned_object"

    CHOICES = [
        (INTRUSION, _("Intrusion"), "#e53935"),
        (LOITERING, _("Loitering"), "#fb8c00"),
        (FALL, _("Fall"), "#8e24aa"),
        (FIGHT, _("Fight"), "#c62828"),
        (CROWD, _("Crowd"), "#3949ab"),
        (ABANDONED, _("Abandoned object"), "#6d4c41"),
    ]


class Hotlist(ChoiceSet):
    WANTED = "wanted"
    STOLEN = "stolen"
    OTHER = "other"

    CHOICES = [
        (WANTED, _("Wanted vehicle"), "#b71c1c"),
        (STOLEN, _("Stolen vehicle"), "#4a148c"),
        (OTHER, _("Other hotlist"), "#616161"),
    ]


class Timer(ChoiceSet):
    """SLA timers of the duty matrix; an exceeded one raises an escalation."""

    ACKNOWLEDGE = "acknowledge"
    HAND_OVER = "hand_over"
    DISPATCH = "dispatch"

    CHOICES = [
        (ACKNOWLEDGE, _("Not acknowledged in time"), "#d32f2f"),
        (HAND_OVER, _("Not handed to police in time"), "#f57c00"),
        (DISPATCH, _("No patrol dispatched in time"), "#6a1b9a"),
    ]


class IntakeSource(ChoiceSet):
    MQTT = "mqtt"
    WEBHOOK = "webhook"
    RECORDER = "recorder"

    CHOICES = [
        (MQTT, "MQTT", "#00897b"),
        (WEBHOOK, _("Webhook"), "#3949ab"),
        (RECORDER, _("Recorder"), "#616161"),
    ]


class DeadReason(ChoiceSet):
    """Why an incoming message was not turned into an incident (the dead-letter table)."""

    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    BAD_TOPIC = "bad_topic"
    UNKNOWN_DEVICE = "unknown_device"
    WRONG_KIND = "wrong_kind"
    INVALID = "invalid"
    STALE = "stale"
    FUTURE = "future"
    UNKNOWN_CAMERA = "unknown_camera"
    BAD_SIGNATURE = "bad_signature"
    ERROR = "error"

    CHOICES = [
        (MALFORMED, _("Not JSON"), "#d32f2f"),
        (TOO_LARGE, _("Too large"), "#c2185b"),
        (BAD_TOPIC, _("Unknown topic"), "#7b1fa2"),
        (UNKNOWN_DEVICE, _("Unknown or inactive device"), "#512da8"),
        (WRONG_KIND, _("Device sent another kind of event"), "#303f9f"),
        (INVALID, _("Does not match the schema"), "#f57c00"),
        (STALE, _("Time too far in the past"), "#fbc02d"),
        (FUTURE, _("Time in the future"), "#fbc02d"),
        (UNKNOWN_CAMERA, _("Unknown camera"), "#5d4037"),
        (BAD_SIGNATURE, _("Bad or missing signature"), "#b71c1c"),
        (ERROR, _("Processing error"), "#424242"),
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
