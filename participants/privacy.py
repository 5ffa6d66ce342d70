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
from typing import Any
from uuid import UUID

import pendulum
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from participants.models import AUTHORISATIONS, DocumentDownload, DocumentKind, Participant, ProofDocument
from portal.clock import iso_local
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


async def export_account(session: AsyncSession, account_id: UUID, tz: str) -> dict[str, Any]:
    """The family's participants, their registration sheets and their documents (metadata only:
    each file is downloaded from the participant's own page)."""
    participants = list(
        (
            await session.execute(
                select(Participant)
                .where(Participant.family_account_id == account_id)
                .order_by(Participant.created_at)
            )
        ).scalars()
    )
    documents = (
        await session.execute(
            select(ProofDocument, DocumentKind.code, DocumentKind.label)
            .join(DocumentKind, DocumentKind.id == ProofDocument.kind_id)
            .where(ProofDocument.participant_id.in_([p.id for p in participants]))
            .order_by(ProofDocument.created_at)
        )
    ).tuples()
    by_participant: dict[UUID, list[dict[str, Any]]] = {}
    for document, code, label in documents:
        by_participant.setdefault(document.participant_id, []).append(
            {
                "id": str(document.id),
                "kind": code,
                "kind_label": label,
                "filename": document.original_name,
                "content_type": document.content_type,
                "size": document.size,
                "valid_until": document.valid_until.isoformat() if document.valid_until else None,
                "uploaded_at": iso_local(document.created_at, tz),
                "archived_at": iso_local(document.archived_at, tz),
                "download_url": (
                    f"/api/v1/participants/{document.participant_id}/documents/{document.id}/file"
                ),
            }
        )
    return {
        "participants": [
            {
                "id": str(p.id),
                "first_name": p.first_name,
                "last_name": p.last_name,
                "birth_date": p.birth_date.isoformat(),
                "is_referent": p.is_referent,
                "sheet": {
                    "emergency_contact_name": p.emergency_contact_name,
                    "emergency_contact_phone": p.emergency_contact_phone,
                    "health_notes": p.health_notes,
                    "image_rights_consent": p.image_rights_consent,
                    "authorisations": p.authorisations,
                },
                "archived_at": iso_local(p.archived_at, tz),
                "documents": by_participant.get(p.id, []),
            }
            for p in participants
        ]
    }


async def purge(ctx: Any, now: datetime) -> dict[str, int]:
    """Proof documents the town no longer needs: `retention_document_months` after the end of their
    validity, or after they were withdrawn or replaced. Rows and download audit deleted, files
    removed once committed."""
    months = ctx.settings.retention_document_months
    today = ctx.clock.local(now).date()
    expired_before = pendulum.date(today.year, today.month, today.day).subtract(months=months)
    archived_before = pendulum.instance(now).subtract(months=months)
    async with ctx.db.unit_of_work() as uow:
        rows = list(
            (
                await uow.session.execute(
                    select(ProofDocument.id, ProofDocument.file_key).where(
                        or_(
                            ProofDocument.valid_until < expired_before,
                            ProofDocument.archived_at < archived_before,
                        )
                    )
                )
            ).tuples()
        )
        if not rows:
            return {"proof_documents": 0}
        ids = [document_id for document_id, _ in rows]
        await uow.session.execute(delete(DocumentDownload).where(DocumentDownload.document_id.in_(ids)))
        await uow.session.execute(delete(ProofDocument).where(ProofDocument.id.in_(ids)))

        async def remove_files() -> None:
            for _, key in rows:
                delete_file(ctx.settings, key)

        uow.after_commit(remove_files)
    return {"proof_documents": len(rows)}
