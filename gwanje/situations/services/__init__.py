"""All writes of the situations app, by sub-domain: `workflow` (incidents and their steps),
`intake` (device events), `console` (the consoles' feed), `grants` (Art. 9⑤ video grants).
The names most callers need are re-exported here."""

from gwanje.situations.services.grants import (
    LEGAL_BASIS,
    MAX_GRANT_HOURS,
    cameras_near,
    can_revoke,
    create_grant,
    revoke_grant,
    visible_grants,
)
from gwanje.situations.services.workflow import act, add_note, allowed_actions, close_incident, open_incident

__all__ = [
    "LEGAL_BASIS",
    "MAX_GRANT_HOURS",
    "act",
    "add_note",
    "allowed_actions",
    "can_revoke",
    "cameras_near",
    "close_incident",
    "create_grant",
    "open_incident",
    "revoke_grant",
    "visible_grants",
]
