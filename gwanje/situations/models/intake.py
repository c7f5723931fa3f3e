"""Event intake: the devices that send events, every message as received, and the dead letters."""

from django.contrib.gis.db import models
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gwanje.core.fields import EncryptedTextField
from gwanje.situations.choices import DeadReason, IncidentKind, IntakeSource

DEVICE_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class Device(models.Model):
    """A device that sends events: an emergency bell (at a site), the u-Seoul SOS gateway, a
    video-analytics server or a plate reader (at a camera), a recorder. It signs webhooks and logs in
    to the broker with its secret (encrypted at rest; the broker keeps only a PBKDF2 hash)."""

    device_id = models.CharField(
        _("device id"),
        max_length=64,
        unique=True,
        validators=[RegexValidator(DEVICE_ID_RE, _("Letters, digits, '.', '_' and '-' only."))],
    )
    kind = models.CharField(
        _("kind"),
        max_length=12,
        choices=[c for c in IncidentKind.choices() if c[0] in IncidentKind.DEVICE_KINDS],
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    site = models.ForeignKey(
        "registry.Site", verbose_name=_("site"), on_delete=models.PROTECT, null=True, blank=True
    )
    camera = models.ForeignKey(
        "registry.Camera",
        verbose_name=_("camera"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    secret = EncryptedTextField(_("secret"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("event device")
        verbose_name_plural = _("event devices")
        ordering = ["device_id"]

    def __str__(self) -> str:
        return self.device_id


class RawMessage(models.Model):
    """Every keyed message, stored as received before it is acknowledged; (device, message id) is
    the idempotency key, so a redelivered message is recognised and ignored."""

    PENDING, DONE, DEAD = "pending", "done", "dead"
    source = models.CharField(max_length=10, choices=IntakeSource.choices())
    topic = models.CharField(max_length=300)
    kind = models.CharField(max_length=12)
    device_id = models.CharField(max_length=64)
    message_id = models.CharField(max_length=64)
    payload = models.TextField()
    received_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=8, default=PENDING)
    processed_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        "situations.Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device_id", "message_id"], name="one_message_per_key")
        ]
        indexes = [models.Index(fields=["state", "id"])]


class DeadLetter(models.Model):
    """A message that could not become an incident, kept with the reason for administrators."""

    source = models.CharField(_("source"), max_length=10, choices=IntakeSource.choices())
    topic = models.CharField(_("topic or path"), max_length=300)
    device_id = models.CharField(_("device id"), max_length=64, blank=True)
    message_id = models.CharField(_("message id"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=16, choices=DeadReason.choices())
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    payload = models.TextField(_("payload (first 4 KB)"), blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")
        ordering = ["-received_at", "-id"]
