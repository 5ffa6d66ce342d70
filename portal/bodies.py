"""One policy for every JSON request body, whatever type a handler declares for it.

Litestar converts a body into the handler's `data` type leniently (`"1"`, `1` and `"true"` become
`true`, `"5"` becomes 5) and a dataclass ignores fields it does not know, while a msgspec Struct
declared `forbid_unknown_fields` refuses them; Python's JSON decoder keeps the last of two equal
keys. Here, before any handler runs, the body must be exactly what its type says, the same for all:

- no duplicate key in any object;
- no field the type does not declare, at any depth;
- strict types: a boolean is `true`/`false`, an integer a JSON integer, a string a string (dates,
  times and ids stay strings in their ISO / UUID form).

Anything else is 400 `invalid_request`, with a French message naming the field. The OpenAPI
document says the same (`additionalProperties: false`, see `portal.openapi`).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import BodyKwarg
from msgspec import inspect as mi

from portal.auth import resolve_actor
from portal.errors import InvalidRequest
from portal.text import ONE_LINE_DETAIL, is_one_line_error

_NO_BODY = object()


@cache
def _body_type(handler: Any) -> Any:
    """The JSON body type `handler` declares (its `data` parameter), or _NO_BODY."""
    parameter = handler.parsed_fn_signature.parameters.get("data")
    if parameter is None:
        return _NO_BODY
    kwarg = parameter.kwarg_definition
    if isinstance(kwarg, BodyKwarg) and kwarg.media_type not in (
        RequestEncodingType.JSON,
        "application/json",
    ):
        return _NO_BODY
    return parameter.annotation


@cache
def _type_info(annotation: Any) -> Any:
    return mi.type_info(annotation)


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise InvalidRequest(
                f"Le champ « {key} » apparaît deux fois dans le contenu JSON.", extra={"field": key}
            )
        seen[key] = value
    return seen


_OBJECTS = (mi.StructType, mi.DataclassType, mi.TypedDictType, mi.NamedTupleType)
_SEQUENCES = (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)


def _unknown_field(data: Any, info: Any, path: str) -> str | None:
    """The path of the first field `data` has that `info` does not declare, at any depth."""
    while isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.UnionType):
        for member in info.types:
            while isinstance(member, mi.Metadata):
                member = member.type
            if isinstance(data, dict) and isinstance(member, (*_OBJECTS, mi.DictType)):
                return _unknown_field(data, member, path)
            if isinstance(data, list) and isinstance(member, _SEQUENCES):
                return _unknown_field(data, member, path)
        return None
    if isinstance(info, _OBJECTS) and isinstance(data, dict) and not isinstance(info, mi.NamedTupleType):
        fields = {field.encode_name: field for field in info.fields}
        for key, value in data.items():
            if key not in fields:
                return f"{path}.{key}" if path else key
            found = _unknown_field(value, fields[key].type, f"{path}.{key}" if path else key)
            if found:
                return found
    elif isinstance(info, _SEQUENCES) and isinstance(data, list):
        for index, item in enumerate(data):
            found = _unknown_field(item, info.item_type, f"{path}[{index}]")
            if found:
                return found
    elif isinstance(info, mi.DictType) and isinstance(data, dict):
        for key, value in data.items():
            found = _unknown_field(value, info.value_type, f"{path}.{key}" if path else str(key))
            if found:
                return found
    return None


def check_body(raw: bytes, annotation: Any) -> None:
    """Raise InvalidRequest unless `raw` (a JSON body) is exactly of type `annotation`."""
    try:
        data = json.loads(raw, object_pairs_hook=_refuse_duplicates)
    except (ValueError, RecursionError):
        return  # not JSON: Litestar answers 400 as it always did (the input gate catches the rest)
    unknown = _unknown_field(data, _type_info(annotation), "")
    if unknown:
        raise InvalidRequest(f"Le champ « {unknown} » n'est pas attendu ici.", extra={"field": unknown})
    try:
        msgspec.convert(data, annotation, strict=True, str_keys=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        where = message.rsplit(" - at `$", 1)[1].rstrip("`").lstrip(".") if " - at `$" in message else ""
        what = message.split(" - at ", 1)[0]
        if is_one_line_error(message):  # the shared one-line type (portal/text.py): its own words
            raise InvalidRequest(ONE_LINE_DETAIL, extra={"field": where}) from exc
        raise InvalidRequest(
            f"Le champ « {where or 'contenu'} » n'a pas le type attendu ({what}).", extra={"field": where}
        ) from exc


async def enforce_body_policy(request: Request[Any, Any, Any]) -> None:
    """Litestar `before_request` step: the JSON body of a handler that declares one is checked."""
    annotation = _body_type(request.route_handler)
    if annotation is _NO_BODY or request.content_type[0] in (
        RequestEncodingType.URL_ENCODED,
        RequestEncodingType.MULTI_PART,
    ):
        return
    parameters = request.route_handler.parsed_fn_signature.parameters
    if "account" in parameters and await resolve_actor(request) is None:
        return  # who asks comes first: the handler answers 401 before anything is said of the body
    if "bearer" in parameters and not request.headers.get("authorization"):
        # The booking hot path judges its token inside its own transaction (booking/hot_path.py);
        # without one at all it answers 401, before anything is said of the body.
        return
    raw = await request.body()
    if raw.strip():
        check_body(raw, annotation)
