"""Jobs, enqueued only after commit (DESIGN.md rule 3).

A job is an async function `async def job(ctx: Context, *args)` named by its dotted path
("portal.mail:send_mail"). Its arguments are ids: the job reloads what it needs, and may run twice,
so it must be idempotent. With CARNET_REDIS_URL set, jobs go to RQ and `carnet worker` runs them;
otherwise they run in this process right after the commit.

A job enqueued with `after_response=True` (mail) is handed over only once the HTTP answer is sent
(`run_jobs_after_response`, an app middleware): delivering a mail never makes the answer wait, so
how long a request takes tells nothing of whether it mailed (a password-reset request for an
address with an account mails, one without does not). Other jobs (waiting-list promotion) keep
running before the answer in-process, so a client reads their effect at once. Outside requests
(CLI, worker, tests calling services) every job is handed over at once.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

    from portal.context import Context
    from portal.db import UnitOfWork

log = logging.getLogger(__name__)

QUEUE_NAME = "carnet"
# Every job may run twice (rule 3), so a failed one is simply tried again: after 10 s, 1 min, 5 min.
# The intervals need the scheduler that `carnet worker` runs.
RETRY_INTERVALS = [10, 60, 300]

JobFunction = Callable[..., Coroutine[Any, Any, None]]

# Set by the middleware for the length of one HTTP request: the dispatches waiting for the answer.
_after_response: ContextVar[list[Callable[[], Awaitable[None]]] | None] = ContextVar(
    "carnet_after_response", default=None
)


def run_jobs_after_response(app: ASGIApp) -> ASGIApp:
    """Litestar middleware: dispatch the request's jobs once its answer has been sent."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        pending: list[Callable[[], Awaitable[None]]] = []
        token = _after_response.set(pending)
        try:
            await app(scope, receive, send)
        finally:
            _after_response.reset(token)
            for dispatch in pending:
                try:
                    await dispatch()
                except Exception:  # the work is committed and answered: a failed hand-over is logged
                    log.exception("dispatch of a job after the response failed")

    return middleware


async def _now_or_after_response(dispatch: Callable[[], Awaitable[None]], after_response: bool) -> None:
    """Hand a committed job over now, or (`after_response`, inside a request) once the answer is sent."""
    pending = _after_response.get() if after_response else None
    if pending is None:
        await dispatch()
    else:
        pending.append(dispatch)


def resolve(name: str) -> JobFunction:
    module_name, _, attr = name.partition(":")
    func = getattr(importlib.import_module(module_name), attr)
    if not asyncio.iscoroutinefunction(func):
        raise TypeError(f"job {name} must be an async function")
    return func  # type: ignore[no-any-return,unused-ignore]


