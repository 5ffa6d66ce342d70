"""One-line text: the constrained string type of every field that is one line (titles, names,
labels, places, phone numbers…), and how such a value goes into a mail header.

A line break in a one-line field is never useful and is harmful where the value is reused as a
header (an activity title in a mail subject: Python's e-mail refuses it and the mail never
leaves). It is refused at the input gate of the field's type, 400 `invalid_request` with
`ONE_LINE_DETAIL`: in a msgspec body through `OneLine` (the OpenAPI schema says the pattern; the
app's validation handler gives the French message), in a form or a service through
`require_one_line`. Values stored before this rule are made safe where
they are used as headers (`header_text`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from portal.errors import InvalidRequest

# Every character Python's str.splitlines() breaks on. `$(?!\n)`: Python's `$` also matches
# before a final line feed, and msgspec searches the pattern with Python's `re`.
_BREAKS = r"\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
ONE_LINE_PATTERN = rf"^[^{_BREAKS}]*$(?!\n)"
LINE_BREAK = re.compile(rf"[{_BREAKS}]")

ONE_LINE_DETAIL = "Ce champ tient sur une seule ligne : retirez les retours à la ligne."


# The type: `OneLine` alone, or with its length, `Annotated[OneLine, msgspec.Meta(max_length=200)]`
# (msgspec merges the constraints).
OneLine = Annotated[str, msgspec.Meta(pattern=ONE_LINE_PATTERN)]


def is_one_line_error(message: str) -> bool:
    """True when a msgspec validation message is this type's pattern refusing a value."""
    return ONE_LINE_PATTERN in message or repr(ONE_LINE_PATTERN)[1:-1] in message


def require_one_line(value: Any, label: str) -> None:
    """For forms and services: 400 `invalid_request` when a one-line field holds a line break."""
    if isinstance(value, str) and LINE_BREAK.search(value):
        raise InvalidRequest(f"{label} : {ONE_LINE_DETAIL}", extra={"field": label})


def require_one_line_fields(values: dict[str, Any], labels: dict[str, str]) -> None:
    """`require_one_line` for every key of `labels` present in `values` (key → French label)."""
    for key, label in labels.items():
        require_one_line(values.get(key), label)


def header_text(value: str) -> str:
    """A value made safe for a mail header: every line break and run of spaces becomes one space
    (e-mail headers are folded by the library, never by the value)."""
    return " ".join(LINE_BREAK.sub(" ", value).split())
