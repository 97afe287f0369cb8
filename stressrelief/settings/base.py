"""Settings, read from the environment through `environment.Environment`.

Defaults run on one machine with nothing installed: SQLite under var/, an embedded
Redis on a unix socket under var/run/ (started by `make run`), email printed to the
console and written under var/mail/. The same code runs on PostgreSQL and Redis
when DATABASE_URL and REDIS_URL are set. See the configuration table in README.md.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from stressrelief.environment import (
    ConfigurationError,
    Environment,
    email_settings_from_url,
    kombu_broker_url,
)

env = Environment()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Everything the service writes on one machine: database, broker socket, mail, logs.
VAR_DIR = Path(env.text("STRESSRELIEF_VAR_DIR") or BASE_DIR / "var").resolve()

DEBUG = env.flag("DJANGO_DEBUG", default=True)

if DEBUG:
    # Development only: a fixed key keeps sessions valid across restarts.
    SECRET_KEY = env.text("DJANGO_SECRET_KEY") or "dev-only-insecure-key-" + "x" * 40
else:
    SECRET_KEY = env.required_text(
        "DJANGO_SECRET_KEY",
        why="production (DJANGO_DEBUG=false) needs a long random secret key; generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`.",
    )
    if len(SECRET_KEY) < 50:
        raise ConfigurationError(
            "DJANGO_SECRET_KEY must be at least 50 characters in production; "
            f"it has {len(SECRET_KEY)}."
        )

SITE_URL = env.url("SITE_URL", schemes=("http", "https"), default="http://127.0.0.1:8000")
assert SITE_URL is not None
_site = urlsplit(SITE_URL)
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
# Loopback names are always allowed: health checks probe from the same host or container.
# Safe because links in emails are built from SITE_URL, never from the Host header.
ALLOWED_HOSTS = [
    *env.comma_list("DJANGO_ALLOWED_HOSTS", default=[] if DEBUG else [_site.hostname or ""]),
    *LOOPBACK_HOSTS,
]
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.accounts",
    "apps.profiles",
    "apps.operations",
    "apps.tracking",
    "apps.careteam",
    "apps.reminders",
    "apps.delivery",
    "apps.progress",
    "apps.web",
    "rest_framework.authtoken",
    # Listed so Celery's autodiscovery imports worker/tasks.py.
    "worker",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.core.middleware.ApiBodySizeLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "stressrelief.urls"
WSGI_APPLICATION = "stressrelief.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
_database_url = env.url(
    "DATABASE_URL", schemes=("postgres", "postgresql", "pgsql", "sqlite"), default=None
)
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    DATABASES["default"].setdefault("OPTIONS", {})
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite cannot create its directory
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "stressrelief.sqlite3",
            "OPTIONS": {},
        }
    }
_default_db = DATABASES["default"]
if _default_db["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write the same file: WAL lets readers run beside one writer,
    # IMMEDIATE takes the write lock up front instead of failing half-way through a
    # transaction, and the timeout (seconds) waits out a busy writer.
    _default_db["OPTIONS"].update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not :memory:, so a real Celery worker process in the tests sees the data.
    _default_db["TEST"] = {"NAME": str(VAR_DIR / "test-stressrelief.sqlite3")}
else:
    # Seconds: an unreachable PostgreSQL fails fast with a clear error instead of hanging.
    _default_db["OPTIONS"].setdefault("connect_timeout", 5)
    # No JIT compilation: our queries are short OLTP statements, and on the therapist's
    # clients list (1,000 clients) the planner's cost estimate switched JIT on and its
    # compilation took ~1.0 s of a 1.3 s statement (benchmark 7). A DATABASE_URL that sets
    # `?options=...` itself keeps its own.
    _default_db["OPTIONS"].setdefault("options", "-c jit=off")
    _default_db["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Broker and cache -----------------------------------------------------------------
REDIS_URL = env.url("REDIS_URL", schemes=("redis", "rediss", "unix"), default=None)
# Where `make run` starts the embedded Redis when REDIS_URL is unset.
EMBEDDED_REDIS_SOCKET = VAR_DIR / "run" / "redis.sock"


def _celery_broker_url() -> str:
    """REDIS_URL if set; else CELERY_BROKER_URL (the launcher's filesystem fallback);
    else the embedded Redis socket that `make run` starts."""
    if REDIS_URL:
        return kombu_broker_url(REDIS_URL)
    explicit = env.url(
        "CELERY_BROKER_URL",
        schemes=("redis", "rediss", "redis+socket", "filesystem"),
        bare_schemes=("filesystem",),
    )
    return explicit or f"redis+socket://{EMBEDDED_REDIS_SOCKET}"


CELERY_BROKER_URL = _celery_broker_url()
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    # Seconds: fail fast when the broker is down instead of blocking a web request.
    "socket_connect_timeout": 5,
    "socket_timeout": 10,
    # A task not acknowledged in this many seconds is handed to another worker.
    "visibility_timeout": 3600,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task killed mid-run is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "run" / "celerybeat-schedule")

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# How long a computed progress document may be served again (apps/progress/cache.py says
# what a member sees meanwhile); 0 computes it for every request.
PROGRESS_CACHE_SECONDS = 30

# --- Email ----------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.text("DEFAULT_FROM_EMAIL", "stressrelief <nudges@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_MESSAGES_DIR = VAR_DIR / "mail"
_email_url = env.url(
    "EMAIL_URL",
    schemes=("smtp", "smtp+tls", "smtps", "smtp+ssl", "console", "file", "memory"),
    bare_schemes=("console", "memory"),
)
if _email_url:
    globals().update(email_settings_from_url(_email_url))
elif env.is_set("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.text("EMAIL_HOST")
    EMAIL_PORT = env.integer("EMAIL_PORT", default=25, minimum=1)
    EMAIL_HOST_USER = env.text("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env.text("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env.flag("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.flag("EMAIL_USE_SSL", default=False)
    EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", default=20, minimum=1)
elif DEBUG:
    # Every message on the console and as an .eml file under var/mail/, so a person
    # running the service on one machine can read the nudges it sends.
    EMAIL_BACKEND = "apps.operations.email_backends.ConsoleAndFileEmailBackend"
else:
    # Printing emails in production would put addresses and health nudges in the logs.
    raise ConfigurationError(
        "EMAIL_URL is not set: production (DJANGO_DEBUG=false) needs an SMTP server, e.g. "
        "EMAIL_URL=smtp+tls://user:password@mail.example.org:587."
    )

# --- Auth, i18n, static ---------------------------------------------------------------
# The member's web pages (apps/web): Django's own login views, our templates.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/today/"
LOGOUT_REDIRECT_URL = "/"

# Django's ModelBackend behind the per-account lockout (apps/accounts/lockout.py).
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.PasswordLockoutBackend"]
# After this many wrong passwords for one email address within LOCKOUT_MINUTES, every
# password for it is refused for LOCKOUT_MINUTES (counters in the cache: Redis in production).
LOCKOUT_FAILURES = env.integer("STRESSRELIEF_LOCKOUT_FAILURES", default=10, minimum=1)
LOCKOUT_MINUTES = env.integer("STRESSRELIEF_LOCKOUT_MINUTES", default=15, minimum=1)
# Argon2id first: new passwords and every log-in with an older hash get it. The others
# stay so hashes made before (PBKDF2, Django's old default) still verify and are upgraded.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"  # stored times are UTC; each member's own zone is on their profile
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # filled by collectstatic (the Dockerfile runs it)
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- API ------------------------------------------------------------------------------
# Bytes: the largest API request body (a check-in note is 2,000 characters).
API_MAX_BODY_BYTES = 64 * 1024
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.Pagination",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    # How many proxies in front set X-Forwarded-For. 0: the client address is the TCP
    # peer, so a forged header cannot give a client a fresh throttle identity.
    "NUM_PROXIES": env.integer("DJANGO_NUM_PROXIES", default=0, minimum=0),
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Per client IP (anonymous) or account: slows password and code guessing.
    "DEFAULT_THROTTLE_RATES": {
        "auth_token": env.rate("STRESSRELIEF_THROTTLE_AUTH", "10/min"),
        "register": env.rate("STRESSRELIEF_THROTTLE_REGISTER", "10/hour"),
        "password_reset": "10/hour",
        "care_team": "10/hour",
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "stressrelief API",
    "DESCRIPTION": (
        "Habits that prevent muscle spasm and stress, and the therapists who follow them."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Self-hosted Swagger UI assets: the docs page works offline and with no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two "kind" fields with different choices: name their enums.
    "ENUM_NAME_OVERRIDES": {
        "ActivityKindEnum": "apps.tracking.models.ActivityKind",
        "NudgeKindEnum": "apps.reminders.models.NudgeKind",
        # A member's stress trend and a client's, in two serializers: one enum.
        "TrendEnum": "apps.progress.figures.TRENDS",
    },
}

# --- Web Push (VAPID, RFC 8292) ----------------------------------------------------------
# Generate a pair with `python manage.py generate_vapid_keys`. Without keys the push
# channel is skipped (recorded as such), email and in-app still work.
VAPID_PUBLIC_KEY = env.text("VAPID_PUBLIC_KEY", "")
VAPID_PRIVATE_KEY = env.text("VAPID_PRIVATE_KEY", "")
VAPID_SUBJECT = env.text("VAPID_SUBJECT", "")  # empty: mailto: DEFAULT_FROM_EMAIL's address
# Tests run a push receiver on http://127.0.0.1; never in production.
WEBPUSH_ALLOW_INSECURE_ENDPOINTS = env.flag("WEBPUSH_ALLOW_INSECURE_ENDPOINTS", default=False)
# The browsers' push services a subscription may point at (host or a parent domain).
WEBPUSH_ALLOWED_HOST_SUFFIXES = env.comma_list(
    "WEBPUSH_ALLOWED_HOST_SUFFIXES",
    default=[
        "fcm.googleapis.com",
        "android.googleapis.com",
        "updates.push.services.mozilla.com",
        "push.services.mozilla.com",
        "notify.windows.com",
        "push.apple.com",
    ],
)

# Error pages and reports hide connection URLs too: they carry passwords.
DEFAULT_EXCEPTION_REPORTER_FILTER = "stressrelief.reporting.SecretHidingReporterFilter"

# --- Production hardening -------------------------------------------------------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env.flag("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Only behind a proxy that sets X-Forwarded-Proto itself; otherwise clients could lie.
    if env.flag("DJANGO_TRUST_X_FORWARDED_PROTO", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.integer("DJANGO_HSTS_SECONDS", default=31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REFERRER_POLICY = "same-origin"
    # /healthz is probed over plain HTTP by load balancers and compose health checks.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Logging: no personal data; messages name ids, never emails or health values -------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    # On loggers, not handlers: every handler (and a test's) gets the cleaned record.
    "filters": {
        "credential_paths": {"()": "stressrelief.log_filters.CredentialPathFilter"},
        "template_context": {"()": "stressrelief.log_filters.TemplateContextFilter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": env.choice(
            "DJANGO_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        ),
    },
    "loggers": {
        # Django adds its own console handler when DEBUG; one line per message is enough.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # Request lines name the path: an emailed link's token is a credential.
        "django.request": {"filters": ["credential_paths"]},
        "django.server": {"filters": ["credential_paths"]},
        "django.template": {"filters": ["template_context"]},
    },
}
