"""The catalog's routes: the JSON API (catalog.api) and the pages (catalog.pages)."""

from catalog.api import api_routes
from catalog.pages import page_routes

__all__ = ["api_routes", "page_routes"]
