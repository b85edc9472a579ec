"""Finished `/v1/load` bodies kept per (caller's claims, query), as Cube's in-memory result
cache: an entry is valid while the warehouse file is unchanged (its modification time is
Cube's refresh key here), least recently used entries go first; `renewQuery: true` skips
the cache, as in Cube."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class ResultCache:
    def __init__(self, size: int = 512):
        self.size = size
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, refresh_key: float) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != refresh_key:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: str, refresh_key: float, body: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = (refresh_key, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
