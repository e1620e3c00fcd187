"""The embedded default for `make run`: debug pages, demo logins, a quiet console."""

from .base import *  # noqa: F403
from .base import DATABASES, LOGGING, REDIS_URL, env

DEBUG = env.bool("DEBUG", default=True)
DEMO_MODE = env.bool("DEMO_MODE", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])

if not REDIS_URL:
    # The in-process broker, named with a host: kombu warns of a URL without one each
    # time an eager task borrows a producer.
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://localhost/")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite builds the covering indexes without their INCLUDE columns, which only
    # PostgreSQL reads.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

# The console shows the SMS and whatever goes wrong (a request refused or failing, a
# task's error); LOG_LEVEL=INFO adds every request and task.
log_level = env.str("LOG_LEVEL", default="WARNING")
LOGGING = {
    **LOGGING,
    "root": {**LOGGING["root"], "level": log_level},
    # Django's loggers write through the root's handler (once, at this level), not
    # through their own console handlers.
    "loggers": {**LOGGING["loggers"], "django": {"level": log_level}},
}
