"""Rate limits: login, registration and password reset, per address and per client address.

A fixed window counter: the key of a hit is (limit, subject, window number), the window number
being `now // window`. With CARNET_REDIS_URL the counters live in Redis (INCR and EXPIRE in one
MULTI pipeline), so every app process behind the load balancer counts the same hits; otherwise
they live in this process's memory (the embedded default is a single process).

The window comes from the `now` the caller passes (the clock read at the edge), so tests move a
FixedClock instead of sleeping. Subjects are hashed: Redis never holds an e-mail address.

CARNET_RATE_LIMITS=off turns off the limits per client address only (load tests come from one
address); the limits per account (failed logins, mails sent to one address) always hold.

Redis unreachable: the limits per client address fail open (locking every family out of login
because a cache is down would be worse than a burst); the limits per account fail closed onto this
process's memory (`MemoryBackend`): each process keeps counting them, so an attacker gets at most
the limit once per app process while Redis is down, never an unlimited run at one password.
"""

from __future__ import annotations

import hashlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from portal.errors import TooManyRequests

if TYPE_CHECKING:
    from portal.context import Context

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    max_hits: int  # hits allowed in one window
    window_seconds: int
    per_client: bool  # a limit per client address: CARNET_RATE_LIMITS=off turns it off
    message: str = TooManyRequests.message


LOGIN_PER_CLIENT = Limit(
    "login-client",
    30,
    300,
    per_client=True,
    message="Trop de tentatives de connexion depuis votre réseau. Réessayez dans quelques minutes.",
)
LOGIN_FAILURES_PER_ACCOUNT = Limit(
    "login-failures",
    5,
    900,
    per_client=False,
    message=(
        "Trop de tentatives de connexion échouées pour ce compte. Réessayez dans un quart d'heure, "
        "ou réinitialisez votre mot de passe."
    ),
)
REGISTER_PER_CLIENT = Limit(
    "register-client",
    10,
    3600,
    per_client=True,
    message="Trop de créations de compte depuis votre réseau. Réessayez dans une heure.",
)
# Mails to one address: beyond this the request is answered as usual but no mail leaves, so
# nobody can flood someone's inbox through our forms (and the answer still tells nothing).
MAILS_PER_ADDRESS = Limit("mails-address", 5, 3600, per_client=False)
RESET_PER_CLIENT = Limit(
    "reset-client",
    10,
    3600,
    per_client=True,
    message="Trop de demandes de réinitialisation depuis votre réseau. Réessayez dans une heure.",
)


def _subject_key(limit: Limit, subject: str, now: datetime) -> tuple[str, int]:
    window = int(now.timestamp()) // limit.window_seconds
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"carnet:rl:{limit.name}:{digest}:{window}", window


class Backend(Protocol):
    async def hit(self, key: str, ttl: int) -> int: ...
    async def get(self, key: str) -> int: ...
    async def delete(self, key: str) -> None: ...


