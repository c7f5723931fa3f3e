"""The incident-bound video grants of police users (agreement Art. 9⑤: police may view video only
while responding to an incident)."""

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gwanje.situations.choices import GrantState
from gwanje.situations.models.incidents import Incident

DEFAULT_GRANT_RADIUS_M = 500
DEFAULT_GRANT_HOURS = 2


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
        if not self.incident.is_open:
            return GrantState.INCIDENT_CLOSED
        if now >= self.expires_at:
            return GrantState.EXPIRED
        return GrantState.ACTIVE

    @property
    def is_active(self) -> bool:
        return self.state() == GrantState.ACTIVE
