"""Files answered for download (CSV exports, calendars): one way to say their type.

Litestar appends `; charset=utf-8` to every `text/…` media type it is given, so a type written
with its charset came out as `text/csv; charset=utf-8; charset=utf-8`. `attachment` takes the bare
type and lets Litestar add the charset once.
"""

from __future__ import annotations

from typing import Any

from litestar import Response


def attachment(content: Any, media_type: str, filename: str, **headers: str) -> Response[Any]:
    """`content` as a download named `filename` (text types get `; charset=utf-8`, once)."""
    return Response(
        content,
        media_type=media_type.split(";", 1)[0].strip(),
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **headers},
    )
