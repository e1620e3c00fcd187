"""Fixed-window rate limits for the public pages, all of a request's limits in one
Redis round trip.

We used django-ratelimit first; on the form it cost about a fifth of the request's CPU
(three Redis commands per limit through Django's cache, which builds a new Redis
client for each), measured in bench/. Here every limit of a request is counted by one
small Lua script (INCR + EXPIRE NX per key) on a shared client. Without Redis (the
embedded default) the Django cache serves, with the same semantics.
"""

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Limit:
    group: str  # what is limited, e.g. "submit-ip"
    key: str  # whose use is counted, e.g. the client address or a phone hash
    rate: str  # "count/period", period s, m, h or d


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, unit = rate.partition("/")
    return int(count), _PERIODS[unit]


@lru_cache(maxsize=1)
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


# INCR each key, and give it its window's expiry if it has none: one command for all the
# limits of a request (a pipeline of INCR + EXPIRE NX per limit cost a third more CPU in
# the client). The server keeps the script; `_run_counter` sends it again after a restart.
_COUNT = """
local used = {}
for i, key in ipairs(KEYS) do
  used[i] = redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[i], 'NX')
end
return used
"""
# Redis names a script by the SHA-1 of its text (an identifier, not a protection).
_COUNT_SHA = hashlib.sha1(_COUNT.encode(), usedforsecurity=False).hexdigest()


class _ThreadConnection(threading.local):
    """Each thread's own connection to Redis for the counter, made from the client's
    settings and kept: the pool's check-out and check-in, and the deprecation check
    redis-py wraps around the check-out, cost about a third of a limit check's CPU."""

    made_for: tuple[str, int] | None = None  # (url, process id)
    connection = None

    def get(self, url: str):
        if self.made_for != (url, os.getpid()):  # new, another server, or a fork's child
            if self.connection is not None and self.made_for[1] == os.getpid():
                self.connection.disconnect()
            pool = _redis(url).connection_pool
            self.connection = pool.connection_class(**pool.connection_kwargs)
            self.made_for = (url, os.getpid())
        return self.connection


_thread_connection = _ThreadConnection()


def _run_counter(url: str, keys: list[str], periods: list[int]) -> list[int]:
    """Run the script on this thread's connection: EVALSHA, and EVAL once if the server
    does not know it (a restart, SCRIPT FLUSH). redis-py's Script object costs about
    45 % more CPU per call for the same command (bench/, docs/benchmarks.md)."""
    import redis

    connection = _thread_connection.get(url)
    try:
        try:
            connection.send_command("EVALSHA", _COUNT_SHA, len(keys), *keys, *periods)
            return connection.read_response()
        except redis.exceptions.NoScriptError:
            connection.send_command("EVAL", _COUNT, len(keys), *keys, *periods)
            return connection.read_response()
    except (redis.ConnectionError, redis.TimeoutError):
        # The connection is in an unknown state: drop it; the next call reconnects.
        connection.disconnect()
        raise


def exceeded(limits: list[Limit]) -> bool:
    """Count one use against each limit; True when any of them is over its rate.

    Fails open if Redis is unreachable: a farmer must be able to declare even when the
    limiter cannot count (the form has its other defences).
    """
    if not settings.RATELIMIT_ENABLE or not limits:
        return False
    now = time.time()
    windows = []
    for limit in limits:
        count, period = parse_rate(limit.rate)
        digest = hashlib.blake2b(limit.key.encode(), digest_size=12).hexdigest()
        windows.append((f"yjsb:rl:{limit.group}:{int(now // period)}:{digest}", count, period))
    if settings.REDIS_URL:
        import redis

        try:
            used = _run_counter(
                settings.REDIS_URL,
                [key for key, _limit, _period in windows],
                [period + 1 for _key, _limit, period in windows],
            )
        except redis.RedisError:
            return False
    else:
        used = []
        for key, _count, period in windows:
            cache.add(key, 0, period + 1)
            used.append(cache.incr(key))
    return any(n > count for n, (_key, count, _period) in zip(used, windows, strict=True))
