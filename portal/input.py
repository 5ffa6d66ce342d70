"""One gate for what every request carries, before any handler of any module sees it.

PostgreSQL text columns refuse the NUL character, and no field of Carnet has a use for the other
C0 control characters (tab, line feed and carriage return excepted): a value holding one would be a
500 on PostgreSQL and invisible garbage on SQLite. A JSON body nested deeper than the decoder allows
or holding bytes that are not UTF-8 makes the decoder raise errors that are not Litestar's
"malformed body" one. Both are refused here, once for the whole app, as 400 `invalid_request`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import SerializationException
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

from portal.errors import InvalidRequest

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

CONTROL_CHARACTER_DETAIL = "La demande contient des caractères de contrôle non autorisés."
UNREADABLE_JSON_DETAIL = "Le contenu JSON de la demande est illisible (trop imbriqué ou mal encodé)."


def has_control_character(value: Any) -> bool:
    """True when a string anywhere inside `value` (JSON-like: dicts, lists, scalars) holds one.

    Iterative rather than recursive: the structure may be as deep as the decoder allowed.
    """
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if CONTROL_CHARACTERS.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def _strings(pairs: Iterable[tuple[Any, Any]]) -> list[Any]:
    # Uploaded files are checked by content elsewhere (portal/files.py); only their name is text.
    parts = [part for pair in pairs for part in pair]
    return [part.filename if isinstance(part, UploadFile) else part for part in parts]


async def refuse_unsafe_input(request: Request[Any, Any, Any]) -> None:
    """Litestar `before_request` hook of the whole app: 400 on input no module should receive.

    The body is decoded through the request's own cached readers (`json()`, `form()`), so the
    handler reuses the result instead of parsing twice.
    """
    if has_control_character(_strings(request.query_params.multi_items())) or has_control_character(
        list(request.path_params.values())
    ):
        raise InvalidRequest(CONTROL_CHARACTER_DETAIL)
    content_type = request.content_type[0]
    if content_type in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
        # Read (and keep) the raw body first: the multipart parser would otherwise consume the
        # stream, and a handler that reads the body itself (a JSON route sent a form) would fail.
        # Unless the form was parsed already (the CSRF middleware of the pages does): its stream
        # is gone, and the parsed form is what `form()` returns.
        state = ScopeState.from_scope(request.scope)
        if state.form is Empty and state.body is Empty:
            await request.body()
        form = await request.form()
        if has_control_character(_strings(form.multi_items())):
            raise InvalidRequest(CONTROL_CHARACTER_DETAIL)
        return
    if not await request.body():
        return
    # Litestar decodes a JSON parameter whatever the Content-Type says, so every other body is tried.
    try:
        data = await request.json()
    except SerializationException:
        return  # not JSON: the handler answers as it always did (400 on a JSON route, raw bodies pass)
    except (RecursionError, UnicodeDecodeError) as exc:
        raise InvalidRequest(UNREADABLE_JSON_DETAIL) from exc
    if has_control_character(data):
        raise InvalidRequest(CONTROL_CHARACTER_DETAIL)
