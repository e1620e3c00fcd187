"""Settings shared by every environment.

Everything comes from the environment through django-environ. With nothing set, the
project runs on its *embedded default*: SQLite, Celery tasks executed in-process and
SMS printed to the console, so a fresh machine needs nothing but Python.
"""

import datetime as dt
import ssl
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
    # The admin site asks for a verified second factor (apps.accounts.admin_site).
    "apps.accounts.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_fsm",
    "pgtrigger",
    "csp",
    # Sign-in: lockout after repeated failures, and the second factor.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "apps.core",
    "apps.audit",
    "apps.accounts",
    "apps.regions",
    "apps.notifications",
    "apps.deadlines",
    "apps.households",
    "apps.declarations",
    "apps.screening",
    "apps.quality",
    "apps.spotchecks",
    "apps.supervision",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "apps.core.middleware.PermissionsPolicyMiddleware",
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
    "django_otp.middleware.OTPMiddleware",
    # Idle and absolute session limits, then the second factor and the password's age.
    "apps.accounts.middleware.SignInPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a sign-in refused for a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
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
    # TLS to PostgreSQL: libpq's options, from DATABASE_URL's query
    # (?sslmode=verify-full&sslrootcert=/tls/ca.crt) or from these variables, e.g.
    # DATABASE_SSLMODE=verify-full (encrypted, certificate and host name checked)
    # and DATABASE_SSLROOTCERT=/tls/ca.crt; DATABASE_SSLCERT/SSLKEY for a client
    # certificate.
    for _option in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if _value := env.str(f"DATABASE_{_option.upper()}", default=""):
            DATABASES["default"].setdefault("OPTIONS", {})[_option] = _value
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A PostgreSQL streaming replica for the reads that may lag a moment behind: the
# dashboards, the exports and the nightly data-quality run (apps.core.replica). Without
# it every read goes to the primary. In tests the alias mirrors the default database.
if _replica := env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **DATABASES["default"],
        **env.db_url_config(_replica),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["apps.core.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "staff_start"
LOGOUT_REDIRECT_URL = "login"

# Axes refuses a sign-in while its user name or address is locked; it must come first.
# Then Django's model backend with the administrator roles' duties
# (apps.regions.access): each administrator holds only its duty's permissions.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "apps.regions.access.RolePermissionBackend",
]

