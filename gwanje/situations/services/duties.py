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
    from gwanje.situations.services.workflow import forget_duty_rules

    transaction.on_commit(forget_duty_rules)
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


# Seongdong's Annex 2 (the default; the migration 0003 holds the same rows for a fresh database).
ANNEX_2 = [
    (
        "bell",
        "district",
        "police",
        "maintenance",
        "district",
        "비상벨: 대응·출동은 경찰, 1차 응답은 주간 유지보수 인력·야간 관제요원",
    ),
    ("sos", "district", "district", "", "", "u-서울안전서비스: 구청"),
    ("analytics", "district", "police", "", "", "지능형 이벤트: 인지는 구청, 판단·대응은 경찰"),
    ("plate", "police", "police", "", "", "수배·도난 차량: 경찰"),
    ("fault", "district", "maintenance", "", "", "고장·장애: 구청(유지보수)"),
    ("manual", "district", "police", "", "", "관제요원이 직접 등록한 상황"),
]


def seed_defaults() -> int:
    """Rows of the default matrix that are missing (existing rows, maybe edited, are kept)."""
    made = 0
    for kind, recognised, responded, day, night, note in ANNEX_2:
        _rule, created = DutyRule.objects.get_or_create(
            kind=kind,
            defaults={
                "recognised_by": recognised,
                "responded_by": responded,
                "day_first": day,
                "night_first": night,
                "note": note,
            },
        )
        made += created
    return made
