"""A procedure's definition (pages, fields, statuses), validated by typed msgspec structs.

msgspec (already Carnet's dependency through Litestar) checks the shape, the types, the allowed
field types and the lengths; `__post_init__` adds the rules that span fields (choices only on a
choice field, names unique, one final status at least). Both raise msgspec.ValidationError, which
`parse_definition` turns into 400 `invalid_request` with the path of what is wrong.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from portal.errors import InvalidRequest
from portal.requests.models import RequestStatus

FieldType = Literal["text", "textarea", "email", "number", "date", "choice", "checkbox", "file"]

Name = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,59}$")]
# One line: labels end up in mail subjects and page titles.
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]+$")]
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$")]

# Statuses every request goes through whatever the procedure: its own codes may not take them.
BUILTIN_STATUS_LABELS = {
    RequestStatus.DRAFT: "Brouillon",
    RequestStatus.SUBMITTED: "Déposée",
    RequestStatus.COMPLEMENT_REQUESTED: "Compléments demandés",
}


class Field(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    label: Label
    type: FieldType
    required: bool = False
    choices: Annotated[list[Label], msgspec.Meta(max_length=100)] | None = None
    help: Annotated[str, msgspec.Meta(max_length=1000)] = ""

    def __post_init__(self) -> None:
        if self.type == "choice":
            if not self.choices:
                raise msgspec.ValidationError(f"field `{self.name}`: a choice field needs `choices`")
            if len(set(self.choices)) != len(self.choices):
                raise msgspec.ValidationError(f"field `{self.name}`: `choices` repeat a value")
        elif self.choices is not None:
            raise msgspec.ValidationError(f"field `{self.name}`: only a choice field takes `choices`")


class Page(msgspec.Struct, forbid_unknown_fields=True):
    title: Label
    fields: Annotated[list[Field], msgspec.Meta(max_length=100)]
    # A page of text only (a préambule) has no fields.
    intro: Annotated[str, msgspec.Meta(max_length=5000)] = ""


class Status(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    label: Label
    final: bool = False

    def __post_init__(self) -> None:
        if self.code in BUILTIN_STATUS_LABELS:
            raise msgspec.ValidationError(f"status `{self.code}` is one every request already has")


class Definition(msgspec.Struct, forbid_unknown_fields=True):
    pages: Annotated[list[Page], msgspec.Meta(min_length=1, max_length=30)]
    statuses: Annotated[list[Status], msgspec.Meta(min_length=1, max_length=30)]

    def __post_init__(self) -> None:
        names = [f.name for page in self.pages for f in page.fields]
        if len(set(names)) != len(names):
            raise msgspec.ValidationError("two fields have the same `name`")
        codes = [s.code for s in self.statuses]
        if len(set(codes)) != len(codes):
            raise msgspec.ValidationError("two statuses have the same `code`")
        if not any(s.final for s in self.statuses):
            raise msgspec.ValidationError("at least one status must be `final`")

    # --- reading a definition -------------------------------------------------------------

    def field(self, name: str) -> Field | None:
        return next((f for page in self.pages for f in page.fields if f.name == name), None)

    def fields(self) -> list[Field]:
        return [f for page in self.pages for f in page.fields]

    def status(self, code: str) -> Status | None:
        return next((s for s in self.statuses if s.code == code), None)

    def status_label(self, code: str) -> str:
        builtin = BUILTIN_STATUS_LABELS.get(code)  # type: ignore[call-overload]
        if builtin:
            return str(builtin)
        status = self.status(code)
        return status.label if status else code

    def is_final(self, code: str) -> bool:
        status = self.status(code)
        return bool(status and status.final)

    def page_of(self, field_name: str) -> int:
        for number, page in enumerate(self.pages, start=1):
            if any(f.name == field_name for f in page.fields):
                return number
        return 1


def parse_definition(pages: Any, statuses: Any) -> Definition:
    """The definition, or 400 `invalid_request` saying what is wrong and where."""
    try:
        return msgspec.convert({"pages": pages, "statuses": statuses}, Definition)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(
            "La définition de la démarche n'est pas valide.", extra={"definition": str(exc)}
        ) from exc


def load_definition(stored: dict[str, Any]) -> Definition:
    """A stored definition (validated when it was saved)."""
    return msgspec.convert(stored, Definition)


def dump_definition(definition: Definition) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(definition)
    return data
