"""Test data made through the real models; the same helpers serve every module's tests."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime
from typing import Any

import pendulum
from sqlalchemy import select

from catalog.models import Activity, ActivitySession
from participants.models import DocumentKind, Participant, ProofDocument
from portal.accounts.models import Account, TokenKind
from portal.accounts.security import hash_password
from portal.accounts.services import issue_token
from portal.associations.models import Association, AssociationStatus, Membership, MembershipRole
from portal.clock import days_before
from portal.context import Context
from wallet.ledger import credit_purchase

DEFAULT_PASSWORD = "Motdepasse1"
_seq = itertools.count(1)

# Hashing with argon2 takes tens of milliseconds: hash the shared test password once.
_DEFAULT_HASH = hash_password(DEFAULT_PASSWORD)


async def create_account(
    ctx: Context,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    verified: bool = True,
    staff_role: str | None = None,
    first_name: str = "Camille",
    last_name: str = "Le Gall",
) -> Account:
    n = next(_seq)
    async with ctx.db.unit_of_work() as uow:
        account = Account(
            email=(email or f"personne{n}@exemple.fr").lower(),
            password_hash=_DEFAULT_HASH if password == DEFAULT_PASSWORD else hash_password(password),
            first_name=first_name,
            last_name=last_name,
            email_verified_at=ctx.clock.now() if verified else None,
            staff_role=staff_role,
        )
        uow.session.add(account)
    return account


async def api_token(ctx: Context, account: Account) -> str:
    async with ctx.db.unit_of_work() as uow:
        return await issue_token(uow, account_id=account.id, kind=TokenKind.API, now=ctx.clock.now())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_user(ctx: Context, **kwargs: Any) -> tuple[Account, dict[str, str]]:
    """An account and the headers of an API call made by it."""
    account = await create_account(ctx, **kwargs)
    return account, bearer(await api_token(ctx, account))


async def create_association(
    ctx: Context,
    *,
    manager: Account | None = None,
    name: str | None = None,
    status: str = AssociationStatus.VALIDATED,
) -> Association:
    n = next(_seq)
    async with ctx.db.unit_of_work() as uow:
        association = Association(
            name=name or f"Association sportive n°{n}",
            rna=f"W29{n:07d}",
            domain="Sport",
            status=status,
            validated_at=ctx.clock.now() if status == AssociationStatus.VALIDATED else None,
            created_by_id=manager.id if manager else None,
        )
        uow.session.add(association)
        await uow.session.flush()
        if manager is not None:
            uow.session.add(
                Membership(
                    association_id=association.id,
                    account_id=manager.id,
                    role=MembershipRole.MANAGER,
                    function="Président",
                    activated_at=ctx.clock.now(),
                )
            )
    return association


async def create_activity(
    ctx: Context,
    association: Association,
    *,
    title: str = "Escalade en famille",
    status: str = "published",
    min_age: int = 0,
    max_age: int = 99,
    booking_deadline_days: int = 0,
    cancellation_deadline_days: int = 0,
    **fields: Any,
) -> Activity:
    async with ctx.db.unit_of_work() as uow:
        activity = Activity(
            association_id=association.id,
            title=title,
            description=fields.pop("description", "Une activité du programme Atout Sport."),
            status=status,
            min_age=min_age,
            max_age=max_age,
            booking_deadline_days=booking_deadline_days,
            cancellation_deadline_days=cancellation_deadline_days,
            published_at=ctx.clock.now() if status == "published" else None,
            **fields,
        )
        uow.session.add(activity)
    return activity


async def create_session(
    ctx: Context,
    activity: Activity,
    *,
    starts_at: datetime | None = None,
    duration_hours: float = 2,
    capacity: int = 10,
    price_coupons: int = 3,
    label: str = "Séance",
    audience: str = "all",
    taken: int = 0,
) -> ActivitySession:
    """A session; deadlines computed from the activity's days as the catalog does (rule 4)."""
    starts = pendulum.instance(starts_at) if starts_at else ctx.clock.now().add(days=14)
    async with ctx.db.unit_of_work() as uow:
        session = ActivitySession(
            activity_id=activity.id,
            starts_at=starts,
            ends_at=starts.add(hours=duration_hours),  # type: ignore[arg-type]
            label=label,
            capacity=capacity,
            taken=taken,
            price_coupons=price_coupons,
            audience=audience,
            booking_closes_at=days_before(starts, activity.booking_deadline_days, ctx.settings.timezone),
            cancellation_deadline_at=days_before(
                starts, activity.cancellation_deadline_days, ctx.settings.timezone
            ),
        )
        uow.session.add(session)
    return session


async def create_participant(
    ctx: Context,
    family: Account,
    *,
    first_name: str = "Lou",
    last_name: str = "Le Gall",
    birth_date: date = date(2016, 4, 2),
    is_referent: bool = False,
) -> Participant:
    async with ctx.db.unit_of_work() as uow:
        participant = Participant(
            family_account_id=family.id,
            first_name=first_name,
            last_name=last_name,
            birth_date=birth_date,
            is_referent=is_referent,
        )
        uow.session.add(participant)
    return participant


async def give_coupons(ctx: Context, family: Account, coupons: int) -> None:
    """Coupons as a paid purchase would credit them (through the ledger, never by hand)."""
    async with ctx.db.unit_of_work() as uow:
        await credit_purchase(
            uow,
            purchase_id=uuid.uuid4(),
            family_account_id=family.id,
            coupons=coupons,
            now=ctx.clock.now(),
            memo=f"Achat de {coupons} coupons",
        )


async def a_proof_document(
    ctx: Context, participant_id: Any, *, code: str = "certificat_medical", valid_until: date | None = None
) -> ProofDocument:
    """A participant's proof of a configured kind (a placeholder file: only its record matters)."""
    async with ctx.db.unit_of_work() as uow:
        kind = await uow.session.scalar(select(DocumentKind).where(DocumentKind.code == code))
        assert kind is not None
        proof = ProofDocument(
            participant_id=participant_id,
            kind_id=kind.id,
            file_key="test/none",
            content_type="application/pdf",
            size=1,
            sha256="0" * 64,
            valid_until=valid_until,
        )
        uow.session.add(proof)
    return proof
