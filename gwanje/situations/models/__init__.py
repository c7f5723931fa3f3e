from gwanje.situations.models.duty import DutyRule
from gwanje.situations.models.grants import DEFAULT_GRANT_HOURS, DEFAULT_GRANT_RADIUS_M, VideoGrant
from gwanje.situations.models.incidents import (
    ConsoleEvent,
    Escalation,
    Incident,
    IncidentImage,
    IncidentNote,
    IncidentPosition,
    IncidentTransition,
    YearCounter,
)
from gwanje.situations.models.intake import DeadLetter, Device, RawMessage

__all__ = [
    "DEFAULT_GRANT_HOURS",
    "DEFAULT_GRANT_RADIUS_M",
    "ConsoleEvent",
    "DeadLetter",
    "Device",
    "DutyRule",
    "Escalation",
    "Incident",
    "IncidentImage",
    "IncidentNote",
    "IncidentPosition",
    "IncidentTransition",
    "RawMessage",
    "VideoGrant",
    "YearCounter",
]
