"""Incidents (minimal until the situations issue) and the incident-bound video grants of police
users (agreement Art. 9⑤: police may view video only while responding to an incident)."""

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gwanje.situations.choices import GrantState, IncidentStatus

DEFAULT_GRANT_RADIUS_M = 500
DEFAULT_GRANT_HOURS = 2


class YearCounter(models.Model):
    """The last incident number given out in a year (numbers are YYYY-NNNNNN, gapless per year)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class Incident(models.Model):
    number = models.CharField(_("incident number"), max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=200)
    point = models.PointField(_("location"), srid=4326)
    address = models.CharField(_("address"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=IncidentStatus.choices(), default=IncidentStatus.OPEN
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == IncidentStatus.OPEN


class VideoGrant(models.Model):
    """A police user's access to the video of the cameras near an open incident, for a while."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="grants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="video_grants",
    )
    reason = models.TextField(_("reason"))
    radius_m = models.PositiveIntegerField(
        _("radius (m)"),
        default=DEFAULT_GRANT_RADIUS_M,
        validators=[MinValueValidator(50), MaxValueValidator(5000)],
    )
    cameras = models.ManyToManyField("registry.Camera", verbose_name=_("cameras"), related_name="+")
    window_start = models.DateTimeField(_("recorded video from"))
    window_end = models.DateTimeField(_("recorded video until"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    revoke_reason = models.CharField(_("revocation reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("video grant")
        verbose_name_plural = _("video grants")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "expires_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.incident.number} {self.user}"

    def state(self, now=None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return GrantState.REVOKED
        if self.incident.status != IncidentStatus.OPEN:
            return GrantState.INCIDENT_CLOSED
        if now >= self.expires_at:
            return GrantState.EXPIRED
        return GrantState.ACTIVE

    @property
    def is_active(self) -> bool:
        return self.state() == GrantState.ACTIVE
