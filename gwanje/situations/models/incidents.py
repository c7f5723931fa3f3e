"""Incidents and what happens to them: the workflow's transitions, notes, SOS positions, images,
SLA escalations, and the console's event feed."""

from django.conf import settings
from django.contrib.gis.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gwanje.situations.choices import (
    IncidentKind,
    IncidentStatus,
    Party,
    Timer,
    UtilisationResult,
)

_USER = settings.AUTH_USER_MODEL


class YearCounter(models.Model):
    """The last incident number given out in a year (numbers are YYYY-NNNNNN, gapless per year)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class Incident(models.Model):
    number = models.CharField(_("incident number"), max_length=20, unique=True)
    kind = models.CharField(
        _("kind"), max_length=12, choices=IncidentKind.choices(), default=IncidentKind.MANUAL
    )
    title = models.CharField(_("title"), max_length=200)
    point = models.PointField(_("location"), srid=4326)
    address = models.CharField(_("address"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=IncidentStatus.choices(), default=IncidentStatus.NEW
    )
    # Routing, copied from the duty matrix when the incident opens (a later edit of the matrix
    # does not re-route incidents already in a queue).
    first_party = models.CharField(
        _("first answer"), max_length=12, choices=Party.choices(), default=Party.DISTRICT
    )
    responder_party = models.CharField(
        _("judges and responds"), max_length=12, choices=Party.choices(), default=Party.POLICE
    )
    # What raised it.
    device = models.ForeignKey(
        "situations.Device", verbose_name=_("device"), on_delete=models.PROTECT, null=True, blank=True
    )
    site = models.ForeignKey(
        "registry.Site", verbose_name=_("site"), on_delete=models.SET_NULL, null=True, blank=True
    )
    camera = models.ForeignKey(
        "registry.Camera",
        verbose_name=_("camera"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    subject_ref = models.CharField(_("SOS subject id"), max_length=64, blank=True)
    category = models.CharField(_("category or rule"), max_length=30, blank=True)
    confidence = models.FloatField(_("confidence"), null=True, blank=True)
    plate = models.CharField(_("vehicle plate"), max_length=20, blank=True)
    event_count = models.PositiveIntegerField(_("events"), default=1)
    first_event_at = models.DateTimeField(_("first event at"), default=timezone.now)
    last_event_at = models.DateTimeField(_("last event at"), default=timezone.now)
    # Workflow times.
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_by = models.ForeignKey(
        _USER, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+", null=True
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    handed_over_at = models.DateTimeField(_("handed to police at"), null=True, blank=True)
    dispatch_unit = models.CharField(_("patrol unit"), max_length=60, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        _USER, verbose_name=_("closed by"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    result = models.CharField(
        _("CCTV utilisation result"), max_length=12, choices=UtilisationResult.choices(), blank=True
    )
    result_text = models.TextField(_("result details"), blank=True)
    # SLA deadlines (null: no such timer for this incident).
    ack_due_at = models.DateTimeField(_("acknowledge by"), null=True, blank=True)
    handover_due_at = models.DateTimeField(_("hand over by"), null=True, blank=True)
    dispatch_due_at = models.DateTimeField(_("dispatch by"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["status", "kind"]),
            models.Index(fields=["device", "status"]),
            models.Index(fields=["subject_ref", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status not in IncidentStatus.FINISHED

    @property
    def current_party(self) -> str:
        """Whose queue the incident is in: the first answer until it is handed over (or, when one
        party does both, throughout), then the responder."""
        if self.status in (IncidentStatus.NEW, IncidentStatus.ACKNOWLEDGED, IncidentStatus.CONFIRMED):
            return self.first_party
        return self.responder_party

    @property
    def current_party_label(self) -> str:
        return Party.label(self.current_party)


class IncidentTransition(models.Model):
    """One step of an incident's workflow (or a correlated event joining it): who, when, what."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(_("action"), max_length=20)
    from_status = models.CharField(_("from"), max_length=12, blank=True)
    to_status = models.CharField(_("to"), max_length=12)
    actor = models.ForeignKey(
        _USER, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    party = models.CharField(_("party"), max_length=12, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("incident transition")
        verbose_name_plural = _("incident transitions")


class IncidentNote(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(_USER, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("note"))
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]


class IncidentPosition(models.Model):
    """A position of an SOS subject (the track drawn on the map)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="positions")
    point = models.PointField(srid=4326)
    accuracy_m = models.PositiveIntegerField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]


class IncidentImage(models.Model):
    """A JPEG that came with an event (analytics snapshot, plate read image); personal data:
    shown only through the incident page, which logs the view."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="images")
    camera = models.ForeignKey(
        "registry.Camera", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    caption = models.CharField(max_length=100, blank=True)
    content = models.BinaryField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]


class Escalation(models.Model):
    """An SLA timer of the duty matrix ran out: raised once, cleared when the step is done."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="escalations")
    timer = models.CharField(_("timer"), max_length=12, choices=Timer.choices())
    due_at = models.DateTimeField(_("due at"))
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)

    class Meta:
        ordering = ["raised_at", "id"]
        constraints = [models.UniqueConstraint(fields=["incident", "timer"], name="one_escalation_per_timer")]


class ConsoleEvent(models.Model):
    """The consoles' feed: one row per change an operator must see, written in the same transaction
    as the change. Its id is the sequence number a reconnecting console replays from."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=20)  # created, changed, escalated, position, event
    at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField()

    class Meta:
        ordering = ["id"]
