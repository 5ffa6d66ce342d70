"""The OpenAPI document says exactly what the API accepts and answers (issue 9 #9).

Litestar generates the document from the handlers; a few things it cannot know are said here, in
one place, once the document is built:

- every object a request body may hold refuses other fields (`additionalProperties: false`), as
  the body policy does (portal/bodies.py);
- an answer that is a file or a CSV says its real media type (`FILE_ANSWERS`): a proof document
  is PDF, JPEG or PNG, an attendee list or a finance report is JSON or, with `format=csv`, CSV;
- a download that needs an account declares the bearer scheme like every other such call;
- a multipart upload names its parts (`MULTIPART_BODIES`) rather than « any object ».
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

BINARY = {"type": "string", "format": "binary"}
CSV = {"type": "string", "description": "CSV (UTF-8 with BOM, one header row)"}
DOCUMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")

# path -> (replace the JSON answer?, extra media types of the 200 answer)
FILE_ANSWERS: dict[str, tuple[bool, dict[str, dict[str, Any]]]] = {
    "/api/v1/participants/{participant_id}/documents/{document_id}/file": (
        True,
        dict.fromkeys(DOCUMENT_TYPES, BINARY),
    ),
    "/api/v1/partner/sessions/{session_id}/participants/{participant_id}/documents/{document_id}/file": (
        True,
        dict.fromkeys(DOCUMENT_TYPES, BINARY),
    ),
    "/api/v1/associations/{association_id}/documents/{document_id}/file": (
        True,
        dict.fromkeys(DOCUMENT_TYPES, BINARY),
    ),
    "/api/v1/partner/sessions/{session_id}/attendees": (False, {"text/csv": CSV}),
    "/api/v1/partner/sessions/{session_id}/attendance-report": (False, {"text/csv": CSV}),
    "/api/v1/partner/programmes/{programme_id}/attendance-report": (False, {"text/csv": CSV}),
    "/api/v1/participants/{participant_id}/registration-sheet.pdf": (True, {"application/pdf": BINARY}),
    "/api/v1/finance/reconciliation": (False, {"text/csv": CSV}),
    "/api/v1/finance/flows": (False, {"text/csv": CSV}),
    "/api/v1/finance/partners/{association_id}/statement": (
        False,
        {"text/csv": CSV, "application/pdf": BINARY},
    ),
}
# Downloads that read the account from a page session or a bearer token (their handler takes an
# optional actor, so Litestar does not see that they need one).
SIGNED_IN = ("/api/v1/associations/{association_id}/documents/{document_id}/file",)
MULTIPART_BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/participants/{participant_id}/documents": {
        "type": "object",
        "required": ["kind", "file"],
        "properties": {
            "kind": {"type": "string", "description": "a document kind code (GET /document-kinds)"},
            "file": {**BINARY, "description": "PDF, JPEG or PNG, 5 Mo at most"},
            "valid_until": {"type": "string", "format": "date"},
        },
        "additionalProperties": False,
    },
}


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _close_objects(node: Any) -> None:
    """`additionalProperties: false` on every object schema with declared properties."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_objects(value)
    elif isinstance(node, list):
        for value in node:
            _close_objects(value)


def tighten(document: dict[str, Any], bearer_scheme: str) -> None:
    paths: dict[str, Any] = document.get("paths", {})
    components: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    # Request bodies: every schema they reach, directly or through references.
    pending: set[str] = set()
    for item in paths.values():
        for operation in item.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body:
                _close_objects(body)
                _refs(body, pending)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in components:
            continue
        seen.add(name)
        _close_objects(components[name])
        _refs(components[name], pending)
    # Every download of a stored file (`…/file`): PDF, JPEG or PNG, for a signed-in account.
    answers = dict(FILE_ANSWERS)
    for path, item in paths.items():
        if path.endswith("/file") and "get" in item:
            answers.setdefault(path, (True, dict.fromkeys(DOCUMENT_TYPES, BINARY)))
            if not item["get"].get("security"):
                item["get"]["security"] = [{bearer_scheme: []}]
    for path, (replace, media_types) in answers.items():
        operation = paths.get(path, {}).get("get")
        if not operation:
            continue
        answer = operation["responses"].setdefault("200", {"description": "Request fulfilled"})
        content = {} if replace else dict(answer.get("content") or {})
        content.update({media: {"schema": schema} for media, schema in media_types.items()})
        answer["content"] = content
    for path in SIGNED_IN:
        operation = paths.get(path, {}).get("get")
        if operation and not operation.get("security"):
            operation["security"] = [{bearer_scheme: []}]
    for path, schema in MULTIPART_BODIES.items():
        operation = paths.get(path, {}).get("post")
        if operation and "requestBody" in operation:
            operation["requestBody"]["content"]["multipart/form-data"] = {"schema": schema}


class StrictJsonRenderPlugin(JsonRenderPlugin):
    """/schema/openapi.json, tightened once (Litestar builds the document once and caches it)."""

    def __init__(self, bearer_scheme: str) -> None:
        super().__init__()
        self.bearer_scheme = bearer_scheme

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if not openapi_schema.get("x-carnet-strict"):
            tighten(openapi_schema, self.bearer_scheme)
            openapi_schema["x-carnet-strict"] = True
        return super().render(request, openapi_schema)


def strict(config: OpenAPIConfig, bearer_scheme: str) -> OpenAPIConfig:
    """`config` with its JSON document served tightened."""
    config.render_plugins = [
        StrictJsonRenderPlugin(bearer_scheme) if isinstance(plugin, JsonRenderPlugin) else plugin
        for plugin in config.render_plugins
    ]
    return config
