"""Settings for the submission benchmark: the shared base settings on the local
PostgreSQL and Redis, as production runs them, plus the baseline app.

Differences from production, and why:
- No TLS settings (wrk speaks plain HTTP to gunicorn on 127.0.0.1).
- Rate limits stay enabled (so their Redis round trips are measured) but with limits
  no benchmark reaches: all the load comes from one address.
- Field keys are fixed bench values (production refuses the embedded defaults).
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yjsb_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from config.settings.base import *  # noqa: F403
from config.settings.base import INSTALLED_APPS

DEBUG = False
ALLOWED_HOSTS = ["*"]
SECRET_KEY = "bench-only-secret-key-" + "x" * 40
FIELD_ENCRYPTION_KEYS = ["YmVuY2gtb25seS1maWVsZC1rZXktMzItYnl0ZXMhISE="]
FIELD_HASH_KEY = "bench-only-hash-key"

INSTALLED_APPS = [*INSTALLED_APPS, "bench.baseline"]
ROOT_URLCONF = "bench.urls"

# Health checks as in production (the bare view's Django cursor runs SELECT 1 before a
# request's first query; the form's statement looks at its socket instead); off for
# both with `run_submit.py --no-health-checks`.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = os.environ.get("BENCH_HEALTH_CHECKS", "1") == "1"  # noqa: F405

RATELIMIT_ENABLE = True
RATELIMIT_SUBMIT_PER_IP = "100000000/h"
RATELIMIT_SUBMIT_PER_PHONE = "100000000/h"

# Collected by the runner, as a deployment would; bench/results/ is git-ignored.
STATIC_ROOT = BASE_DIR / "bench" / "results" / "staticfiles"  # noqa: F405
