"""Fixed-window rate limits for the public pages, all of a request's limits in one
Redis round trip.

We used django-ratelimit first; on the form it cost about a fifth of the request's CPU
(three Redis commands per limit through Django's cache, which builds a new Redis
client for each), measured in bench/. Here every limit of a request is one pipeline of
INCR + EXPIRE NX on a shared client. Without Redis (the embedded default) the Django
cache serves, with the same semantics.
"""

import hashlib
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
            pipe = _redis(settings.REDIS_URL).pipeline(transaction=False)
            for key, _count, period in windows:
                pipe.incr(key)
                pipe.expire(key, period + 1, nx=True)
            used = pipe.execute()[::2]
        except redis.RedisError:
            return False
    else:
        used = []
        for key, _count, period in windows:
            cache.add(key, 0, period + 1)
            used.append(cache.incr(key))
    return any(n > count for n, (_key, count, _period) in zip(used, windows, strict=True))
