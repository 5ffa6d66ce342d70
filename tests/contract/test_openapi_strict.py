"""The OpenAPI document says exactly what is accepted and answered (issue 9 #9)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from portal.app import create_app

DOCUMENT_TYPES = {"application/pdf", "image/jpeg", "image/png"}
# Bodies holding a map whose keys are data, not a schema: a request page's `values` are keyed by
# the field names its procedure defines.
OPEN_MAPS = {("put", "/api/v1/requests/{request_id}/pages/{number}")}


@pytest.fixture
def document(tmp_path: Any) -> dict[str, Any]:
    from portal.settings import Settings
    from tests.conftest import TEST_SECRET

    settings = Settings.from_env(
        {}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path, secret_key=TEST_SECRET
    )
    with TestClient(app=create_app(settings)) as client:
        answer = client.get("/schema/openapi.json")
    assert answer.status_code == 200
    return dict(answer.json())


def _walk(node: Any, components: dict[str, Any], seen: set[str]) -> list[dict[str, Any]]:
    """Every schema object a request body reaches, through references."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                found += _walk(components[name], components, seen)
        else:
            found.append(node)
            for value in node.values():
                found += _walk(value, components, seen)
    elif isinstance(node, list):
        for value in node:
            found += _walk(value, components, seen)
    return found


def test_request_bodies_are_typed_and_closed(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    bodies = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if not body:
                continue
            bodies += 1
            if (method, path) in OPEN_MAPS:
                continue
            for media, content in body["content"].items():
                schema = content.get("schema")
                assert schema, (method, path, media)
                for node in _walk(schema, components, set()):
                    if node.get("type") == "object":
                        assert node.get("properties") or node.get("additionalProperties") not in (
                            None,
                            {},
                            True,
                        ), (
                            method,
                            path,
                            "an object body must say its fields",
                            node,
                        )
                        if node.get("properties"):
                            assert node.get("additionalProperties") is False, (method, path, node)
    assert bodies > 30


def test_files_and_csv_answers_say_their_media_types_and_need_an_account(document: dict[str, Any]) -> None:
    paths = document["paths"]
    files = [p for p in paths if p.endswith("/file")]
    assert len(files) >= 3
    for path in files:
        operation = paths[path]["get"]
        assert set(operation["responses"]["200"]["content"]) == DOCUMENT_TYPES, path
        assert operation.get("security"), path
    for path in (
        "/api/v1/partner/sessions/{session_id}/attendees",
        "/api/v1/partner/sessions/{session_id}/attendance-report",
        "/api/v1/partner/programmes/{programme_id}/attendance-report",
        "/api/v1/finance/reconciliation",
        "/api/v1/finance/flows",
        "/api/v1/finance/partners/{association_id}/statement",
    ):
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert {"application/json", "text/csv"} <= set(content), path
