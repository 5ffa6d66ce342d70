"""Questions' domain errors."""

from __future__ import annotations

from portal.errors import NotFound


class QuestionNotFound(NotFound):
    message = "Cette question n'existe pas."


class FaqEntryNotFound(NotFound):
    message = "Cette entrée de la FAQ n'existe pas."
