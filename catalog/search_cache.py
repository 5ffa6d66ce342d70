"""A short cache of catalog search results, keyed by the normalised filters.

The public search is read far more often than the catalog changes, and its answer (next session,
seats left) is information, not a promise: the booking path re-checks every seat under its lock.
So a result may be served again for `CARNET_CATALOG_CACHE_SECONDS` (default 3 s), from Redis when
`CARNET_REDIS_URL` is set (every app process shares it) and from this process's memory otherwise.
A result computed before this process's last commit is never served: a process reads its own
writes at once; another process's are seen within the TTL.
"""

from __future__ import annotations

import json
import logging
import time
import weakref
from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from portal.context import Context
from portal.db import Database

log = logging.getLogger(__name__)

_MEMORY_LIMIT = 2_000  # entries kept in memory at most (each is one page of 20 results)
_PREFIX = "carnet:catalog:search:"


class SearchCache:
    def __init__(self, ttl: float, redis_url: str | None) -> None:
        self.ttl = ttl
        self._memory: dict[str, tuple[float, Any]] = {}
        self._redis: Any = None
        if redis_url:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(redis_url)

    async def get(self, key: str, not_before: float) -> Any | None:
        """The value stored under `key` if younger than the TTL and computed after `not_before`."""
        now = time.time()
        if self._redis is None:
            entry = self._memory.get(key)
            if entry is None:
                return None
            computed_at, value = entry
        else:
            try:
                raw = await self._redis.get(_PREFIX + key)
            except Exception:  # a cache that is down is a cache miss
                log.warning("catalog search cache: Redis unavailable", exc_info=True)
                return None
            if raw is None:
                return None
            computed_at, value = json.loads(raw)
        if computed_at < not_before or now - computed_at >= self.ttl:
            return None
        return value

    async def put(self, key: str, value: Any, computed_at: float) -> None:
        if self._redis is None:
            if len(self._memory) >= _MEMORY_LIMIT:
                cutoff = time.time() - self.ttl
                self._memory = {k: v for k, v in self._memory.items() if v[0] >= cutoff}
                if len(self._memory) >= _MEMORY_LIMIT:
                    self._memory.clear()
            self._memory[key] = (computed_at, value)
            return
        try:
            await self._redis.set(
                _PREFIX + key, json.dumps([computed_at, value]), px=max(1, int(self.ttl * 1000))
            )
        except Exception:
            log.warning("catalog search cache: Redis unavailable", exc_info=True)


_caches: weakref.WeakKeyDictionary[Database, SearchCache] = weakref.WeakKeyDictionary()


def cache_for(ctx: Context) -> SearchCache | None:
    """The cache of this context's database, or None when caching is off."""
    if ctx.settings.catalog_cache_seconds <= 0:
        return None
    cache = _caches.get(ctx.db)
    if cache is None:
        cache = _caches[ctx.db] = SearchCache(ctx.settings.catalog_cache_seconds, ctx.settings.redis_url)
    return cache


def encode_items(items: list[Any], total: int) -> dict[str, Any]:
    """(CatalogItem list, total) as JSON-able data (the Redis form; memory keeps the same)."""
    rows = []
    for item in items:
        row = asdict(item)
        row["id"] = str(item.id)
        row["next_session_at"] = item.next_session_at.isoformat() if item.next_session_at else None
        rows.append(row)
    return {"items": rows, "total": total}


def decode_items(value: dict[str, Any], item_type: Any) -> tuple[list[Any], int]:
    items = []
    for row in value["items"]:
        row = dict(row)
        row["id"] = UUID(row["id"])
        row["next_session_at"] = (
            datetime.fromisoformat(row["next_session_at"]) if row["next_session_at"] else None
        )
        items.append(item_type(**row))
    return items, int(value["total"])
