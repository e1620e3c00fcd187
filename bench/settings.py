"""Settings of the benchmarks: production's (config.settings.production) on this
machine's PostgreSQL and Redis, with throwaway secrets.

Only the environment differs from a deployment's `.env`, and only where a benchmark on
127.0.0.1 must:
- throwaway SECRET_KEY and field keys (production refuses the embedded defaults);
- no redirect to HTTPS: the load speaks plain HTTP to gunicorn on the loopback (in
  production TLS ends at the reverse proxy, which sets X-Forwarded-Proto);
- this machine's Redis has no password, so production's demand for one is switched
  off (REDIS_REQUIRE_PASSWORD);
- the client address from X-Real-IP, as `.env.example` sets it behind the proxy: the
  surge sends one address per farmer, so production's rate limits apply unchanged;
- static files collected into bench/results/ (git-ignored);
- LOG_LEVEL WARNING, so that the benchmarks' own output stays readable.
Anything set in the environment wins (e.g. INTAKE_SINGLE_STATEMENT).
"""

import os

for _key, _value in {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/bench_surge",
    "REDIS_URL": "redis://127.0.0.1:6379/7",
    "SECRET_KEY": "bench-only-secret-key-not-a-secret-" + "x" * 30,
    "FIELD_ENCRYPTION_KEYS": "YmVuY2gtb25seS1maWVsZC1rZXktMzItYnl0ZXMhISE=",
    "FIELD_HASH_KEY": "bench-only-hash-key-not-a-secret-at-all",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "false",
    "REDIS_REQUIRE_PASSWORD": "false",
    "CLIENT_IP_HEADER": "HTTP_X_REAL_IP",
    "LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(_key, _value)

from config.settings.production import *  # noqa: E402, F403
from config.settings.production import BASE_DIR  # noqa: E402

STATIC_ROOT = BASE_DIR / "bench" / "results" / "staticfiles"
