"""Production: PostgreSQL, Redis, gunicorn, Celery worker and beat.

Refuses to start with DEBUG on, a default SECRET_KEY or default field keys, or a Redis
without a password.
"""

from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from apps.core.crypto import CIPHERS, HASHES

from .base import *  # noqa: F403
from .base import (
    CELERY_BROKER_URL,
    DATABASES,
    DEBUG,
    FIELD_CIPHER,
    FIELD_ENCRYPTION_KEYS,
    FIELD_HASH,
    FIELD_HASH_KEY,
    INSECURE_DEFAULT_FIELD_KEY,
    INSECURE_DEFAULT_HASH_KEY,
    INSECURE_DEFAULT_SECRET_KEY,
    REDIS_URL,
    SECRET_KEY,
    env,
)

# Demo mode lets the demo logins skip the second factor: never in production.
if env.bool("DEMO_MODE", default=False):
    raise ImproperlyConfigured("DEMO_MODE must be off in production.")
DEMO_MODE = False

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production.")
if SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("Set SECRET_KEY to a random value of at least 50 characters.")
if (
    not FIELD_ENCRYPTION_KEYS
    or INSECURE_DEFAULT_FIELD_KEY in FIELD_ENCRYPTION_KEYS
    or FIELD_HASH_KEY == INSECURE_DEFAULT_HASH_KEY
    or len(FIELD_HASH_KEY) < 32
):
    raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEYS and a FIELD_HASH_KEY of 32+ characters.")
try:
    for _key in FIELD_ENCRYPTION_KEYS:
        Fernet(_key.encode())
except ValueError:
    raise ImproperlyConfigured("Each of FIELD_ENCRYPTION_KEYS must be a Fernet key.") from None
if FIELD_CIPHER not in CIPHERS:
    raise ImproperlyConfigured(f"FIELD_CIPHER must be one of: {', '.join(CIPHERS)}.")
if FIELD_HASH not in HASHES:
    raise ImproperlyConfigured(f"FIELD_HASH must be one of: {', '.join(HASHES)}.")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production runs on PostgreSQL: set DATABASE_URL.")
if not REDIS_URL:
    raise ImproperlyConfigured("Production needs Redis: set REDIS_URL.")
# Redis holds the broker's task queue and the rate-limit counters: anyone who can reach
# it unauthenticated could read or forge tasks. Only a machine whose Redis listens on
# the loopback alone (the benchmarks) may switch this off.
if env.bool("REDIS_REQUIRE_PASSWORD", default=True):
    for _name, _url in (("REDIS_URL", REDIS_URL), ("CELERY_BROKER_URL", CELERY_BROKER_URL)):
        if not urlsplit(_url).password:
            raise ImproperlyConfigured(
                f"{_name} must carry the Redis password: redis://:password@host:6379/0 "
                "(rediss:// for TLS)."
            )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
STORAGES = {
    "default": {"BACKEND": "apps.core.storage.EncryptedFileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = ["security.W021"] if not SECURE_HSTS_PRELOAD else []
