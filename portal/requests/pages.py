"""Requests: the pages (placeholder until the pages land)."""

from __future__ import annotations

from typing import Any

page_routes: list[Any] = []


def register_sections() -> None:
    pass
