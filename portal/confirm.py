"""A confirmation step before a destructive act (issue 12), without JavaScript.

The page's button posts to the act's own address; without `confirmed=1` in the form, the handler
answers this page instead of acting: what will happen, said plainly, then a button that posts the
same address again with `confirmed=1`, and a way back. The JSON API has its own routes and is not
concerned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar.response import Template

CONFIRMED_FIELD = "confirmed"


def is_confirmed(form: Mapping[str, Any]) -> bool:
    """True when the person answered the confirmation page (the form carries `confirmed=1`)."""
    return str(form.get(CONFIRMED_FIELD, "")) == "1"


@dataclass
class Confirmation:
    title: str  # the page's title (« Archiver l'activité : Escalade »)
    question: str  # its heading (« Archiver « Escalade » ? »)
    consequences: list[str]  # what will happen, one sentence each
    action: str  # the address the confirm button posts to
    confirm_label: str  # « Confirmer l'archivage »
    back: str  # where « keep it » leads
    back_label: str = "Annuler et revenir"
    subject: str | None = None  # a line naming what is concerned
    blocked: str | None = None  # why it cannot be done now: then no confirm button
    fields: dict[str, str] = field(default_factory=dict)  # hidden fields posted again


def confirmation_page(actor: Any, confirmation: Confirmation, *, status_code: int = 200) -> Template:
    return Template(
        "portal/confirm.html", context={"actor": actor, "confirm": confirmation}, status_code=status_code
    )
