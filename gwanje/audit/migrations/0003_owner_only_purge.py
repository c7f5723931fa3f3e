"""PostgreSQL: the append-only trigger function lets DELETE/TRUNCATE through under
`gwanje.audit_purge = on` only for the table's owner (or a member of it, or a superuser).
A custom setting can be set by any role, so on its own it must not lift the guard.
Nothing to do on SQLite (its triggers have no such exemption; the purge drops and recreates them)."""

from django.db import migrations

OWNER_ONLY = """
CREATE OR REPLACE FUNCTION gwanje_audit_append_only() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND current_setting('gwanje.audit_purge', true) = 'on'
       AND pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'USAGE')
    THEN
        IF TG_LEVEL = 'ROW' THEN
            RETURN OLD;
        END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'raise_exception',
              HINT = 'Audit records are never changed; old ones are removed only by gwanje audit purge, '
                     'run as the owner of the tables.';
END;
$$;
"""

# 0002's function (for migrating backwards).
SETTING_ONLY = """
CREATE OR REPLACE FUNCTION gwanje_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') AND current_setting('gwanje.audit_purge', true) = 'on' THEN
        IF TG_LEVEL = 'ROW' THEN
            RETURN OLD;
        END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'raise_exception',
              HINT = 'Audit records are never changed; old ones are removed only by gwanje audit purge.';
END;
$$;
"""


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:  # no parameters: % is literal
                cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [migrations.RunPython(_run(OWNER_ONLY), _run(SETTING_ONLY))]
