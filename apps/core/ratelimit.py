"""Fixed-window rate limits for the public pages, counted in Django's cache (Redis in
production, so every web process counts against the same windows)."""

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Limit:
    group: str  # what is limited, e.g. "submit-ip"
    key: str  # whose use is counted, e.g. the client address or a phone hash
    rate: str  # "count/period", period s, m, h or d


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, unit = rate.partition("/")
    return int(count), _PERIODS[unit]


def exceeded(limits: list[Limit]) -> bool:
    """Count one use against each limit; True when any of them is over its rate.

    Fails open if the cache is unreachable: a farmer must be able to declare even when
    the limiter cannot count (the form has its other defences).
    """
    if not settings.RATELIMIT_ENABLE:
        return False
    now = time.time()
    over = False
    try:
        for limit in limits:
            count, period = parse_rate(limit.rate)
            digest = hashlib.blake2b(limit.key.encode(), digest_size=12).hexdigest()
            key = f"rl:{limit.group}:{int(now // period)}:{digest}"
            # The first use of a window creates its counter; later ones increment it.
            used = 1 if cache.add(key, 1, period + 1) else cache.incr(key)
            over |= used > count
    except Exception as exc:  # the cache's client errors differ by backend
        logger.warning("rate limit not counted, cache unavailable: %s", type(exc).__name__)
        return False
    return over
