"""How a page says a form failed (issue 12, RGAA / DSFR conventions): one shape for every handler.

A handler that re-renders a form after a refusal puts `errors` in the template's context: a
`FormErrors`, or anything `FormErrors.of` turns into one (a `DomainError`, a message, a list of
messages, a mapping field id → message). The base layout then prefixes the `<title>` with
« Erreur : » and lists every message at the top of the page, each linked to its field; the
field macros of `portal/_forms.html` mark the fields (`aria-invalid`, `aria-describedby`).

The keys are the ids of the fields on the page, which are their `name` unless a page says
otherwise; a domain error names its field in `extra` (`{"field": …}` or `{"fields": {…}}`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from jinja2 import Undefined

from portal.errors import DomainError


class FormErrors:
    """The messages of one failed submit, in the order they were found: (field id or None, text)."""

    def __init__(self, items: Iterable[tuple[str | None, str]] = ()) -> None:
        self.items: list[tuple[str | None, str]] = []
        for field, message in items:
            self.add(field, message)

    def add(self, field: str | None, message: str) -> None:
        message = str(message).strip()
        if message and (field, message) not in self.items:
            self.items.append((field or None, message))

    @classmethod
    def of(
        cls, value: Any, *, field: str | None = None, fields: Mapping[str, str] | None = None
    ) -> FormErrors:
        """Whatever a handler has: `field` names the field a message without one is about, and
        `fields` renames the error's field names into the page's field ids."""
        rename = dict(fields or {})
        if isinstance(value, FormErrors):
            return value
        errors = cls()
        if value is None or isinstance(value, Undefined):
            return errors
        if isinstance(value, DomainError):
            extra = value.extra or {}
            per_field = extra.get("fields")
            if isinstance(per_field, Mapping) and per_field:
                for name, message in per_field.items():
                    errors.add(rename.get(str(name), str(name)), str(message))
                return errors
            named = extra.get("field") or value.field
            if isinstance(named, str) and named:
                field = rename.get(named, named)
            errors.add(field, value.detail)
            return errors
        if isinstance(value, str):
            errors.add(field, value)
        elif isinstance(value, Mapping):
            for name, message in value.items():
                if message:
                    errors.add(rename.get(str(name), str(name)), str(message))
        elif isinstance(value, Iterable):
            for item in value:
                if isinstance(item, tuple) and len(item) == 2:
                    errors.add(item[0], item[1])
                else:
                    errors.add(field, str(item))
        return errors

    def message(self, field: str) -> str | None:
        """The first message about `field`, shown under it."""
        return next((text for name, text in self.items if name == field), None)

    def __contains__(self, field: object) -> bool:
        return any(name == field for name, _ in self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[tuple[str | None, str]]:
        return iter(self.items)

    def __repr__(self) -> str:
        return f"FormErrors({self.items!r})"


def form_errors(value: Any = None) -> FormErrors:
    """The Jinja global behind `portal/_forms.html`: a page's `errors`, whatever its shape."""
    return FormErrors.of(value)