class MemoryBackend:
    """Counters in this process: right for the single-process embedded default and for tests.

    Each key remembers when its window is over. Past `max_keys` keys the ended windows are
    dropped, never the live ones: clearing everything would hand a fresh allowance to whoever
    was being limited. The sweep runs again only once the table has doubled, so a table full of
    live keys costs one sweep per doubling, not one per hit.
    """

    def __init__(self, *, max_keys: int = 100_000, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (hits, expiry on `monotonic`)
        self._max_keys = max_keys
        self._sweep_above = max_keys
        self._monotonic = monotonic

    def _sweep(self, now: float) -> None:
        self._counts = {key: entry for key, entry in self._counts.items() if entry[1] > now}
        self._sweep_above = max(self._max_keys, 2 * len(self._counts))

    async def hit(self, key: str, ttl: int) -> int:
        now = self._monotonic()
        if len(self._counts) >= self._sweep_above:
            self._sweep(now)
        count, expires = self._counts.get(key, (0, now + ttl))
        if expires <= now:  # an ended window not swept yet
            count, expires = 0, now + ttl
        self._counts[key] = (count + 1, expires)
        return count + 1

    async def get(self, key: str) -> int:
        count, expires = self._counts.get(key, (0, 0.0))
        return count if expires > self._monotonic() else 0

    async def delete(self, key: str) -> None:
        self._counts.pop(key, None)


class RedisBackend:
    """Counters shared by every process: INCR and EXPIRE in one transaction, so a key never
    outlives its window even if the process dies between the two commands."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        # A Redis that hangs must not hold a login for long: short timeouts, then the fallback.
        self._redis = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def hit(self, key: str, ttl: int) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, ttl)
            count, _ = await pipe.execute()
        return int(count)

    async def get(self, key: str) -> int:
        value = await self._redis.get(key)
        return int(value or 0)

    async def delete(self, key: str) -> None:
        await self._redis.delete(key)


class RateLimiter:
    def __init__(self, backend: Backend, *, client_limits: bool = True) -> None:
        self.backend = backend
        self.client_limits = client_limits
        # Where the limits per account go while `backend` (Redis) does not answer: they fail closed.
        self.fallback = MemoryBackend()

    async def _call(self, limit: Limit, op: Callable[[Backend], Awaitable[int | None]]) -> int | None:
        """`op` on the backend; when it fails, on the process-memory fallback for a limit per
        account (fail closed), or nothing for a limit per client address (fail open)."""
        try:
            return await op(self.backend)
        except Exception as exc:
            log.warning("rate limiter unavailable (%s): %r", limit.name, exc)
            if limit.per_client or self.backend is self.fallback:
                return None
            return await op(self.fallback)

    @classmethod
    def from_url(cls, redis_url: str | None, *, client_limits: bool = True) -> RateLimiter:
        backend: Backend = RedisBackend(redis_url) if redis_url else MemoryBackend()
        return cls(backend, client_limits=client_limits)

    def applies(self, limit: Limit) -> bool:
        return self.client_limits or not limit.per_client

    async def hit(self, limit: Limit, subject: str, now: datetime) -> int:
        """Count one hit; returns the hits of this window, this one included."""
        if not self.applies(limit):
            return 0
        key, _ = _subject_key(limit, subject, now)
        return await self._call(limit, lambda backend: backend.hit(key, limit.window_seconds + 1)) or 0

    async def count(self, limit: Limit, subject: str, now: datetime) -> int:
        if not self.applies(limit):
            return 0
        key, _ = _subject_key(limit, subject, now)
        return await self._call(limit, lambda backend: backend.get(key)) or 0

    async def is_exceeded(self, limit: Limit, subject: str, now: datetime) -> bool:
        return await self.count(limit, subject, now) >= limit.max_hits

    async def clear(self, limit: Limit, subject: str, now: datetime) -> None:
        key, _ = _subject_key(limit, subject, now)
        await self.fallback.delete(key)  # a count kept while Redis was down ends too
        await self._call(limit, lambda backend: _deleted(backend, key))

    async def enforce(self, limit: Limit, subject: str | None, now: datetime) -> None:
        """Count a hit and refuse it (429 too_many_requests) beyond the limit."""
        if subject is None:
            return
        if await self.hit(limit, subject, now) > limit.max_hits:
            raise TooManyRequests(limit.message)

    async def refuse_if_exceeded(self, limit: Limit, subject: str, now: datetime) -> None:
        """Refuse without counting: for limits that count failures only."""
        if await self.is_exceeded(limit, subject, now):
            raise TooManyRequests(limit.message)


async def _deleted(backend: Backend, key: str) -> None:
    await backend.delete(key)


_limiters: weakref.WeakKeyDictionary[Context, RateLimiter] = weakref.WeakKeyDictionary()


def limiter_for(ctx: Context) -> RateLimiter:
    """One limiter per Context (so per process), built from its settings on first use."""
    limiter = _limiters.get(ctx)
    if limiter is None:
        limiter = RateLimiter.from_url(ctx.settings.redis_url, client_limits=ctx.settings.rate_limits)
        _limiters[ctx] = limiter
    return limiter
