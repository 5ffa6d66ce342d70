"""What a catalogue card adds to the search result (issue 12): the price range and the dates of
the sessions to come. The search computes them in its per-activity aggregate over the sessions
(catalog/search.py), so they come with the page and its short cache, without a query of their own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CardExtras:
    min_price: int
    max_price: int
    first_at: datetime
    last_at: datetime
    sessions: int

    @classmethod
    def of(cls, item: Any) -> CardExtras:
        """From a catalog.services.CatalogItem that has sessions to come."""
        return cls(item.min_price, item.max_price, item.first_at, item.last_at, item.sessions)
