"""`carnet …` commands run by the tests, in this process.

A child interpreter would import everything again (~3 s of CPU each, dozens of times a run); the
command's own code (click's parsing, `Settings.from_env`, its exit code and its two streams) runs
the same in process. It runs in a thread of its own because a command runs its own event loop
(`asyncio.run`). Tests of the process itself (`carnet serve`, `carnet worker`) still start one.
"""

from __future__ import annotations

import logging
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from click.testing import CliRunner

from portal.cli import main


@dataclass
class Ran:
    """What a child process would have given: the exit code and the two streams."""

    returncode: int
    stdout: str
    stderr: str


def run_carnet(env: dict[str, str | None], *args: str) -> Ran:
    """`carnet ARGS` with these CARNET_* variables (None removes one from the environment)."""

    def invoke() -> Ran:
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        try:
            result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=True)
        finally:
            # The command configures logging for itself (to its own stderr): give the suite's back.
            root.handlers[:] = handlers
            root.setLevel(level)
        stderr = result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            stderr += "".join(traceback.format_exception(result.exception))  # as the interpreter prints it
        return Ran(result.exit_code, result.stdout, stderr)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(invoke).result()
