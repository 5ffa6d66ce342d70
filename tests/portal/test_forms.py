"""portal/forms.py: every shape a handler has becomes one list of (field id, message); no database."""

from __future__ import annotations

from portal.breadcrumbs import trail
from portal.errors import InvalidRequest
from portal.forms import FormErrors


def test_a_domain_error_names_its_field_or_its_fields() -> None:
    one = FormErrors.of(InvalidRequest("Le prénom est obligatoire.", extra={"field": "first_name"}))
    assert list(one) == [("first_name", "Le prénom est obligatoire.")]
    many = FormErrors.of(
        InvalidRequest("À corriger.", extra={"fields": {"a": "A manque.", "b": "B manque."}})
    )
    assert list(many) == [("a", "A manque."), ("b", "B manque.")]
    renamed = FormErrors.of(InvalidRequest("x", extra={"fields": {"a": "A manque."}}), fields={"a": "f-a"})
    assert renamed.message("f-a") == "A manque." and "a" not in renamed


def test_messages_lists_and_mappings_and_nothing() -> None:
    assert list(FormErrors.of("Choisissez un participant.", field="participant")) == [
        ("participant", "Choisissez un participant.")
    ]
    assert list(FormErrors.of(["Un.", "Un.", "Deux."])) == [(None, "Un."), (None, "Deux.")]
    assert list(FormErrors.of({"title": "Le titre est obligatoire.", "place": ""})) == [
        ("title", "Le titre est obligatoire.")
    ]
    assert not FormErrors.of(None) and not FormErrors.of([]) and not FormErrors.of("  ")


def test_the_trail_goes_through_the_sections_of_the_address() -> None:
    assert trail("/") == []
    assert trail("/participants") == [("/", "Accueil")]
    assert trail("/participants/nouveau") == [("/", "Accueil"), ("/participants", "Participants")]
    assert trail("/partenaire/activites/123/modifier") == [
        ("/", "Accueil"),
        ("/partenaire", "Espace partenaire"),
        ("/partenaire/activites", "Mes activités"),
    ]
