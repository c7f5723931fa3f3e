"""`gwanje check --deploy` refuses the development defaults."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def gwanje_deploy_checks(app_configs, **kwargs):
    errors = []
    if settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET or len(settings.SECRET_KEY) < 50:
        errors.append(
            Error(
                "GWANJE_SECRET_KEY is the development default or too short.",
                hint="Set GWANJE_SECRET_KEY to a random value of at least 50 characters.",
                id="gwanje.E001",
            )
        )
    if not settings.FIELD_ENCRYPTION_KEYS:
        errors.append(
            Error(
                "GWANJE_FIELD_ENCRYPTION_KEYS is not set: stream credentials would be encrypted "
                "with a key derived from the secret key.",
                hint="Generate one with `gwanje generate-field-key` and keep it with your backups.",
                id="gwanje.E002",
            )
        )
    if settings.DEBUG:
        errors.append(Error("GWANJE_DEBUG must be false in production.", id="gwanje.E003"))
    if settings.DATABASES["default"]["ENGINE"].endswith("spatialite"):
        errors.append(
            Error(
                "Production runs on PostgreSQL/PostGIS, not the embedded SpatiaLite file.",
                hint="Set GWANJE_DATABASE_URL=postgis://user:password@host:5432/gwanje",
                id="gwanje.E004",
            )
        )
    return errors
