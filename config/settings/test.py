"""Settings for the test suite.

With DATABASE_URL and REDIS_URL set (as .ci/run does) the suite runs on PostgreSQL and
Redis; tests that need them fail, not skip, when REQUIRE_SERVICES is set.
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
DEMO_MODE = True
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SMS_BACKEND = "apps.notifications.backends.LocmemBackend"
# Tests decide per case whether tasks run eagerly or on a real worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
REQUIRE_SERVICES = env.bool("REQUIRE_SERVICES", default=False)
FIELD_ENCRYPTION_KEYS = ["dGVzdC1maWVsZC1rZXktdGVzdC1maWVsZC1rZXktMzI="]
FIELD_HASH_KEY = "test-hash-key"
# Test threads (live server, in-process Celery worker) must not keep connections open
# past the test, or the test database cannot be flushed and dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
