from django.utils.translation import gettext_lazy as _

from gwanje.core.choices import ChoiceSet


class Stream(ChoiceSet):
    MAIN = "main"
    SUB = "sub"

    CHOICES = [
        (MAIN, _("Main stream"), "#1e88e5"),
        (SUB, _("Sub stream"), "#90caf9"),
    ]


class FaultReason(ChoiceSet):
    """Why a camera is not recorded (from the recorder's ffmpeg)."""

    CONNECTION_REFUSED = "connection_refused"
    NOT_FOUND = "not_found"
    AUTH_FAILURE = "auth_failure"
    TIMEOUT = "timeout"
    NO_VIDEO = "no_video"
    UNSUPPORTED_CODEC = "unsupported_codec"
    STALLED = "stalled"
    NO_URL = "no_url"
    OTHER = "other"
    DISK_FULL = "disk_full"  # the recorder's side: it cannot write (not a camera fault)

    CHOICES = [
        (CONNECTION_REFUSED, _("Connection refused"), "#d32f2f"),
        (NOT_FOUND, _("No stream at that address"), "#e64a19"),
        (AUTH_FAILURE, _("Authentication failure"), "#c2185b"),
        (TIMEOUT, _("Timeout"), "#f57c00"),
        (NO_VIDEO, _("No video stream"), "#7b1fa2"),
        (UNSUPPORTED_CODEC, _("Unsupported codec"), "#5d4037"),
        (STALLED, _("Stalled"), "#fbc02d"),
        (NO_URL, _("No stream URL"), "#616161"),
        (OTHER, _("Other error"), "#424242"),
        (DISK_FULL, _("Recording disk full"), "#b71c1c"),
    ]


class AlarmKind(ChoiceSet):
    DISK_LOW = "disk_low"
    RETENTION_BLOCKED = "retention_blocked"
    DISK_FULL = "disk_full"

    CHOICES = [
        (DISK_LOW, _("Recording disk low"), "#d32f2f"),
        (RETENTION_BLOCKED, _("Retention cannot free space"), "#f57c00"),
        (DISK_FULL, _("Recording disk full"), "#b71c1c"),
    ]


class DestructionReason(ChoiceSet):
    """Why recorded video was destroyed (the destruction record's reason)."""

    RETENTION_EXPIRED = "retention_expired"
    DISK_FULL = "disk_full"

    CHOICES = [
        (RETENTION_EXPIRED, _("Retention period expired"), "#616161"),
        (DISK_FULL, _("Disk full: deleted inside its retention period"), "#b71c1c"),
    ]
