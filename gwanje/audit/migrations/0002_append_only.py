"""Append-only triggers on the audit tables (both backends) and the two chain heads."""

from django.db import migrations

from gwanje.audit import guards

GENESIS = "0" * 64


def forwards(apps, schema_editor):
    guards.install(schema_editor.connection)
    ChainHead = apps.get_model("audit", "ChainHead")
    for chain in ("access", "permission"):
        ChainHead.objects.using(schema_editor.connection.alias).get_or_create(
            chain=chain, defaults={"last_seq": 0, "last_hash": GENESIS}
        )


def backwards(apps, schema_editor):
    guards.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
