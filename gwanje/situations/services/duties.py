"""Edits of the division of duties (Annex 2): a supervisor changes a row; routing of new incidents,
the steps each party may take and the SLA timers follow at once. Each edit is a permission change
(it changes who may act), recorded in the permission-change history."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gwanje.audit import services as audit
from gwanje.core import permissions
from gwanje.situations.models import DutyRule

FIELDS = [
    "recognised_by",
    "responded_by",
    "day_first",
    "night_first",
    "day_starts",
    "day_ends",
    "correlation_minutes",
    "ack_seconds",
    "handover_seconds",
    "dispatch_seconds",
    "note",
]


def _plain(rule: DutyRule) -> dict:
    return {f: str(getattr(rule, f)) for f in FIELDS}


@transaction.atomic
def update_rule(*, user, rule: DutyRule, data: dict, request=None) -> DutyRule:
    permissions.require(user, "duty.manage")
    rule = DutyRule.objects.select_for_update().get(pk=rule.pk)
    before = _plain(rule)
    for field in FIELDS:
        if field in data:
            setattr(rule, field, data[field])
    if bool(rule.day_first) != bool(rule.night_first):
        raise ValidationError(_("Name the first answer both by day and by night, or neither."))
    rule.updated_at = timezone.now()
    rule.full_clean()
    rule.save()
    after = _plain(rule)
    if after != before:
        audit.record_change(
            actor=user,
            action="duty_changed",
            subject_user=None,
            target=f"duty:{rule.kind}",
            before=before,
            after=after,
            request=request,
        )
    return rule
