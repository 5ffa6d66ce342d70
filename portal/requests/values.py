"""Checking what a person typed in a field: pure functions, no database.

A refused value is kept as typed (the page shows it again next to its message); `check_value`
says what it should be. Values come from JSON (any type) or from a form (strings).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from email_validator import EmailNotValidError, validate_email

from portal.requests.procedures import Field

MAX_TEXT = 1000
MAX_TEXTAREA = 10000
REQUIRED = "Ce champ est obligatoire."


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value is False or value == []


class FieldError(Exception):
    """A value refused, with the French message shown next to its field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_value(field: Field, value: Any, *, file_ids: set[str]) -> Any:
    """The normalized value of a non-empty `value`, or FieldError with the French message.
    `file_ids` are the files of this request given in this field and not rejected."""
    kind = field.type
    if kind in ("text", "textarea"):
        if not isinstance(value, str):
            raise FieldError("Saisissez un texte.")
        text = value.strip() if kind == "text" else value.strip("\n\r ")
        limit = MAX_TEXT if kind == "text" else MAX_TEXTAREA
        if len(text) > limit:
            raise FieldError(f"Ce texte est trop long ({limit} caractères au plus).")
        if kind == "text" and re.search(r"[\r\n]", text):
            raise FieldError("Ce champ tient sur une ligne.")
        return text
    if kind == "email":
        if not isinstance(value, str):
            raise FieldError("Saisissez une adresse électronique.")
        try:
            return validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise FieldError(
                "Cette adresse électronique n'est pas valide (exemple : nom@domaine.fr)."
            ) from exc
    if kind == "number":
        if isinstance(value, bool):
            raise FieldError("Saisissez un nombre.")
        if isinstance(value, int | float):
            number = Decimal(str(value))
        elif isinstance(value, str):
            try:
                number = Decimal(value.strip().replace(" ", "").replace("\u202f", "").replace(",", "."))
            except InvalidOperation as exc:
                raise FieldError("Saisissez un nombre (exemple : 1500 ou 12,5).") from exc
        else:
            raise FieldError("Saisissez un nombre.")
        if not number.is_finite() or abs(number) >= Decimal("1e12"):
            raise FieldError("Saisissez un nombre (exemple : 1500 ou 12,5).")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "date":
        if not isinstance(value, str):
            raise FieldError("Saisissez une date.")
        try:
            day = date.fromisoformat(value.strip())
        except ValueError as exc:
            raise FieldError("Cette date n'est pas valide (jj/mm/aaaa).") from exc
        if not 1900 <= day.year <= 2100:
            raise FieldError("Cette date n'est pas valide (jj/mm/aaaa).")
        return day.isoformat()
    if kind == "choice":
        if not isinstance(value, str) or value not in (field.choices or []):
            raise FieldError("Choisissez une des propositions.")
        return value
    if kind == "checkbox":
        if value in (True, "on", "true", "1", "oui"):
            return True
        raise FieldError("Cochez la case ou laissez-la vide.")
    if kind == "file":
        if not isinstance(value, str) or value not in file_ids:
            raise FieldError("Déposez un fichier (PDF, JPEG ou PNG) ou choisissez-en un du porte-documents.")
        return value
    raise FieldError("Type de champ inconnu.")  # pragma: no cover (the definition allows no other)
