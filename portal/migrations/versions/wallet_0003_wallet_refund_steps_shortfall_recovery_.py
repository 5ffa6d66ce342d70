"""wallet: card refunds in steps, shortfall owed by the wallet, ledger refuses TRUNCATE

Revision ID: wallet_0003
Revises: wallet_0002
Create Date: 2026-12-02 01:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "wallet_0003"
down_revision: str | Sequence[str] | None = "wallet_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # The shortfall a family wallet still owes after card refunds (0 for every other account).
    op.add_column("ledger_accounts", sa.Column("shortfall", sa.Integer(), server_default="0", nullable=False))
    if postgresql:
        # SQLite cannot add a CHECK without rebuilding the table the transfer log references;
        # `carnet ledger check` verifies the shortfall there as everywhere.
        op.create_check_constraint(
            op.f("ck_ledger_accounts_shortfall_not_negative"), "ledger_accounts", "shortfall >= 0"
        )

    # A purchase's refund is now a series of steps (partial refunds), one row each.
    with op.batch_alter_table("wallet_purchase_reversals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refunded_total_coupons", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("coupons_refunded", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recovered_coupons", sa.Integer(), server_default="0", nullable=False))
    # Existing rows were whole refunds: one step covering everything the purchase credited.
    op.execute(
        "UPDATE wallet_purchase_reversals SET coupons_refunded = coupons_taken + shortfall_coupons, "
        "refunded_total_coupons = coupons_taken + shortfall_coupons"
    )
    # Shortfalls recorded before this revision are owed from now on.
    op.execute(
        "UPDATE ledger_accounts SET shortfall = (SELECT COALESCE(SUM(r.shortfall_coupons), 0) "
        "FROM wallet_purchase_reversals r WHERE r.family_account_id = ledger_accounts.owner_account_id) "
        "WHERE kind = 'family'"
    )
    with op.batch_alter_table("wallet_purchase_reversals", schema=None) as batch_op:
        batch_op.alter_column("refunded_total_coupons", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("coupons_refunded", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("uq_wallet_purchase_reversals_purchase_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_wallet_purchase_reversals_step", ["purchase_id", "refunded_total_coupons"]
        )
        batch_op.create_check_constraint(
            op.f("ck_wallet_purchase_reversals_step_adds_up"),
            "coupons_taken + shortfall_coupons = coupons_refunded",
        )
        batch_op.create_check_constraint(
            op.f("ck_wallet_purchase_reversals_recovered_bounded"),
            "recovered_coupons >= 0 AND recovered_coupons <= shortfall_coupons",
        )
        batch_op.create_index("ix_wallet_purchase_reversals_family", ["family_account_id"], unique=False)

    if postgresql:
        # UPDATE and DELETE were refused row by row; TRUNCATE skips row triggers, so refuse it per
        # statement. The test suite empties tables between tests: it sets carnet.allow_truncate.
        op.execute(
            """
            CREATE FUNCTION ledger_transfers_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF current_setting('carnet.allow_truncate', true) = 'on' THEN
                    RETURN NULL;
                END IF;
                RAISE EXCEPTION 'ledger_transfers is append-only: TRUNCATE refused'
                    USING ERRCODE = 'insufficient_privilege';
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER ledger_transfers_no_truncate BEFORE TRUNCATE ON ledger_transfers "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfers_no_truncate()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_no_truncate ON ledger_transfers")
        op.execute("DROP FUNCTION IF EXISTS ledger_transfers_no_truncate()")
        op.drop_constraint(
            op.f("ck_ledger_accounts_shortfall_not_negative"), "ledger_accounts", type_="check"
        )
    with op.batch_alter_table("wallet_purchase_reversals", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_purchase_reversals_family")
        batch_op.drop_constraint(op.f("ck_wallet_purchase_reversals_recovered_bounded"), type_="check")
        batch_op.drop_constraint(op.f("ck_wallet_purchase_reversals_step_adds_up"), type_="check")
        batch_op.drop_constraint("uq_wallet_purchase_reversals_step", type_="unique")
        batch_op.create_unique_constraint("uq_wallet_purchase_reversals_purchase_id", ["purchase_id"])
        batch_op.drop_column("recovered_coupons")
        batch_op.drop_column("coupons_refunded")
        batch_op.drop_column("refunded_total_coupons")
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.drop_column("shortfall")