# Passwords (等保 L3 身份鉴别): 10+ characters of three of the four classes, not the user
# name, none of the last five, changed every PASSWORD_MAX_AGE_DAYS days.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "apps.accounts.validators.ComplexityValidator",
        "OPTIONS": {"min_length": 10, "min_classes": 3},
    },
    {"NAME": "apps.accounts.validators.UsernameValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "apps.accounts.validators.HistoryValidator", "OPTIONS": {"keep": 5}},
]
PASSWORD_MAX_AGE_DAYS = env.int("PASSWORD_MAX_AGE_DAYS", default=90)

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
# Files are encrypted at rest like the sensitive fields (apps.core.storage).
STORAGES = {
    "default": {"BACKEND": "apps.core.storage.EncryptedFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Population roster files (CSV or .xlsx): a county's register is tens of megabytes.
ROSTER_UPLOAD_MAX_BYTES = env.int("ROSTER_UPLOAD_MAX_BYTES", default=100 * 1024 * 1024)
# The national system's export of a county's monitored households (CSV or .xlsx).
NATIONAL_UPLOAD_MAX_BYTES = env.int("NATIONAL_UPLOAD_MAX_BYTES", default=100 * 1024 * 1024)
# Department data: an uploaded file of a feed, and the JSON body of one API batch.
FEED_UPLOAD_MAX_BYTES = env.int("FEED_UPLOAD_MAX_BYTES", default=100 * 1024 * 1024)
FEED_API_MAX_BYTES = env.int("FEED_API_MAX_BYTES", default=10 * 1024 * 1024)

# --- Redis: cache (rate limits) and Celery broker -----------------------------------
# redis://:password@host:6379/0, or rediss://:password@host:6380/0 for TLS (production
# refuses a URL without a password). Over TLS the server's certificate is verified
# against REDIS_TLS_CA_CERTS (the system's CAs if empty), host name included; with
# REDIS_TLS_CERTFILE/KEYFILE this client shows its own certificate (mutual TLS).
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
REDIS_TLS_OPTIONS = {
    "ssl_cert_reqs": ssl.CERT_REQUIRED,
    **{
        option: value
        for option, value in {
            "ssl_ca_certs": env.str("REDIS_TLS_CA_CERTS", default=""),
            "ssl_certfile": env.str("REDIS_TLS_CERTFILE", default=""),
            "ssl_keyfile": env.str("REDIS_TLS_KEYFILE", default=""),
        }.items()
        if value
    },
}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "yjsb",
            "TIMEOUT": 300,
            "OPTIONS": REDIS_TLS_OPTIONS if REDIS_URL.startswith("rediss://") else {},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if CELERY_BROKER_URL.startswith("rediss://"):
    CELERY_BROKER_USE_SSL = REDIS_TLS_OPTIONS
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
# The algorithms (apps.core.crypto): "aes-256-gcm" or "sm4-gcm" (国密 SM4) encrypts,
# "hmac-sha256" or "hmac-sm3" (国密 SM3) hashes. Values written under the other cipher
# still decrypt; after changing either (or a key), run `manage.py rotate_keys` — a
# change of FIELD_HASH or FIELD_HASH_KEY needs a maintenance window (docs/decisions.md).
FIELD_CIPHER = env.str("FIELD_CIPHER", default="aes-256-gcm")
FIELD_HASH = env.str("FIELD_HASH", default="hmac-sha256")

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
# SMS a day (local day) before non-urgent messages are held until the next day and the
# province's security administrators are alerted; 0 for no budget. Notices of new cases
# to grid workers always go.
SMS_DAILY_BUDGET = env.int("SMS_DAILY_BUDGET", default=20000)

# --- Dynamic monitoring ----------------------------------------------------------------
# 回头看: each month, this share of each county's households whose risk was eliminated
# within the window (at least one a county) is drawn for a look-back review.
LOOKBACK_SAMPLE_RATE = env.float("LOOKBACK_SAMPLE_RATE", default=0.2)
LOOKBACK_WINDOW_DAYS = env.int("LOOKBACK_WINDOW_DAYS", default=365)
# Routine spot checks (apps.spotchecks): the share of a month's decided cases drawn in
# each county, rounded up, and at least one per township that decided any.
SPOT_CHECK_SHARE = env.str("SPOT_CHECK_SHARE", default="0.05")
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
# A lost tracking number asked for again: per ID number (normalised) and per phone.
RATELIMIT_RECOVER_PER_ID = env.str("RATELIMIT_RECOVER_PER_ID", default="5/d")
RATELIMIT_RECOVER_PER_PHONE = env.str("RATELIMIT_RECOVER_PER_PHONE", default="5/d")
# SMS that a public page causes (the receipt, the open-case notice, one-time codes), per
# recipient phone, per client address and per village. Over a limit, the receipt and the
# open-case notice are not sent (the page shows what matters) and no code is issued.
RATELIMIT_SMS_PER_PHONE = env.str("RATELIMIT_SMS_PER_PHONE", default="5/h")
RATELIMIT_SMS_PER_IP = env.str("RATELIMIT_SMS_PER_IP", default="300/h")
RATELIMIT_SMS_PER_VILLAGE = env.str("RATELIMIT_SMS_PER_VILLAGE", default="200/h")
# Status-page actions (withdraw, appeal) need a one-time code sent by SMS: at most this
# many codes per case.
RATELIMIT_CODE_PER_CASE = env.str("RATELIMIT_CODE_PER_CASE", default="3/h")
# Behind a reverse proxy, the client address comes from this header (set by the proxy).
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="")
# The public form is tiny; anything bigger is refused before it is parsed.
PUBLIC_FORM_MAX_BYTES = env.int("PUBLIC_FORM_MAX_BYTES", default=16 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- Anomaly alerts (apps/supervision/anomalies.py, docs/anomalies.md) -------------------
# A village with no declaration for this many weeks while another village of its
# township has some.
ANOMALY_QUIET_WEEKS = env.int("ANOMALY_QUIET_WEEKS", default=8)
# Cases visited and evaluated on their day of submission, looked for this far back.
ANOMALY_FAST_WINDOW_DAYS = env.int("ANOMALY_FAST_WINDOW_DAYS", default=30)
# Rejections by one user in one day that make "rejections in bulk".
ANOMALY_BULK_REJECTIONS = env.int("ANOMALY_BULK_REJECTIONS", default=10)
# A township's or village's rejection rate at least this multiple of its county's, over
# the decided cases submitted in the window, with at least the minimum of decided cases.
ANOMALY_RATE_WINDOW_DAYS = env.int("ANOMALY_RATE_WINDOW_DAYS", default=90)
ANOMALY_RATE_MULTIPLE = env.float("ANOMALY_RATE_MULTIPLE", default=2.0)
ANOMALY_RATE_MIN_CASES = env.int("ANOMALY_RATE_MIN_CASES", default=10)
# Open cases in a grid worker's villages (their groups, if they cover some).
ANOMALY_WORKER_OPEN_CASES = env.int("ANOMALY_WORKER_OPEN_CASES", default=40)
# Declarations in one day in a village / a township: a possible disaster, the county is
# told at once by SMS, quiet hours or not.
ANOMALY_SURGE_VILLAGE = env.int("ANOMALY_SURGE_VILLAGE", default=15)
ANOMALY_SURGE_TOWNSHIP = env.int("ANOMALY_SURGE_TOWNSHIP", default=40)
# A surge check queued and not started within this many seconds (a lost task) no longer
# stops the next declaration from queueing another.
ANOMALY_SURGE_QUEUED_SECONDS = env.int("ANOMALY_SURGE_QUEUED_SECONDS", default=300)
# Distinct applicants giving one mobile number, in the window.
ANOMALY_PHONE_APPLICANTS = env.int("ANOMALY_PHONE_APPLICANTS", default=4)
ANOMALY_PHONE_WINDOW_DAYS = env.int("ANOMALY_PHONE_WINDOW_DAYS", default=365)
# How often the periodic rules run.
ANOMALY_RUN_MINUTES = env.int("ANOMALY_RUN_MINUTES", default=60)

# --- Security ------------------------------------------------------------------------
# Django's defaults already deny framing, send nosniff and a same-origin referrer policy,
# and keep the session cookie from scripts.
# A session ends after SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS after
# sign-in, whatever the activity; both are checked on the server
# (apps.accounts.middleware), the cookie's age only matches the second.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
SESSION_MAX_HOURS = env.int("SESSION_MAX_HOURS", default=12)
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600
# Content-Security-Policy (django-csp) on every page, the admin's included: scripts,
# styles, images and form posts from this site only, no inline script or style at all
# (templates link static files), no plugins, never framed. An injected <script> or
# style="" does not run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # QR codes are inline <svg> elements, photos of documents come from a staff view.
        "img-src": ["'self'"],
        "connect-src": ["'self'"],
        # The staff pages' service worker (static/js/sw.js, served at /staff/sw.js).
        "worker-src": ["'self'"],
        "font-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
# Permissions-Policy (apps.core.middleware): browser features no page uses are off.
# WebAuthn security keys stay allowed for this site's own sign-in pages.
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "autoplay": [],
    "bluetooth": [],
    "camera": [],
    "display-capture": [],
    "geolocation": [],
    "gyroscope": [],
    "hid": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "serial": [],
    "usb": [],
    "xr-spatial-tracking": [],
    "publickey-credentials-create": ["self"],
    "publickey-credentials-get": ["self"],
}
CSRF_FAILURE_VIEW = "apps.core.views.csrf_failure"

# --- Sign-in lockout (django-axes) ----------------------------------------------------
# LOGIN_FAILURE_LIMIT failed sign-ins lock the user name, and separately the address, for
# LOGIN_LOCKOUT_MINUTES (0: until a security administrator unlocks). A wrong second
# factor counts as a failure too.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
_lockout_minutes = env.int("LOGIN_LOCKOUT_MINUTES", default=30)
AXES_COOLOFF_TIME = dt.timedelta(minutes=_lockout_minutes) if _lockout_minutes else None
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "apps.core.views.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_RESET_ON_SUCCESS = True
# Locks are listed and lifted on the security administrator's page, not in the admin.
AXES_ENABLE_ADMIN = False
# Nothing typed is kept with an attempt (a password typed into the user name field).
AXES_SENSITIVE_PARAMETERS = ["username", "password", "ip_address"]

# --- Second factor (django-otp, django-otp-webauthn) -----------------------------------
# Every staff sign-in needs a TOTP code, a backup code or a security key, except for the
# demo logins in demo mode.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="一键申报")
OTP_WEBAUTHN_RP_ID = env.str("OTP_WEBAUTHN_RP_ID", default="localhost")
OTP_WEBAUTHN_RP_NAME = env.str("OTP_WEBAUTHN_RP_NAME", default="一键申报")
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list(
    "OTP_WEBAUTHN_ALLOWED_ORIGINS", default=["http://localhost:8000"]
)

# --- Audit ---------------------------------------------------------------------------
# Days the audit log is kept; the purge refuses anything under 180.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)

# --- Retention (剩余信息保护): what the daily purge removes, and when ----------------------
# Declarations not enrolled (rejected) or withdrawn: years after their last log entry;
# removed with their log, clocks, messages, documents and files.
RETENTION_CLOSED_DECLARATION_YEARS = env.int("RETENTION_CLOSED_DECLARATION_YEARS", default=3)
# SMS: the parameters (the text) of sent or failed messages are blanked after these days;
# the row (template, recipient, status, times) stays.
RETENTION_SMS_BODY_DAYS = env.int("RETENTION_SMS_BODY_DAYS", default=180)
# Export files on disk (full ID numbers): deleted after these days, the row marked expired.
RETENTION_EXPORT_FILE_DAYS = env.int("RETENTION_EXPORT_FILE_DAYS", default=7)
# Scheduled jobs that must not run twice at once hold a lock in the cache (Redis) for at
# most this long; a worker that dies mid-run frees it after this time.
JOB_LOCK_TIMEOUT_SECONDS = env.int("JOB_LOCK_TIMEOUT_SECONDS", default=6 * 3600)

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
