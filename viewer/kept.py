"""A small thread-safe store of values computed from a scope table alone, least recently used dropped.

Keys start with the table's name, which changes with the scope's files, so nothing kept can go stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class Kept:
    def __init__(self, size: int = 512, max_bytes: int | None = None) -> None:
        """At most `size` values, and (when given) values of at most `max_bytes` together, by their `nbytes` (the
        newest is kept whatever its size)."""
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()  # outside the lock: two first requests may both compute; either result is the same
        with self._lock:
            if key in self._items:
                self._bytes -= _weight(self._items.pop(key))
            self._items[key] = value
            self._bytes += _weight(value)
            while len(self._items) > 1 and (len(self._items) > self._size or self._over()):
                self._bytes -= _weight(self._items.popitem(last=False)[1])
        return value

    def _over(self) -> bool:
        return self._max_bytes is not None and self._bytes > self._max_bytes


def _weight(value: Any) -> int:
    return int(getattr(value, "nbytes", 0))
