"""The catalog's routes: the JSON API (catalog.api, catalog.series_http) and the pages
(catalog.pages, catalog.series_http)."""

from catalog.api import api_routes as _api_routes
from catalog.pages import page_routes as _page_routes
from catalog.series_http import api_routes as _series_api
from catalog.series_http import page_routes as _series_pages

api_routes = [*_api_routes, *_series_api]
page_routes = [*_page_routes, *_series_pages]

__all__ = ["api_routes", "page_routes"]
