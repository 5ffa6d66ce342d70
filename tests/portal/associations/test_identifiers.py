"""RNA and SIREN formats, and the Luhn key of a SIREN (no database)."""

from __future__ import annotations

import pytest

from portal.associations.errors import IdentifierRequired, InvalidRna, InvalidSiren
from portal.associations.identifiers import luhn_valid, normalize_rna, normalize_siren
from portal.associations.services import parse_identifiers


def test_rna_is_w_and_nine_digits() -> None:
    assert normalize_rna("W294001003") == "W294001003"
    assert normalize_rna(" w294 001 003 ") == "W294001003"


@pytest.mark.parametrize("value", ["294001003", "W29400100", "W2940010031", "X294001003", "W29400100A", ""])
def test_bad_rna_is_refused(value: str) -> None:
    with pytest.raises(InvalidRna):
        normalize_rna(value)


def test_siren_needs_a_valid_luhn_key() -> None:
    assert normalize_siren("781 234 505") == "781234505"
    assert luhn_valid("732829320")  # a real company's SIREN
    with pytest.raises(InvalidSiren):
        normalize_siren("781234506")  # last digit off by one


@pytest.mark.parametrize("value", ["78123450", "7812345050", "78123450A", "W78123450"])
def test_bad_siren_format_is_refused(value: str) -> None:
    with pytest.raises(InvalidSiren):
        normalize_siren(value)


def test_at_least_one_identifier() -> None:
    with pytest.raises(IdentifierRequired):
        parse_identifiers(None, "  ")
    assert parse_identifiers(None, "781234505") == (None, "781234505")
