"""Erasing a family's participants when its account is deleted (called by the accounts module).

The participant rows stay, because bookings and the ledger may point at them; what made them a
person goes: names are replaced, the registration sheet is cleared, the birth date (NOT NULL, and
kept non-null so the booking module's age rules never meet a missing one) becomes a placeholder,
the proof documents and their download audit are deleted and their files removed once the
transaction has committed.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from uuid import UUID

from sqlalchemy import delete, select

from participants.models import AUTHORISATIONS, DocumentDownload, Participant, ProofDocument
from portal.db import UnitOfWork
from portal.files import delete_file
from portal.settings import Settings

ERASED_NAME = "Participant supprimé"
ERASED_BIRTH_DATE = date(1900, 1, 1)


def _settings_from_env() -> Settings:
    # Only the data folder is needed, read as Settings.from_env() reads it, without its side effect
    # of creating ./var/secret.
    return Settings(data_dir=Path(os.environ.get("CARNET_DATA_DIR") or "./var"))


async def erase_account(
    uow: UnitOfWork, account_id: UUID, now: datetime, *, settings: Settings | None = None
) -> int:
    """Anonymise every participant of the family `account_id` inside the caller's transaction.

    `settings` tells where the files are (the app's CARNET_DATA_DIR when not given). Returns how
    many participants were erased. Running it twice is harmless.
    """
    participants = list(
        (
            await uow.session.execute(
                select(Participant).where(Participant.family_account_id == account_id).with_for_update()
            )
        ).scalars()
    )
    if not participants:
        return 0
    ids = [participant.id for participant in participants]
    file_keys = list(
        (
            await uow.session.execute(
                select(ProofDocument.file_key).where(ProofDocument.participant_id.in_(ids))
            )
        ).scalars()
    )
    document_ids = select(ProofDocument.id).where(ProofDocument.participant_id.in_(ids))
    await uow.session.execute(delete(DocumentDownload).where(DocumentDownload.document_id.in_(document_ids)))
    await uow.session.execute(delete(ProofDocument).where(ProofDocument.participant_id.in_(ids)))
    for participant in participants:
        participant.first_name = ERASED_NAME
        participant.last_name = ""
        participant.birth_date = ERASED_BIRTH_DATE
        participant.emergency_contact_name = ""
        participant.emergency_contact_phone = ""
        participant.health_notes = ""
        participant.image_rights_consent = False
        participant.authorisations = dict.fromkeys(AUTHORISATIONS, False)
        participant.archived_at = participant.archived_at or now
        participant.erased_at = participant.erased_at or now
    await uow.session.flush()

    where = settings or _settings_from_env()

    async def remove_files() -> None:
        # After COMMIT only: a rolled-back deletion must not have lost the family's files.
        for key in file_keys:
            delete_file(where, key)

    uow.after_commit(remove_files)
    return len(participants)
