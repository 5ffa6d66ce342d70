"""A short cache of catalog search results, keyed by the normalised filters.

The public search is read far more often than the catalog changes, and its answer (next session,
seats left) is information, not a promise: the booking path re-checks every seat under its lock.
So a result may be served again for `CARNET_CATALOG_CACHE_SECONDS` (default 3 s), from Redis when
`CARNET_REDIS_URL` is set (every app process shares it) and from this process's memory otherwise.
A result computed before this process's last commit is never served: a process reads its own
writes at once; another process's are seen within the TTL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
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
        self._memory: dict[str, list[Any]] = {}  # key -> [computed_at (wall), computed for (now), value]
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._redis: Any = None
        if redis_url:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(redis_url)

    async def get_or_compute(
        self, key: str, compute: Callable[[], Awaitable[Any]], *, now: float, not_before: float
    ) -> Any:
        """The value under `key` if it is younger than the TTL, was computed after `not_before`
        (this process's last commit) and for a `now` (the domain clock) within the TTL of this
        one; otherwise `compute()`'s, stored. Concurrent misses of one key in this process wait
        for one computation instead of all running it."""
        hit = await self._get(key, now=now, not_before=not_before)
        if hit is not None:
            return hit
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            computed_at = time.time()
            value = await compute()
            await self._put(key, [computed_at, now, value])
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._pending[key]

    async def _get(self, key: str, *, now: float, not_before: float) -> Any | None:
        if self._redis is None:
            entry = self._memory.get(key)
        else:
            try:
                raw = await self._redis.get(_PREFIX + key)
            except Exception:  # a cache that is down is a cache miss
                log.warning("catalog search cache: Redis unavailable", exc_info=True)
                return None
            entry = None if raw is None else json.loads(raw)
        if entry is None:
            return None
        computed_at, computed_for, value = entry
        fresh = time.time() - computed_at < self.ttl and abs(now - computed_for) < self.ttl
        return value if fresh and computed_at >= not_before else None

    async def _put(self, key: str, entry: list[Any]) -> None:
        if self._redis is None:
            if len(self._memory) >= _MEMORY_LIMIT:
                cutoff = time.time() - self.ttl
                self._memory = {k: v for k, v in self._memory.items() if v[0] >= cutoff}
                if len(self._memory) >= _MEMORY_LIMIT:
                    self._memory.clear()
            self._memory[key] = entry
            return
        try:
            await self._redis.set(_PREFIX + key, json.dumps(entry), px=max(1, int(self.ttl * 1000)))
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
        for name in _MOMENTS:
            row[name] = row[name].isoformat() if row.get(name) else None
        rows.append(row)
    return {"items": rows, "total": total}


_MOMENTS = ("next_session_at", "first_at", "last_at")  # CatalogItem's datetimes


def decode_items(value: dict[str, Any], item_type: Any) -> tuple[list[Any], int]:
    items = []
    for row in value["items"]:
        row = dict(row)
        row["id"] = UUID(row["id"])
        for name in _MOMENTS:
            row[name] = datetime.fromisoformat(row[name]) if row.get(name) else None
        items.append(item_type(**row))
    return items, int(value["total"])
