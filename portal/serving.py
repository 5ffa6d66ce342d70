"""`carnet serve` with several app processes: one listening socket per process (SO_REUSEPORT).

uvicorn's own supervisor binds one socket and shares it: every process is woken by a new
connection and the first awake accepts every connection waiting, so a few kept-alive clients (a
reverse proxy's upstream pool, a load generator) all land on one process while the others idle —
measured by `make bench`: 16 connections, all 16 on one of two workers, half the machine unused.
With a socket of its own per process, bound to the same port with SO_REUSEPORT, the kernel spreads
connections across the processes. The sockets are bound here, in the supervisor, so a worker that
dies and is replaced takes over the same socket: connections waiting in its backlog are not lost.
Where SO_REUSEPORT does not spread connections (not Linux), uvicorn's shared socket is kept.
"""

from __future__ import annotations

import logging
import socket
import sys

from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

logger = logging.getLogger("uvicorn.error")


def spreads_connections() -> bool:
    """Whether the kernel balances connections across SO_REUSEPORT sockets (Linux ≥ 3.9)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bind_reuse_port(config: Config) -> socket.socket:
    """One listening socket on the configured host and port, sharing the port with its siblings."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.create_server(
        (config.host, config.port), family=family, backlog=config.backlog, reuse_port=True
    )
    sock.set_inheritable(True)
    return sock


class SpreadMultiprocess(Multiprocess):
    """uvicorn's supervisor (health checks, restarts, signals), each worker slot on its own socket."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets=sockets)
        self.slot_sockets = sockets  # slot i always serves sockets[i]

    def _process(self, slot: int) -> Process:
        return Process(self.config, [self.slot_sockets[slot]])

    def init_processes(self) -> None:
        for slot in range(self.processes_num):
            process = self._process(slot)
            process.start()
            self.processes.append(process)

    def restart_all(self) -> None:
        # SIGHUP: uvicorn's order (the replacement serves before the old worker retires), per slot.
        for slot, old_process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new_process = self._process(slot)
            new_process.start()
            if not new_process.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new_process.kill()
                new_process.join()
                return
            old_process.terminate()
            old_process.join()
            self.processes[slot] = new_process

    def keep_subprocess_alive(self) -> None:
        # uvicorn's check, the replacement of a dead or hung worker taking the same slot's socket.
        if self.should_exit.is_set():
            return
        for slot, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                # The app or the socket is broken: every restart would fail the same way.
                logger.error(f"Child process [{process.pid}] failed to start, stopping the parent process.")
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            logger.info(f"Child process [{process.pid}] died")
            replacement = self._process(slot)
            replacement.start()
            self.processes[slot] = replacement


def run(config: Config) -> None:
    """Serve `config` (workers > 1) on one SO_REUSEPORT socket per worker."""
    sockets = [bind_reuse_port(config) for _ in range(config.workers)]
    try:
        SpreadMultiprocess(config, sockets=sockets).run()
    finally:
        for sock in sockets:
            sock.close()
