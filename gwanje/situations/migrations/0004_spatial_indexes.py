"""SpatiaLite: Django's table rebuild (0002 added fields to situations_incident) leaves the point
column without its R*Tree; recreate every missing one of this app (tests assert each geometry
column has one)."""

from django.db import migrations

TABLES = ["situations_incident", "situations_incidentposition"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(
                "SELECT spatial_index_enabled FROM geometry_columns WHERE f_table_name = %s AND f_geometry_column = 'point'",
                (table,),
            )
            row = cursor.fetchone()
            if row is None or row[0]:
                continue
            cursor.execute(f"DROP TABLE IF EXISTS idx_{table}_point")
            cursor.execute("SELECT CreateSpatialIndex(%s, 'point')", (table,))


class Migration(migrations.Migration):
    dependencies = [("situations", "0003_annex2_duties")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
