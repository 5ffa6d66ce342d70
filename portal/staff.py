"""What each staff role may do: the one table of staff powers (README « Staff powers » shows it).

Services never test a role's name: they ask for a power (`actor.require_power(Power.READ_FINANCE)`,
`actor.has_power(…)`), and this table says which roles hold it. A role gets only what its work
needs (data minimisation): finance reconciles money and never reads participants, their
registration sheets or their proof documents. To add a role, add it to `StaffRole` and give it a
line here (and in the README's table); a power nobody holds is refused to everyone.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Power(enum.StrEnum):
    # Associations: the request queue (validate, reject, orphan join requests).
    VALIDATE_ASSOCIATIONS = "validate_associations"
    # Act as a member of any association: read and manage it, its papers, its activities and
    # sessions (cancelling one refunds every booking), its attendee lists and their documents.
    ACT_FOR_ANY_ASSOCIATION = "act_for_any_association"
    # The catalogue's domains, themes and places (a partner's proposals are reviewed by saving).
    MANAGE_REFERENCE_DATA = "manage_reference_data"
    # The kinds of proof documents families upload.
    MANAGE_DOCUMENT_KINDS = "manage_document_kinds"
    # Any family's participants, registration sheets (health notes), proof documents, and who
    # downloaded each document.
    READ_PARTICIPANTS = "read_participants"
    # Any family's booking: read it and cancel it (a staff cancellation is refunded in full).
    MANAGE_BOOKINGS = "manage_bookings"
    # Reconciliation, coupon flows, the ledger check, partner statements, the finance pages.
    READ_FINANCE = "read_finance"
    # Finance corrections of a family's wallet (`adjustment` transfers).
    ADJUST_WALLETS = "adjust_wallets"
    # The town's counter (« guichet », booking/desk.py): find a family, sell it coupons (cash,
    # cheque, chèques vacances), book or cancel for it under the family's own rules, correct its
    # wallet with a reason. Reads a family's participants only through the booking it makes.
    ACT_FOR_FAMILIES = "act_for_families"


# role -> powers. Keep in step with the README's table (tests/portal/test_staff_powers.py checks
# every cell through the services).
STAFF_POWERS: dict[str, frozenset[Power]] = {
    "admin": frozenset(
        {
            Power.VALIDATE_ASSOCIATIONS,
            Power.ACT_FOR_ANY_ASSOCIATION,
            Power.MANAGE_REFERENCE_DATA,
            Power.MANAGE_DOCUMENT_KINDS,
            Power.READ_PARTICIPANTS,
            Power.MANAGE_BOOKINGS,
            Power.READ_FINANCE,
            Power.ADJUST_WALLETS,
            Power.ACT_FOR_FAMILIES,
        }
    ),
    "finance": frozenset({Power.READ_FINANCE, Power.ADJUST_WALLETS}),
    # The counter reads and cancels a family's booking for it; its cancellations follow the
    # family's own refund rule (only admin's are refunded whatever the deadline).
    "desk": frozenset({Power.ACT_FOR_FAMILIES, Power.MANAGE_BOOKINGS}),
    # An agent's powers are per town (portal/towns: the requests and questions of its towns).
    "agent": frozenset(),
}


def powers_of(roles: Iterable[str]) -> frozenset[Power]:
    """Every power the roles hold together (an unknown role holds none)."""
    held: set[Power] = set()
    for role in roles:
        held |= STAFF_POWERS.get(str(role), frozenset())
    return frozenset(held)


def roles_with(power: Power) -> list[str]:
    """The roles holding `power` (e.g. who is e-mailed a new association request)."""
    return sorted(role for role, powers in STAFF_POWERS.items() if power in powers)
