"""Settings shared by every environment.

Everything comes from the environment through django-environ. With nothing set, the
project runs on its *embedded default*: SQLite, Celery tasks executed in-process and
SMS printed to the console, so a fresh machine needs nothing but Python.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Used only by the embedded default. Production refuses to start with it.
INSECURE_DEFAULT_SECRET_KEY = "django-insecure-embedded-default-do-not-use-in-production"

SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Demo mode allows demo logins with known passwords (seed_demo). Never in production.
DEMO_MODE = env.bool("DEMO_MODE", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_fsm",
    "pgtrigger",
    "apps.core",
    "apps.audit",
    "apps.accounts",
    "apps.regions",
    "apps.notifications",
    "apps.deadlines",
    "apps.households",
    "apps.declarations",
    "apps.screening",
    "apps.supervision",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Every request of a superuser is audited and alerted; it gives the audit log the
    # request of signals (admin changes, role changes).
    "apps.audit.middleware.AuditMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "apps.deadlines.context_processors.calendar_warning",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Django's ModelBackend with the administrator roles (三权分立): an administrator has
# the permissions of its duty and no other, whatever the account was given
# (apps.regions.access).
AUTHENTICATION_BACKENDS = ["apps.regions.access.RolePermissionBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "staff_start"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time -------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded documents (photos of household registers, consent forms…). Never served
# directly: a scoped view hands them to staff who may see the case.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/media-not-served/"
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Population roster files (CSV or .xlsx): a county's register is tens of megabytes.
ROSTER_UPLOAD_MAX_BYTES = env.int("ROSTER_UPLOAD_MAX_BYTES", default=100 * 1024 * 1024)
# Department data: an uploaded file of a feed, and the JSON body of one API batch.
FEED_UPLOAD_MAX_BYTES = env.int("FEED_UPLOAD_MAX_BYTES", default=100 * 1024 * 1024)
FEED_API_MAX_BYTES = env.int("FEED_API_MAX_BYTES", default=10 * 1024 * 1024)

# --- Redis: cache (rate limits) and Celery broker -----------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "yjsb",
            "TIMEOUT": 300,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_TASK_IGNORE_RESULT = True
# Embedded default: no broker, so tasks run in the web process.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# A web request must not hang when the broker is down: publish fails fast and the
# outbox sweep (notifications.tasks.dispatch_pending_messages) sends it later.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "visibility_timeout": 3600,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
OUTBOX_SWEEP_SECONDS = env.int("OUTBOX_SWEEP_SECONDS", default=60)
# How long a message may wait for its after-commit dispatch before the sweep sends it.
OUTBOX_DISPATCH_GRACE_SECONDS = env.int("OUTBOX_DISPATCH_GRACE_SECONDS", default=60)

# --- Sensitive fields ----------------------------------------------------------------
# Keys in Fernet's format (urlsafe base64, 32 bytes; AES-256-GCM keys are derived from
# them) for ID and phone numbers at rest; the first one
# encrypts, all of them decrypt, so keys can be rotated. The hash key makes the keyed
# hashes used for look-ups and duplicate checks. Production refuses the defaults.
INSECURE_DEFAULT_FIELD_KEY = "ZW1iZWRkZWQtZGVmYXVsdC1maWVsZC1rZXktMzJieXQ="
INSECURE_DEFAULT_HASH_KEY = "embedded-default-hash-key"
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[INSECURE_DEFAULT_FIELD_KEY])
FIELD_HASH_KEY = env.str("FIELD_HASH_KEY", default=INSECURE_DEFAULT_HASH_KEY)

# --- SMS -----------------------------------------------------------------------------
SMS_BACKEND = env.str("SMS_BACKEND", default="apps.notifications.backends.ConsoleBackend")
SMS_SIGN_NAME = env.str("SMS_SIGN_NAME", default="一键申报")
# Provider template codes, per message template, e.g.
#   SMS_TEMPLATE_CODES=grid_new_declaration=SMS_123,applicant_receipt=SMS_456
SMS_TEMPLATE_CODES = env.dict("SMS_TEMPLATE_CODES", default={})
SMS_MAX_ATTEMPTS = env.int("SMS_MAX_ATTEMPTS", default=8)
# Reminders are not sent between these local hours (start, end); urgent ones are.
SMS_QUIET_HOURS = tuple(env.list("SMS_QUIET_HOURS", cast=int, default=[21, 8]))
DEADLINE_SWEEP_MINUTES = env.int("DEADLINE_SWEEP_MINUTES", default=15)

# --- Dynamic monitoring ----------------------------------------------------------------
# 回头看: each month, this share of each county's households whose risk was eliminated
# within the window (at least one a county) is drawn for a look-back review.
LOOKBACK_SAMPLE_RATE = env.float("LOOKBACK_SAMPLE_RATE", default=0.2)
LOOKBACK_WINDOW_DAYS = env.int("LOOKBACK_WINDOW_DAYS", default=365)
# Medical costs raise a warning from this out-of-pocket amount (yuan), or above this share
# of the household's annual income, where the county has not set its own line for the year.
MEDICAL_OUT_OF_POCKET_DEFAULT = env.int("MEDICAL_OUT_OF_POCKET_DEFAULT", default=10000)
MEDICAL_INCOME_SHARE_DEFAULT = env.float("MEDICAL_INCOME_SHARE_DEFAULT", default=0.5)
# Households monitored this long without their risk eliminated are flagged (policy: over
# two years calls for close attention).
LONG_MONITORED_DAYS = env.int("LONG_MONITORED_DAYS", default=730)
ALIYUN_SMS_ACCESS_KEY_ID = env.str("ALIYUN_SMS_ACCESS_KEY_ID", default="")
ALIYUN_SMS_ACCESS_KEY_SECRET = env.str("ALIYUN_SMS_ACCESS_KEY_SECRET", default="")
ALIYUN_SMS_ENDPOINT = env.str("ALIYUN_SMS_ENDPOINT", default="dysmsapi.aliyuncs.com")
TENCENT_SMS_SECRET_ID = env.str("TENCENT_SMS_SECRET_ID", default="")
TENCENT_SMS_SECRET_KEY = env.str("TENCENT_SMS_SECRET_KEY", default="")
TENCENT_SMS_SDK_APP_ID = env.str("TENCENT_SMS_SDK_APP_ID", default="")
TENCENT_SMS_REGION = env.str("TENCENT_SMS_REGION", default="ap-guangzhou")

# --- Public form ---------------------------------------------------------------------
# Base of the URLs printed in QR codes; posters outlive servers, so set it to the
# province's permanent domain in production.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Rate limits ("count/period", period s, m, h or d). A whole village may sit behind one
# mobile-network IP, so the per-IP limits are generous and the per-phone ones tight.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_SUBMIT_PER_IP = env.str("RATELIMIT_SUBMIT_PER_IP", default="300/h")
RATELIMIT_SUBMIT_PER_PHONE = env.str("RATELIMIT_SUBMIT_PER_PHONE", default="5/h")
RATELIMIT_STATUS_PER_IP = env.str("RATELIMIT_STATUS_PER_IP", default="120/h")
RATELIMIT_STATUS_PER_TRACKING = env.str("RATELIMIT_STATUS_PER_TRACKING", default="10/h")
# Behind a reverse proxy, the client address comes from this header (set by the proxy).
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="")
# The public form is tiny; anything bigger is refused before it is parsed.
PUBLIC_FORM_MAX_BYTES = env.int("PUBLIC_FORM_MAX_BYTES", default=16 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- Security ------------------------------------------------------------------------
# Django's defaults already deny framing, send nosniff and a same-origin referrer policy,
# and keep the session cookie from scripts.
SESSION_COOKIE_AGE = 8 * 3600
CSRF_FAILURE_VIEW = "apps.core.views.csrf_failure"

# --- Audit ---------------------------------------------------------------------------
# Days the audit log is kept; the purge refuses anything under 180.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)

# --- Logging -------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_pii": {"()": "apps.core.logging.MaskPersonalDataFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_pii"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
