"""RNA and SIREN numbers: the two ways an association is identified in France."""

from __future__ import annotations

import re

from portal.associations.errors import InvalidRna, InvalidSiren

_RNA = re.compile(r"W\d{9}")
_SIREN = re.compile(r"\d{9}")


def _compact(value: str) -> str:
    # People copy numbers with spaces ("781 234 505") or dots; those are not part of the number.
    return re.sub(r"[\s.\-]", "", value)


def normalize_rna(value: str) -> str:
    """`W` + 9 digits (a lower-case w is accepted), else InvalidRna."""
    rna = _compact(value).upper()
    if not _RNA.fullmatch(rna):
        raise InvalidRna()
    return rna


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def normalize_siren(value: str) -> str:
    """9 digits whose last one is the Luhn key, else InvalidSiren."""
    siren = _compact(value)
    if not _SIREN.fullmatch(siren) or not luhn_valid(siren):
        raise InvalidSiren()
    return siren
