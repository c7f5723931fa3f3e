"""Seongdong's Annex 2 as the default division of duties, and the old two-state incidents mapped
onto the workflow (open → new)."""

import datetime as dt

from django.db import migrations

# kind, recognised by, responded by, first answer by day, by night, note (Annex 2)
ANNEX_2 = [
    ("bell", "district", "police", "maintenance", "district", "비상벨: 대응·출동은 경찰, 1차 응답은 주간 유지보수 인력·야간 관제요원"),
    ("sos", "district", "district", "", "", "u-서울안전서비스: 구청"),
    ("analytics", "district", "police", "", "", "지능형 이벤트: 인지는 구청, 판단·대응은 경찰"),
    ("plate", "police", "police", "", "", "수배·도난 차량: 경찰"),
    ("fault", "district", "maintenance", "", "", "고장·장애: 구청(유지보수)"),
    ("manual", "district", "police", "", "", "관제요원이 직접 등록한 상황"),
]


def seed(apps, schema_editor):
    DutyRule = apps.get_model("situations", "DutyRule")
    for kind, recognised, responded, day, night, note in ANNEX_2:
        DutyRule.objects.get_or_create(
            kind=kind,
            defaults={
                "recognised_by": recognised,
                "responded_by": responded,
                "day_first": day,
                "night_first": night,
                "day_starts": dt.time(9, 0),
                "day_ends": dt.time(18, 0),
                "note": note,
            },
        )
    Incident = apps.get_model("situations", "Incident")
    Incident.objects.filter(status="open").update(status="new")


def unseed(apps, schema_editor):
    Incident = apps.get_model("situations", "Incident")
    Incident.objects.exclude(status__in=["dismissed", "closed"]).update(status="open")
    Incident.objects.filter(status="dismissed").update(status="closed")


class Migration(migrations.Migration):
    dependencies = [("situations", "0002_situations_workflow_intake_duty")]
    operations = [migrations.RunPython(seed, unseed)]
