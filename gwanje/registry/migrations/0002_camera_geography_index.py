"""Spatial indexes the nearest-camera queries rely on.

PostGIS: a GiST index on point::geography so nearest queries are exact KNN (<->) in metres.
SpatiaLite: the R*Tree of each point column. Django's SQLite table rebuild (for the camera's
added indexes/constraint) leaves registry_camera.point with spatial_index_enabled = 0, so the
index is (re)created here; tests assert every geometry column keeps its R*Tree."""

from django.db import migrations

INDEXES = [
    ("registry_camera_point_geog", "registry_camera"),
    ("registry_site_point_geog", "registry_site"),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            for _name, table in INDEXES:
                cursor.execute(
                    "SELECT spatial_index_enabled FROM geometry_columns "
                    "WHERE f_table_name = %s AND f_geometry_column = 'point'",
                    (table,),
                )
                if cursor.fetchone()[0]:
                    continue
                cursor.execute(f"DROP TABLE IF EXISTS idx_{table}_point")
                cursor.execute("SELECT CreateSpatialIndex(%s, 'point')", (table,))
        return
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING GIST ((point::geography))")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
