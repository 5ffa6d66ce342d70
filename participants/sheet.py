"""The registration sheet (« fiche d'inscription ») to print: the participant's details, the
family's referent and contact, the proof documents and their state, health notes, image-rights
consent and authorisations. It carries health data, so it is the family's own or staff who may
read participants (Power.READ_PARTICIPANTS) — the same rule as the participant itself — and each
printing is recorded in the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from participants.models import AUTHORISATIONS
from participants.services import (
    _visible_participant,
    family_referent,
    list_document_kinds,
    list_participant_documents,
)
from portal import audit
from portal.accounts.models import Account
from portal.auth import Actor
from portal.clock import age_on
from portal.context import Context


async def registration_sheet(
    ctx: Context, actor: Actor, participant_id: UUID, *, now: datetime, today: date
) -> dict[str, Any]:
    """Everything the sheet shows (404 for another family's participant, 403 for staff without
    the power to read participants)."""
    async with ctx.db.unit_of_work() as uow:
        participant = await _visible_participant(uow.session, actor, participant_id)
        referent = await family_referent(uow.session, participant.family_account_id)
        family = await uow.session.get(Account, participant.family_account_id)
        documents = await list_participant_documents(uow.session, participant.id)
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="participant.sheet.printed",
            entity="participant",
            entity_id=participant.id,
            data={},
        )
    kinds = await list_document_kinds(ctx)
    by_kind = {d.kind_code: d for d in documents}
    return {
        "participant": participant,
        "age": age_on(participant.birth_date, today),
        "referent": referent,
        "family": family,
        "documents": [
            {
                "label": kind.label,
                "status": (
                    "non fourni"
                    if kind.code not in by_kind
                    else ("expiré" if by_kind[kind.code].expired_on(today) else "fourni")
                ),
                "valid_until": by_kind[kind.code].valid_until if kind.code in by_kind else None,
            }
            for kind in kinds
        ],
        "authorisations": [(label, participant.authorised(key)) for key, label in AUTHORISATIONS.items()],
        "printed_on": today,
    }
