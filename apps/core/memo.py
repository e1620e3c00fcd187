"""A small per-process cache with expiry, for hot read-mostly look-ups on the public
form (village by QR slug, who to notify). Values are at most `ttl` seconds stale;
nothing here is shared between processes or persisted."""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

_registry: list["TTLMemo"] = []


class TTLMemo:
    def __init__(self, ttl: float, maxsize: int = 50_000):
        self.ttl, self.maxsize = ttl, maxsize
        self._data: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        _registry.append(self)

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = compute()
        if value is None:  # misses are not remembered: a new row shows at once
            return None
        with self._lock:
            if len(self._data) >= self.maxsize:
                self._data.clear()
            self._data[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def clear_all() -> None:
    """Forget everything (tests, after changing staff or regions in bulk)."""
    for memo in _registry:
        memo.clear()
