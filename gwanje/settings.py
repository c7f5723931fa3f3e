"""Settings, read only from the environment (GWANJE_*). See docs/configuration.md.

Development defaults are safe to run on a laptop and are rejected by `gwanje check --deploy`
(see gwanje.core.checks).
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from gwanje.core.env import env, env_bool, env_list

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent

DATA_DIR = Path(env("GWANJE_DATA_DIR", str(BASE_DIR / "var"))).resolve()

# Marker used by gwanje.core.checks to reject the development defaults in production.
INSECURE_DEFAULT_SECRET = "gwanje-insecure-development-secret-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env("GWANJE_SECRET_KEY", INSECURE_DEFAULT_SECRET)
# Key(s) for encrypting camera stream credentials at rest (Fernet, comma-separated, newest first).
FIELD_ENCRYPTION_KEYS = env_list("GWANJE_FIELD_ENCRYPTION_KEYS", [])
DEBUG = env_bool("GWANJE_DEBUG", False)
ALLOWED_HOSTS = env_list("GWANJE_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("GWANJE_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "gwanje.core.admin.GwanjeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "drf_spectacular",
    "django_filters",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "gwanje.core",
    "gwanje.accounts",
    "gwanje.geo",
    "gwanje.registry",
    "gwanje.audit",
    "gwanje.situations",
    "gwanje.video",
    "gwanje.deployments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gwanje.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # django-otp's OTPMiddleware, without its per-request device query (see the module).
    "gwanje.accounts.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Session timeouts, IP allow-list per role, second-factor step, password expiry.
    "gwanje.accounts.middleware.AccountSecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "gwanje.urls"
ASGI_APPLICATION = "gwanje.asgi.application"
WSGI_APPLICATION = "gwanje.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gwanje.core.context_processors.gwanje",
            ],
        },
    },
]

# Database: GWANJE_DATABASE_URL, default a SpatiaLite file in the data dir.
DATABASE_URL = env("GWANJE_DATABASE_URL", f"spatialite:///{DATA_DIR / 'gwanje.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("spatialite"):
    # IMMEDIATE: a transaction takes the write lock when it begins, so one that reads and then
    # writes (the access-log chain head, grants) waits for others instead of failing "locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        # WAL with synchronous=NORMAL: a commit survives the process being killed (what the intake
        # promises: stored before acknowledged); an OS crash may lose the last commits, as the
        # private broker may lose its last 30 s (autosave): docs/operations.md.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    _test_name = env("GWANJE_TEST_DATABASE_NAME", "")
    if _test_name:
        DATABASES["default"]["TEST"] = {"NAME": _test_name}
SPATIALITE_LIBRARY_PATH = env("GWANJE_SPATIALITE_LIBRARY_PATH", "mod_spatialite")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "console"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTHENTICATION_BACKENDS = ["gwanje.accounts.backends.GwanjeBackend"]


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


# Sign-in safety measures (PIPA safety-measure notice; docs/authentication.md).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    # Older hashes still verify and are re-hashed with Argon2 at the next sign-in.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "gwanje.accounts.passwords.ComplexityValidator"},
    {"NAME": "gwanje.accounts.passwords.UsernameValidator"},
    {"NAME": "gwanje.accounts.passwords.PasswordHistoryValidator", "OPTIONS": {"count": 3}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_MAX_AGE_DAYS = _env_int("GWANJE_PASSWORD_MAX_AGE_DAYS", 90)  # 0 = passwords never expire
LOGIN_MAX_FAILURES = _env_int("GWANJE_LOGIN_MAX_FAILURES", 5, minimum=1)
LOCKOUT_MINUTES = _env_int("GWANJE_LOCKOUT_MINUTES", 30)  # 0 = only an administrator unlocks
SESSION_IDLE_MINUTES = _env_int("GWANJE_SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_MAX_HOURS = _env_int("GWANJE_SESSION_MAX_HOURS", 12, minimum=1)
# Second factor (django-otp TOTP). Wrong codes count towards the account lockout above, so
# django-otp's own throttling is off.
OTP_TOTP_ISSUER = env("GWANJE_TOTP_ISSUER", "Gwanje")
OTP_TOTP_THROTTLE_FACTOR = 0

# Korean first; English available.
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production may `gwanje collectstatic` into GWANJE_STATIC_ROOT; otherwise files are served from
# static/ and the app directories (WhiteNoise with finders).
STATIC_ROOT = env("GWANJE_STATIC_ROOT", "") or None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# Map: optional XYZ base layer (closed networks run without one).
TILE_URL = env("GWANJE_TILE_URL", "")
TILE_ATTRIBUTION = env("GWANJE_TILE_ATTRIBUTION", "")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600  # the absolute timeout; idle: AccountSecurityMiddleware
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("GWANJE_HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("GWANJE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(env("GWANJE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = False
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Reverse proxies whose X-Forwarded-For is believed (CIDRs, comma-separated). The client IP of the
# access log and of the IP allow-lists is REMOTE_ADDR unless the request came through one of these.
TRUSTED_PROXIES = env_list("GWANJE_TRUSTED_PROXIES", [])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request then gets 401 with a WWW-Authenticate header.
        "gwanje.accounts.authentication.GwanjeTokenAuthentication",
        # Session, refusing a session that still owes its second factor (403 mfa_required).
        "gwanje.accounts.authentication.OTPSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["gwanje.core.api.ChokePointPermission"],
    "DEFAULT_PAGINATION_CLASS": "gwanje.core.api.Pagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["gwanje.core.api.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "gwanje.core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["gwanje.core.api.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gwanje API",
    "DESCRIPTION": "Camera registry and map layers of the integrated CCTV control center.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": "/static/vendor/swagger-ui/favicon-32x32.png",
    "COMPONENT_SPLIT_REQUEST": True,
    # validatorUrl None: Swagger UI must not call validator.swagger.io from a closed network.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Two choice sets share the field name "result": name their enums.
    "ENUM_NAME_OVERRIDES": {
        "AccessResultEnum": "gwanje.audit.choices.AccessResult.values",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("GWANJE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Access log (접속기록) and permission-change history (권한 변경 이력): append-only, hash-chained.
# PIPA's safety-measure notice asks for at least 2 and 3 years; shorter values are refused.
AUDIT_RETENTION_DAYS = max(730, int(env("GWANJE_AUDIT_RETENTION_DAYS", "730")))
PERMISSION_HISTORY_RETENTION_DAYS = max(1095, int(env("GWANJE_PERMISSION_HISTORY_RETENTION_DAYS", "1095")))
# Daily anchors (the day's last hash of each chain) are also written here, outside the database.
AUDIT_ANCHOR_DIR = Path(env("GWANJE_AUDIT_ANCHOR_DIR", str(DATA_DIR / "audit-anchors"))).resolve()

# Video: recordings under the data dir (segments behind gwanje.video.storage), fMP4 segment length.
VIDEO_DIR = Path(env("GWANJE_VIDEO_DIR", str(DATA_DIR / "video"))).resolve()
SEGMENT_SECONDS = int(env("GWANJE_SEGMENT_SECONDS", "10"))
# Below this share of free space on the recording disk the disk-low alarm is raised.
DISK_LOW_WATER_PERCENT = float(env("GWANJE_DISK_LOW_WATER_PERCENT", "10"))
# Below this share (disk full), the oldest video not under a legal hold is deleted even inside its
# retention period, with a destruction record and an alarm, so recording goes on. 0 = never.
DISK_CRITICAL_PERCENT = float(env("GWANJE_DISK_CRITICAL_PERCENT", "5"))

# The deployment loaded on first run by `gwanje run` / `make run`.
DEFAULT_DEPLOYMENT = env("GWANJE_DEPLOYMENT", "seongdong")

# GDAL 3.6 (Debian 12) cannot block file/network access from spatial references; Gwanje never passes
# user-supplied SRS strings to GDAL (geometries are parsed by GEOS from GeoJSON/coordinates).
# security.W021: HSTS preload is a public-internet list; a control center's host name on a closed
# network is never submitted to it (HSTS itself is on with GWANJE_HTTPS).
SILENCED_SYSTEM_CHECKS = ["gis.W001", "security.W021"]

# Event intake (situations): how old or how far ahead of this server's clock a device's event time
# may be before the message is dead-lettered instead of raising an alarm.
EVENT_MAX_AGE_SECONDS = _env_int("GWANJE_EVENT_MAX_AGE_SECONDS", 3600, minimum=60)
EVENT_MAX_SKEW_SECONDS = _env_int("GWANJE_EVENT_MAX_SKEW_SECONDS", 120, minimum=1)

# MQTT (device events, console wake-ups). Unset GWANJE_MQTT_URL: `gwanje run` starts a private
# Mosquitto on 127.0.0.1:GWANJE_MQTT_PORT with its files under $GWANJE_DATA_DIR/mqtt.
MQTT_URL = env("GWANJE_MQTT_URL", "")
MQTT_PORT = _env_int("GWANJE_MQTT_PORT", 1884, minimum=1)
