"""What a town's public page shows, contributed by the modules that know it.

The town page (/collectivites/{slug}) belongs to towns, but its content comes from modules that
depend on towns (requests: « Démarches à la une »; questions: the FAQ). Each registers a provider
when its `http` module is imported (the app imports every module's `http`), so towns never imports
them. A provider returns the template to include and its variables, or None to show nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from portal.auth import Actor
from portal.context import Context
from portal.towns.models import Town


@dataclass(frozen=True)
class TownSection:
    template: str  # included with `section` in its context: {{ section.data.… }}
    data: dict[str, Any] = field(default_factory=dict)


SectionProvider = Callable[[Context, Actor | None, Town, dict[str, str]], Awaitable[TownSection | None]]

_providers: dict[str, tuple[int, SectionProvider]] = {}


def register_town_section(name: str, order: int, provider: SectionProvider) -> None:
    """`order` sorts the sections (requests: 10, FAQ: 20); registering a name again replaces it."""
    _providers[name] = (order, provider)


async def town_sections(
    ctx: Context, actor: Actor | None, town: Town, query: dict[str, str]
) -> list[TownSection]:
    sections = []
    for _order, provider in sorted(_providers.values(), key=lambda item: item[0]):
        section = await provider(ctx, actor, town, query)
        if section is not None:
            sections.append(section)
    return sections