class Batcher:
    """Group hand-overs as a database groups commits: the first id starts a hand-over at once;
    ids submitted while it runs wait and leave together in the next one (up to `size`). Once
    ids queue up like that (a rush), the next hand-over first waits `gather` seconds for more:
    on an opening morning a process sends a few dozen confirmations per batch instead of one or
    two, while a lone request (or a test) still hands its id over at once.

    Each `submit` returns once its own id has been handed over, so a request's after-response
    work ends when its job has gone, as with `enqueue` (tests and the in-process mode read its
    effect); a failed hand-over is logged by the caller's middleware, once per id.
    """

    def __init__(
        self, hand_over: Callable[[list[str]], Awaitable[None]], size: int = 100, gather: float = 0.05
    ) -> None:
        self._hand_over = hand_over
        self._size = size
        self._gather = gather
        self._waiting: list[tuple[str, asyncio.Future[None]]] = []
        self._running = False
        self._draining: set[asyncio.Task[None]] = set()  # referenced while they run

    async def submit(self, item: str) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if not self._running:
            self._running = True
            # A task of its own: the hand-over's waits on the database resume its few frames,
            # not the whole ASGI stack of the request that happened to come first.
            drain = asyncio.get_running_loop().create_task(self._drain())
            self._draining.add(drain)
            drain.add_done_callback(self._draining.discard)
        await done

    async def _drain(self) -> None:
        try:
            first = True
            while self._waiting:
                if not first and len(self._waiting) < self._size:
                    await asyncio.sleep(self._gather)  # a rush: let the batch fill up
                first = False
                batch, self._waiting = self._waiting[: self._size], self._waiting[self._size :]
                try:
                    await self._hand_over([i for i, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)
        finally:
            self._running = False


class Jobs:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._queue: Any = None
        self._batchers: dict[str, Batcher] = {}
        if ctx.settings.redis_url:
            from redis import Redis
            from rq import Queue

            self._queue = Queue(QUEUE_NAME, connection=Redis.from_url(ctx.settings.redis_url))

    @property
    def uses_rq(self) -> bool:
        return self._queue is not None

    def queue_counts(self) -> tuple[int, int]:
        """(jobs waiting, jobs failed) in RQ, for /metrics; (0, 0) when jobs run in-process or
        Redis does not answer (the metrics page must not fail with it)."""
        if self._queue is None:
            return 0, 0
        try:
            return int(self._queue.count), int(self._queue.failed_job_registry.count)
        except Exception:  # Redis unreachable: /health says so; the other metrics still matter
            log.warning("metrics: Redis did not answer")
            return 0, 0

    def enqueue(
        self, uow: UnitOfWork, name: str, *args: Any, job_id: str | None = None, after_response: bool = False
    ) -> None:
        """Run job `name` with `args` once the unit of work has committed (and, with
        `after_response`, once the answer to the current request is sent)."""
        resolve(name)  # fail now, inside the transaction, on a misspelt job name

        async def dispatch() -> None:
            await self.dispatch(name, *args, job_id=job_id)

        async def after_commit() -> None:
            await _now_or_after_response(dispatch, after_response)

        uow.after_commit(after_commit)

    def enqueue_batched(self, uow: UnitOfWork, name: str, item: str, *, after_response: bool = False) -> None:
        """Like `enqueue`, for a job `name(ctx, items: list[str])` that takes many ids at once: the
        ids handed over while a batch of the same job is being handed over wait for it, then go
        together in the next one (`Batcher`). Idle, an id goes at once, alone."""
        resolve(name)

        async def after_commit() -> None:
            await self.hand_over_batched(name, item, after_response=after_response)

        uow.after_commit(after_commit)

    async def hand_over_batched(self, name: str, item: str, *, after_response: bool = False) -> None:
        """`enqueue_batched`'s hand-over, for a caller whose transaction has just committed
        outside a unit of work (the booking hot path on asyncpg's connection)."""

        async def dispatch() -> None:
            await self._batcher(name).submit(item)

        await _now_or_after_response(dispatch, after_response)

    def _batcher(self, name: str) -> Batcher:
        batcher = self._batchers.get(name)
        if batcher is None:

            async def hand_over(items: list[str]) -> None:
                await self.dispatch(name, items)

            batcher = self._batchers[name] = Batcher(hand_over)
        return batcher

    async def dispatch(self, name: str, *args: Any, job_id: str | None = None) -> None:
        if self._queue is not None:
            from rq import Retry

            # RQ's client is synchronous: keep the event loop free while Redis answers.
            await asyncio.to_thread(
                self._queue.enqueue,
                run_job,
                name,
                list(args),
                job_id=job_id,
                result_ttl=3600,
                retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            )
        else:
            await run_in_process(self._ctx, name, args)


async def run_in_process(ctx: Context, name: str, args: tuple[Any, ...] | list[Any]) -> None:
    try:
        await resolve(name)(ctx, *args)
    except Exception:
        log.exception("job %s%r failed", name, tuple(args))


# --- the worker side -------------------------------------------------------------------------

_runner: asyncio.Runner | None = None
_worker_ctx: Context | None = None


def run_job(name: str, args: list[Any]) -> None:
    """What RQ calls in `carnet worker`: one event loop and one Context live for the whole worker."""
    global _runner, _worker_ctx
    from portal.context import Context
    from portal.settings import Settings

    if _runner is None:
        _runner = asyncio.Runner()
    if _worker_ctx is None:
        _worker_ctx = Context(Settings.from_env())
    ctx = _worker_ctx
    _runner.run(resolve(name)(ctx, *args))
