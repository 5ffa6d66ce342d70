"""The composition of the portal's parts, shared by the web app, the worker and the CLI."""

from __future__ import annotations

from portal.clock import Clock
from portal.db import Database
from portal.jobs import Jobs
from portal.settings import Settings


class Context:
    def __init__(self, settings: Settings, *, clock: Clock | None = None, db: Database | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock(settings.timezone)
        self.db = db or Database(settings.database_url)
        self.jobs = Jobs(self)

    async def close(self) -> None:
        await self.db.dispose()
