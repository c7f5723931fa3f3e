"""The camera registry: sites (개소), cameras (대수), purposes and purpose-expansion records."""

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from gwanje.core.fields import EncryptedTextField, redact_url
from gwanje.registry.choices import (
    CameraKind,
    CameraStatus,
    DatePrecision,
    ExpansionProcedure,
    Owner,
    Purpose,
    Source,
)


class Site(models.Model):
    """개소: one installation place (a pole, a shelter, a building corner) with one or more cameras."""

    code = models.CharField(_("site code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    road_address = models.CharField(_("road address"), max_length=200, blank=True)
    jibun_address = models.CharField(_("lot-number address"), max_length=200, blank=True)
    point = models.PointField(_("location"), srid=4326)
    dong = models.ForeignKey(
        "geo.AdminDong",
        verbose_name=_("administrative dong"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sites",
        help_text=_("Computed from the location."),
    )
    department = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("managing department"),
        on_delete=models.PROTECT,
        related_name="sites",
    )
    owner = models.CharField(_("owner"), max_length=10, choices=Owner.choices(), default=Owner.DISTRICT)
    is_mobile = models.BooleanField(_("mobile (이동형)"), default=False)
    has_onsite_storage = models.BooleanField(_("on-site storage (현장저장)"), default=False)
    has_emergency_bell = models.BooleanField(_("emergency bell (영상비상벨)"), default=False)
    is_smart_shelter = models.BooleanField(_("smart shelter"), default=False)
    installed_on = models.DateField(_("installed on"), null=True, blank=True)
    installed_on_precision = models.CharField(
        _("installation date precision"),
        max_length=5,
        choices=DatePrecision.choices(),
        default=DatePrecision.DAY,
    )
    notes = models.TextField(_("notes"), blank=True)
    is_synthetic = models.BooleanField(
        _("synthetic"),
        default=False,
        help_text=_("Placed by the default deployment for demonstration; not a surveyed location."),
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices(), default=Source.MANUAL)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()

    @property
    def address(self) -> str:
        return self.road_address or self.jibun_address


class Camera(models.Model):
    """대수: one camera of a site."""

    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.CASCADE, related_name="cameras")
    number = models.PositiveSmallIntegerField(_("number"), validators=[MinValueValidator(1)])
    kind = models.CharField(_("kind"), max_length=10, choices=CameraKind.choices(), default=CameraKind.FIXED)
    point = models.PointField(_("location"), srid=4326, help_text=_("Where the camera is mounted."))
    view_direction = models.CharField(_("view direction (촬영방면)"), max_length=100, blank=True)
    megapixels = models.DecimalField(
        _("resolution (megapixels)"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1), MaxValueValidator(99)],
    )
    main_stream_url = EncryptedTextField(_("main stream URL"), blank=True)
    sub_stream_url = EncryptedTextField(_("sub stream URL"), blank=True)
    primary_purpose = models.CharField(_("primary purpose"), max_length=30, choices=Purpose.choices())
    retention_days = models.PositiveSmallIntegerField(
        _("retention days (보관일수)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CameraStatus.choices(), default=CameraStatus.ONLINE
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("camera")
        verbose_name_plural = _("cameras")
        ordering = ["site__code", "number"]
        constraints = [models.UniqueConstraint(fields=["site", "number"], name="registry_camera_site_number")]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["primary_purpose"])]

    def __str__(self) -> str:
        return f"{self.site.code}-{self.number}"

    @property
    def label(self) -> str:
        return str(self)

    @property
    def main_stream_url_redacted(self) -> str:
        return redact_url(self.main_stream_url)

    @property
    def sub_stream_url_redacted(self) -> str:
        return redact_url(self.sub_stream_url)

    @property
    def status_colour(self) -> str:
        return CameraStatus.colour(self.status)


class PurposeExpansion(models.Model):
    """목적 확대 절차: the lawful procedure that makes a secondary purpose usable (Art. 2②)."""

    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices())
    procedure = models.CharField(_("procedure"), max_length=20, choices=ExpansionProcedure.choices())
    started_on = models.DateField(_("procedure started on"))
    ended_on = models.DateField(_("procedure ended on"), null=True, blank=True)
    decided_on = models.DateField(_("decided on"))
    document_number = models.CharField(_("document number"), max_length=100)
    approver = models.CharField(_("approver"), max_length=100)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("purpose-expansion record")
        verbose_name_plural = _("purpose-expansion records")
        ordering = ["-decided_on", "-id"]

    def __str__(self) -> str:
        return f"{Purpose.label(self.purpose)} — {self.document_number}"


class SecondaryPurpose(models.Model):
    """A secondary purpose of a camera; inactive until a purpose-expansion record covers it."""

    camera = models.ForeignKey(
        Camera, verbose_name=_("camera"), on_delete=models.CASCADE, related_name="secondary_purposes"
    )
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices())
    expansion = models.ForeignKey(
        PurposeExpansion,
        verbose_name=_("purpose-expansion record"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="camera_purposes",
    )

    class Meta:
        verbose_name = _("secondary purpose")
        verbose_name_plural = _("secondary purposes")
        constraints = [
            models.UniqueConstraint(fields=["camera", "purpose"], name="registry_secondary_purpose_unique")
        ]

    def __str__(self) -> str:
        return Purpose.label(self.purpose)

    @property
    def is_active(self) -> bool:
        return self.expansion_id is not None
