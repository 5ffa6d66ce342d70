"""Request bodies of the participants API (msgspec: a bad body is 400 `invalid_request`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from participants.models import Participant
from participants.services import ParticipantChanges
from portal.clock import age_on
from portal.text import OneLine

Name = Annotated[OneLine, Meta(min_length=1, max_length=100)]


class ParticipantCreate(msgspec.Struct, forbid_unknown_fields=True):
    first_name: Name
    last_name: Name
    birth_date: date
    is_referent: bool = False


class ParticipantPatch(msgspec.Struct, forbid_unknown_fields=True):
    first_name: Name | UnsetType = UNSET
    last_name: Name | UnsetType = UNSET
    birth_date: date | UnsetType = UNSET
    emergency_contact_name: Annotated[OneLine, Meta(max_length=200)] | UnsetType = UNSET
    emergency_contact_phone: Annotated[OneLine, Meta(max_length=30)] | UnsetType = UNSET
    health_notes: Annotated[str, Meta(max_length=2000)] | UnsetType = UNSET
    image_rights_consent: bool | UnsetType = UNSET
    authorisations: dict[str, bool] | UnsetType = UNSET

    def to_changes(self) -> ParticipantChanges:
        values = {
            field: value for field in self.__struct_fields__ if (value := getattr(self, field)) is not UNSET
        }
        return ParticipantChanges(**values)


class DocumentKindCreate(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[OneLine, Meta(min_length=1, max_length=50)]
    label: Annotated[OneLine, Meta(min_length=1, max_length=200)]
    requires_valid_until: bool = False


class DocumentKindPatch(msgspec.Struct, forbid_unknown_fields=True):
    label: Annotated[OneLine, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    requires_valid_until: bool | UnsetType = UNSET
    archived: bool | UnsetType = UNSET


def participant_dict(participant: Participant, today: date) -> dict[str, Any]:
    return {
        "id": str(participant.id),
        "family_account_id": str(participant.family_account_id),
        "first_name": participant.first_name,
        "last_name": participant.last_name,
        "birth_date": participant.birth_date.isoformat(),
        "age": age_on(participant.birth_date, today),
        "is_referent": participant.is_referent,
        "archived": participant.archived_at is not None,
        "registration_sheet": {
            "emergency_contact_name": participant.emergency_contact_name,
            "emergency_contact_phone": participant.emergency_contact_phone,
            "health_notes": participant.health_notes,
            "image_rights_consent": participant.image_rights_consent,
            "authorisations": dict(participant.authorisations or {}),
        },
    }
