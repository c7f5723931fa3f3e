"""The division of duties of Annex 2 as data: routing, allowed actions and SLA timers follow it."""

import datetime as dt

from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gwanje.situations.choices import IncidentKind, Party


class DutyRule(models.Model):
    """For one kind of situation: who recognises it (first answer), who judges and responds, and —
    for emergency bells — who answers first by day and by night."""

    kind = models.CharField(_("situation"), max_length=12, choices=IncidentKind.choices(), unique=True)
    recognised_by = models.CharField(_("recognises"), max_length=12, choices=Party.choices())
    responded_by = models.CharField(_("judges and responds"), max_length=12, choices=Party.choices())
    day_first = models.CharField(
        _("first answer by day"),
        max_length=12,
        choices=Party.choices(),
        blank=True,
        help_text=_("Leave empty when the recogniser answers at all hours."),
    )
    night_first = models.CharField(
        _("first answer by night"), max_length=12, choices=Party.choices(), blank=True
    )
    day_starts = models.TimeField(_("day starts"), default=dt.time(9, 0))
    day_ends = models.TimeField(_("day ends"), default=dt.time(18, 0))
    correlation_minutes = models.PositiveSmallIntegerField(
        _("join repeated events within (minutes)"),
        default=10,
        validators=[MaxValueValidator(24 * 60)],
    )
    ack_seconds = models.PositiveIntegerField(
        _("acknowledge within (s)"), default=60, validators=[MinValueValidator(10)]
    )
    handover_seconds = models.PositiveIntegerField(
        _("hand to police within (s)"), default=300, validators=[MinValueValidator(10)]
    )
    dispatch_seconds = models.PositiveIntegerField(
        _("dispatch within (s) of hand-over"), default=300, validators=[MinValueValidator(10)]
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("duty rule")
        verbose_name_plural = _("division of duties")
        ordering = ["id"]

    def __str__(self) -> str:
        return IncidentKind.label(self.kind)

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        from gwanje.situations.services.workflow import forget_duty_rules

        forget_duty_rules()  # this process routes by the new row at once (others within seconds)

    def first_party(self, local_time: dt.time) -> str:
        """Who answers first at this local (Seoul) time of day."""
        if not (self.day_first or self.night_first):
            return self.recognised_by
        if self.day_starts == self.day_ends:  # no day at all
            is_day = False
        elif self.day_starts < self.day_ends:
            is_day = self.day_starts <= local_time < self.day_ends
        else:  # a "day" that spans midnight
            is_day = local_time >= self.day_starts or local_time < self.day_ends
        return (self.day_first if is_day else self.night_first) or self.recognised_by

    @property
    def needs_handover(self) -> bool:
        return self.responded_by == Party.POLICE and self.recognised_by != Party.POLICE
