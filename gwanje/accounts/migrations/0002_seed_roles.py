"""Seed one auth group per role (gwanje.accounts.roles.Role)."""

from django.db import migrations

ROLES = [
    "monitoring_agent", "supervisor", "it_admin", "department_manager", "police_stationed",
    "police_112", "police_investigator", "contractor", "system_admin",
]


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
