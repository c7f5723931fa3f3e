"""Recorded video: recording sessions (one ffmpeg run: its fMP4 init segment), segments with their
index, gaps, camera faults, legal holds, destruction records, alarms and video-wall layouts.

Times are stream time mapped to UTC (the recorder's segment boundaries), stored in UTC."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gwanje.video.choices import AlarmKind, DestructionReason, FaultReason, Stream


class RecordingSession(models.Model):
    """One continuous recording of a camera (one ffmpeg run); its segments share the init segment."""

    camera = models.ForeignKey(
        "registry.Camera", verbose_name=_("camera"), on_delete=models.PROTECT, related_name="+"
    )
    stream = models.CharField(_("stream"), max_length=10, choices=Stream.choices(), default=Stream.MAIN)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    init_key = models.CharField(_("init segment"), max_length=300, blank=True)  # storage key
    codec = models.CharField(_("codec"), max_length=100, blank=True)  # e.g. avc1.640028

    class Meta:
        verbose_name = _("recording session")
        verbose_name_plural = _("recording sessions")
        indexes = [models.Index(fields=["camera", "started_at"])]

    def __str__(self) -> str:
        return f"{self.camera_id} {self.stream} {self.started_at:%Y-%m-%d %H:%M:%S}"


class Segment(models.Model):
    """A finished, indexed segment (fMP4 fragment file); `start`/`end` come from stream time."""

    session = models.ForeignKey(
        RecordingSession,
        verbose_name=_("recording session"),
        on_delete=models.PROTECT,
        related_name="segments",
    )
    camera = models.ForeignKey(
        "registry.Camera", verbose_name=_("camera"), on_delete=models.PROTECT, related_name="+"
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    bytes = models.BigIntegerField(_("bytes"))
    key = models.CharField(_("storage key"), max_length=300, unique=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        indexes = [models.Index(fields=["camera", "start"]), models.Index(fields=["camera", "end"])]

    def __str__(self) -> str:
        return self.key


class RecordingGap(models.Model):
    """A period in which a camera that should be recorded was not (fault, restart, stall)."""

    camera = models.ForeignKey(
        "registry.Camera", verbose_name=_("camera"), on_delete=models.PROTECT, related_name="+"
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"), null=True, blank=True)  # None: still missing
    reason = models.CharField(_("reason"), max_length=30, choices=FaultReason.choices(), blank=True)

    class Meta:
        verbose_name = _("recording gap")
        verbose_name_plural = _("recording gaps")
        indexes = [models.Index(fields=["camera", "start"])]

    def __str__(self) -> str:
        return f"{self.camera_id} {self.start:%Y-%m-%d %H:%M:%S}–"


class CameraFault(models.Model):
    """A camera-fault event: raised when the recorder loses the camera, closed on recovery."""

    camera = models.ForeignKey(
        "registry.Camera", verbose_name=_("camera"), on_delete=models.PROTECT, related_name="faults"
    )
    reason = models.CharField(_("reason"), max_length=30, choices=FaultReason.choices())
    detail = models.CharField(_("detail"), max_length=300, blank=True)  # credentials redacted
    started_at = models.DateTimeField(_("since"))
    ended_at = models.DateTimeField(_("recovered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("camera fault")
        verbose_name_plural = _("camera faults")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["camera"],
                condition=models.Q(ended_at__isnull=True),
                name="video_one_open_fault_per_camera",
            )
        ]

    def __str__(self) -> str:
        return f"{self.camera_id} {self.reason}"


class LegalHold(models.Model):
    """Recorded video of a camera and period kept for an investigation: never deleted until released."""

    camera = models.ForeignKey(
        "registry.Camera", verbose_name=_("camera"), on_delete=models.PROTECT, related_name="+"
    )
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    case_number = models.CharField(_("case number"), max_length=60, blank=True)
    reason = models.TextField(_("reason"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("review by"), null=True, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        indexes = [models.Index(fields=["camera", "start"])]

    def __str__(self) -> str:
        return f"{self.camera_id} {self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M} {self.case_number}"


class DestructionRecord(models.Model):
    """파기 기록: what was irreversibly deleted, and why — its retention period had expired, or the
    recording disk was full and the oldest video was deleted inside its retention period."""

    camera = models.ForeignKey(
        "registry.Camera", verbose_name=_("camera"), on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateTimeField(_("period from"))
    period_end = models.DateTimeField(_("period until"))
    segment_count = models.PositiveIntegerField(_("segments"))
    bytes = models.BigIntegerField(_("bytes"))
    executed_at = models.DateTimeField(_("executed at"))
    executed_by = models.CharField(_("executed by"), max_length=100, default="system job")
    reason = models.CharField(
        _("reason"),
        max_length=30,
        choices=DestructionReason.choices(),
        default=DestructionReason.RETENTION_EXPIRED,
    )

    class Meta:
        verbose_name = _("destruction record")
        verbose_name_plural = _("destruction records")
        ordering = ["-executed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.camera_id} {self.period_start:%Y-%m-%d}–{self.period_end:%Y-%m-%d}"


class VideoAlarm(models.Model):
    kind = models.CharField(_("kind"), max_length=30, choices=AlarmKind.choices())
    detail = models.CharField(_("detail"), max_length=300)
    raised_at = models.DateTimeField(_("raised at"))
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)

    class Meta:
        verbose_name = _("video alarm")
        verbose_name_plural = _("video alarms")
        ordering = ["-raised_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.raised_at:%Y-%m-%d %H:%M}"


class WallLayout(models.Model):
    """A user's saved video wall: grid size and the camera in each cell."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=60)
    grid = models.PositiveSmallIntegerField(
        _("layout"), choices=[(1, "1"), (4, "4"), (9, "9"), (16, "16")], default=4
    )
    cells = models.JSONField(_("cameras"), default=list)  # camera id or null per cell
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("video wall layout")
        verbose_name_plural = _("video wall layouts")
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="video_wall_layout_unique_name")]

    def __str__(self) -> str:
        return self.name
