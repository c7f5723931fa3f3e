from django.utils.translation import gettext_lazy as _

from gwanje.core.choices import ChoiceSet


class AccessAction(ChoiceSet):
    """What was done with personal information (접속기록: 수행업무)."""

    VIEW = "view"
    SEARCH = "search"
    EXPORT = "export"
    DOWNLOAD = "download"
    PRINT = "print"
    DELETE = "delete"
    GRANT = "grant"

    CHOICES = [
        (VIEW, _("View"), "#1e88e5"),
        (SEARCH, _("Search"), "#00897b"),
        (EXPORT, _("Export"), "#ef6c00"),
        (DOWNLOAD, _("Download"), "#f4511e"),
        (PRINT, _("Print"), "#8e24aa"),
        (DELETE, _("Delete"), "#c62828"),
        (GRANT, _("Grant"), "#3949ab"),
    ]

    # Actions that take personal information out of the system (flagged in the monthly review).
    OUTBOUND = frozenset({EXPORT, DOWNLOAD, PRINT})


class AccessResult(ChoiceSet):
    ALLOWED = "allowed"
    DENIED = "denied"

    CHOICES = [
        (ALLOWED, _("Allowed"), "#43a047"),
        (DENIED, _("Denied"), "#e53935"),
    ]


class ChangeAction(ChoiceSet):
    """Permission-change history (권한 변경 이력)."""

    ACCOUNT_CREATED = "account_created"
    ACCOUNT_CHANGED = "account_changed"
    ROLES_CHANGED = "roles_changed"
    ACTIVATED = "activated"
    DEACTIVATED = "deactivated"
    LOCKED = "locked"
    UNLOCKED = "unlocked"
    PASSWORD_SET = "password_set"  # noqa: S105 - an action code
    MFA_ENROLLED = "mfa_enrolled"
    MFA_RESET = "mfa_reset"
    GRANT_CREATED = "grant_created"
    GRANT_REVOKED = "grant_revoked"
    GRANT_EXPIRED = "grant_expired"
    NETWORK_POLICY_CHANGED = "network_policy_changed"
    DUTY_CHANGED = "duty_changed"  # the division of duties decides who may act on incidents
    # Written by `gwanje audit purge` before it deletes the oldest part of this history.
    HISTORY_PURGED = "history_purged"

    CHOICES = [
        (ACCOUNT_CREATED, _("Account created"), "#43a047"),
        (ACCOUNT_CHANGED, _("Account changed"), "#1e88e5"),
        (ROLES_CHANGED, _("Roles changed"), "#3949ab"),
        (ACTIVATED, _("Activated"), "#2e7d32"),
        (DEACTIVATED, _("Deactivated"), "#757575"),
        (LOCKED, _("Locked"), "#e53935"),
        (UNLOCKED, _("Unlocked"), "#7cb342"),
        (PASSWORD_SET, _("Password set"), "#00897b"),
        (MFA_ENROLLED, _("Second factor enrolled"), "#00acc1"),
        (MFA_RESET, _("Second factor reset"), "#f4511e"),
        (GRANT_CREATED, _("Video grant created"), "#5e35b1"),
        (GRANT_REVOKED, _("Video grant revoked"), "#c62828"),
        (GRANT_EXPIRED, _("Video grant expired"), "#8d6e63"),
        (NETWORK_POLICY_CHANGED, _("Network policy changed"), "#ef6c00"),
        (DUTY_CHANGED, _("Division of duties changed"), "#6d4c41"),
        (HISTORY_PURGED, _("History purged (retention)"), "#424242"),
    ]


class LoginReason(ChoiceSet):
    """Why a sign-in succeeded or failed (LoginEvent.reason). Other codes are accepted too."""

    OK = "ok"
    BAD_PASSWORD = "bad_password"  # noqa: S105 - a reason code, not a password
    UNKNOWN_USER = "unknown_user"
    LOCKED = "locked"
    INACTIVE = "inactive"
    IP_NOT_ALLOWED = "ip_not_allowed"
    MFA_FAILED = "mfa_failed"
    LOGOUT = "logout"

    CHOICES = [
        (OK, _("Signed in"), "#43a047"),
        (BAD_PASSWORD, _("Wrong password"), "#e53935"),
        (UNKNOWN_USER, _("Unknown user name"), "#ef6c00"),
        (LOCKED, _("Account locked"), "#b71c1c"),
        (INACTIVE, _("Account disabled"), "#757575"),
        (IP_NOT_ALLOWED, _("Address not allowed"), "#6a1b9a"),
        (MFA_FAILED, _("Second factor failed"), "#d81b60"),
        (LOGOUT, _("Signed out"), "#546e7a"),
    ]


class Chain(ChoiceSet):
    ACCESS = "access"
    PERMISSION = "permission"

    CHOICES = [
        (ACCESS, _("Access log"), "#1e88e5"),
        (PERMISSION, _("Permission-change history"), "#3949ab"),
    ]


class FlagKind(ChoiceSet):
    """What the monthly review points out."""

    OUTBOUND = "outbound"
    NIGHT = "night"
    MANY_CAMERAS = "many_cameras"
    DENIED = "denied"
    POLICE_NO_GRANT = "police_no_grant"
    NEW_IP = "new_ip"

    CHOICES = [
        (OUTBOUND, _("Exports, downloads and prints"), "#ef6c00"),
        (NIGHT, _("Access at night (22:00–06:00)"), "#37474f"),
        (MANY_CAMERAS, _("Many cameras in a short time"), "#8e24aa"),
        (DENIED, _("Denied attempts"), "#e53935"),
        (POLICE_NO_GRANT, _("Police video access without a grant"), "#0d47a1"),
        (NEW_IP, _("Sign-in from a new address"), "#6d4c41"),
    ]
