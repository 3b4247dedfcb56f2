"""Settings for the City Diplomacy Tracker.

Everything that differs between a laptop and production comes from the environment
(see `.env.example`). Without any variable set, the app runs in its embedded mode: a SQLite
file under `var/` and Celery on a file-system broker, so nothing needs installing.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from utilities.storage import storage_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
# A checkout's `.env` (written by `make run`) fills in what the environment leaves unset;
# ENV_FILE names another file, or none when empty (as the production checks in the tests do).
ENV_FILE = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).exists():
    environ.Env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)

# A development key only when DEBUG is on: production must bring its own.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-used-in-production-3f9a1c"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "django_celery_beat",
    "axes",
    "csp",
    "accounts",
    "cities",
    "contacts",
    "engagements",
    "documents",
    "compliance",
    "notifications",
    "imports",
    "dashboards",
    "calendars",
    "search",
    "rollups",
    # No models: the shared template tags (`utilities`), the `seed_scale` command (`benchmarks`).
    "utilities",
    "benchmarks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's, letting the type-ahead leave an unchanged session unsaved (utilities/sessions.py).
    "utilities.sessions.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "diplomacy.urls"
WSGI_APPLICATION = "diplomacy.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

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
                "accounts.context_processors.policy",
                "notifications.context_processors.notifications",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'diplomacy.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while the worker writes; IMMEDIATE avoids the
        # "database is locked" upgrade deadlock between two writers.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    # A new connection per request costs 3-6x throughput; keep them and check them.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Django's own cursors bind on the client and never prepare. The statements every API
    # request runs (the token's read, a list's total, the database-written page) go through a
    # server-binding cursor that asks to prepare them (utilities/prepared.py); this lets psycopg
    # do so. Behind a pooler that cannot keep prepared statements (PgBouncer before 1.21 in
    # transaction mode), set it to 0.
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -------------------------------------------------------------------------------------

# Throttle counters, sign-in lockouts and cached values are shared by every process and host
# through Redis when REDIS_URL is set (SPEC §8.5); the embedded mode has one process's memory.
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_URL = env.str("CACHE_URL", default=REDIS_URL)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="diplomacy"),
            "TIMEOUT": 300,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -------------------------------------------------------------------------------

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # An unacknowledged task comes back after this long; long jobs recover through
    # their own heartbeat sweep, so this only bounds the worst case.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # Embedded mode: a real broker without a server, so tasks still go through Celery.
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "celery-broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "data_folder_processed": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60 * 30
CELERY_TASK_TIME_LIMIT = 60 * 31
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Email ------------------------------------------------------------------------------

EMAIL_URL = env.str("EMAIL_URL", default="consolemail://")
vars().update(env.email_url_config(EMAIL_URL))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="City Diplomacy Tracker <noreply@localhost>")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# A notification email is tried this many times, waiting twice as long after each failure.
NOTIFICATION_EMAIL_MAX_ATTEMPTS = env.int("NOTIFICATION_EMAIL_MAX_ATTEMPTS", default=5)
NOTIFICATION_EMAIL_RETRY_SECONDS = env.float("NOTIFICATION_EMAIL_RETRY_SECONDS", default=60.0)

# --- Auth and sessions --------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a sign-in while the account or the address is locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttling (site login and admin alike): after AXES_FAILURE_LIMIT failures in a row for
# one username, or from one address, that username (from anywhere) and that address (for any
# username) are refused for AXES_COOLOFF_TIME, then may try again; a success resets the count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# Behind the TLS proxy of docker-compose, the client's address is the last one it appends to
# X-Forwarded-For; AXES_PROXY_COUNT says how many proxies to trust (0: use REMOTE_ADDR only).
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if AXES_IPWARE_PROXY_COUNT else ("REMOTE_ADDR",)
)
AXES_SENSITIVE_PARAMETERS = ["password"]
# Failed attempts are what lock out; a log row per successful sign-in is not needed.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = env.bool("AXES_VERBOSE", default=False)

# Sessions expire after two hours without activity.
SESSION_COOKIE_AGE = 60 * 60 * 2
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp; Django 5.2 has none of its own): scripts and styles only
# from our own static files, no inline script or handler, no eval. The API docs page loads its
# script from a URL too (SpectacularSwaggerSplitView).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # /healthz is probed over plain HTTP inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Internationalisation -------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
_node_modules = BASE_DIR / "node_modules"
if _node_modules.exists():
    STATICFILES_DIRS.append(("vendor", _node_modules))
# Uploaded files (imports): see utilities/storage.py for the forms STORAGE_URL takes.
STORAGE_URL = env.str("STORAGE_URL", default="")
STORAGES = {
    "default": storage_from_url(STORAGE_URL),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"

# Uploads above this many bytes go to a temporary file rather than memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
IMPORT_MAX_FILE_BYTES = env.int("IMPORT_MAX_FILE_BYTES", default=200 * 1024 * 1024)
# Documents on agreements and engagements (SPEC §8.4): at most 25 MB each.
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=25 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=2_000_000)
# An XLSX file is a zip archive: bound what it may inflate to before anything reads it.
IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = env.int("IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES", default=1024 * 1024 * 1024)
IMPORT_XLSX_MAX_ENTRIES = env.int("IMPORT_XLSX_MAX_ENTRIES", default=1000)
# A running import whose heartbeat is older than this is presumed dead and resumed elsewhere.
IMPORT_STALE_AFTER_SECONDS = env.int("IMPORT_STALE_AFTER_SECONDS", default=120)
IMPORT_MAX_ATTEMPTS = env.int("IMPORT_MAX_ATTEMPTS", default=5)

# --- REST framework ----------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # The access policy (accounts/policy.py) decides every API request; a view that is no
    # `utilities.api.ApiViewSet` (imports, notifications) names its own.
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.PolicyPermission"],
    # JSON that Python's parser would choke on (NaN, 5,000 levels deep, lone surrogates) is a 400.
    "DEFAULT_PARSER_CLASSES": [
        "utilities.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "utilities.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.PartnerRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"partner": env.str("PARTNER_THROTTLE_RATE", default="120/min")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
REST_KNOX = {
    "TOKEN_TTL": None,
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "City Diplomacy Tracker API",
    "DESCRIPTION": "US cities' international engagements, agreements and network memberships.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `kind` and a `status`; each choice set gets its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "AgreementKindEnum": "engagements.models.Agreement.Kind",
        "AgreementStatusEnum": "engagements.models.Agreement.Status",
        "EngagementKindEnum": "engagements.models.Engagement.Kind",
        "EngagementStatusEnum": "engagements.models.Engagement.Status",
        "OrganizationKindEnum": "cities.models.Organization.Kind",
        "ImportKindEnum": "imports.models.ImportJob.Kind",
        "ImportStatusEnum": "imports.models.ImportJob.Status",
        "NotificationKindEnum": "notifications.models.Kind",
        "DocumentKindEnum": "documents.models.Document.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "utilities.api.add_error_responses",
    ],
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
