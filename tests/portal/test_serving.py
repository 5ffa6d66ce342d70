"""`carnet serve` with several processes: one SO_REUSEPORT socket per process (portal/serving.py)."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvicorn

from portal.jobs import Batcher
from portal.serving import bind_reuse_port, spreads_connections
from tests.conftest import free_port


@pytest.mark.skipif(not spreads_connections(), reason="SO_REUSEPORT balances connections on Linux only")
def test_kept_alive_connections_spread_over_the_worker_sockets() -> None:
    # uvicorn's one shared socket let the first awake process take all 16 of `make bench`'s
    # connections; with a socket per process the kernel shares them out.
    config = uvicorn.Config("portal.asgi:app", host="127.0.0.1", port=free_port(), workers=2)
    sockets = [bind_reuse_port(config) for _ in range(2)]
    clients = [socket.create_connection(("127.0.0.1", config.port)) for _ in range(32)]
    try:
        accepted = []
        for sock in sockets:
            sock.setblocking(False)
            count = 0
            while True:
                try:
                    conn, _ = sock.accept()
                except BlockingIOError:
                    break
                conn.close()
                count += 1
            accepted.append(count)
        assert sum(accepted) == 32
        assert min(accepted) >= 4, accepted  # both processes get a share (hash of the client port)
    finally:
        for c in clients:
            c.close()
        for sock in sockets:
            sock.close()


async def test_ids_submitted_during_a_hand_over_leave_together_in_the_next() -> None:
    batches: list[list[str]] = []
    gate = asyncio.Event()

    async def hand_over(items: list[str]) -> None:
        batches.append(items)
        if len(batches) == 1:
            await gate.wait()  # the first hand-over is slow: others queue behind it

    batcher = Batcher(hand_over, size=3, gather=0)
    first = asyncio.create_task(batcher.submit("a"))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(batcher.submit(x)) for x in "bcde"]
    await asyncio.sleep(0)
    assert not any(t.done() for t in [first, *rest])  # each waits for its own hand-over
    gate.set()
    await asyncio.gather(first, *rest)
    assert batches == [["a"], ["b", "c", "d"], ["e"]]
    # Idle, an id goes at once, alone.
    await batcher.submit("f")
    assert batches[-1] == ["f"]


async def test_a_failed_hand_over_fails_the_submits_of_its_batch_only() -> None:
    async def hand_over(items: list[str]) -> None:
        if "bad" in items:
            raise ConnectionError("Redis ne répond pas")

    batcher = Batcher(hand_over)
    with pytest.raises(ConnectionError):
        await batcher.submit("bad")
    await batcher.submit("good")  # the batcher is not stuck after a failure


async def test_in_a_rush_the_next_hand_over_waits_for_its_batch_to_fill() -> None:
    batches: list[list[str]] = []
    gate = asyncio.Event()

    async def hand_over(items: list[str]) -> None:
        batches.append(items)
        if len(batches) == 1:
            await gate.wait()

    batcher = Batcher(hand_over, gather=0.05)
    first = asyncio.create_task(batcher.submit("a"))
    await asyncio.sleep(0)
    queued = asyncio.create_task(batcher.submit("b"))  # a rush: one queued behind the first
    await asyncio.sleep(0)
    gate.set()
    await first
    await asyncio.sleep(0.01)  # within the gather window, more arrive and join the batch
    late = [asyncio.create_task(batcher.submit(x)) for x in "cd"]
    await asyncio.gather(queued, *late)
    assert batches == [["a"], ["b", "c", "d"]]
