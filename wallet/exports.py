"""The French columns of the finance exports (reconciliation, coupon flows, partner statement) and
of a family's coupon history, for portal.exports.french_csv. The reports keep their English keys
(the API's JSON); only the CSV speaks French."""

from __future__ import annotations

from portal.exports import Column

RECONCILIATION = [
    Column("purchase_id", "Achat"),
    Column("family_account_id", "Compte famille"),
    Column("created_at", "Créé le", "datetime"),
    Column("paid_at", "Payé le", "datetime"),
    Column("status", "Statut"),
    Column("provider", "Prestataire"),
    Column("coupons", "Coupons", "number"),
    Column("amount_cents", "Montant (€)", "euros"),
    Column("paid_cents", "Payé (€)", "euros"),
    Column("credited_coupons", "Coupons crédités", "number"),
    Column("reversed_coupons", "Coupons repris", "number"),
    Column("shortfall_coupons", "Coupons manquants", "number"),
    Column("shortfall_outstanding", "Manquants à reprendre", "number"),
    Column("mismatches", "Écarts"),
    Column("event_id", "Événement du prestataire"),
]

FLOWS = [
    Column("date", "Jour", "date"),
    Column("purchase", "Achetés", "number"),
    Column("purchase_reversal", "Repris (remboursement carte)", "number"),
    Column("redeem", "Utilisés", "number"),
    Column("refund", "Rendus", "number"),
    Column("partner_cancel", "Rendus (séance annulée)", "number"),
    Column("forfeit", "Perdus", "number"),
    Column("settle", "Réglés au partenaire", "number"),
    Column("adjustment", "Ajustements", "number"),
    Column("outstanding", "En circulation", "number"),
]

STATEMENT = [
    Column("booking_id", "Réservation"),
    Column("label", "Libellé"),
    Column("coupons", "Coupons", "number"),
    Column("redeemed_at", "Réservé le", "datetime"),
    Column("outcome", "Issue"),
    Column("outcome_at", "Issue le", "datetime"),
]

HISTORY = [
    Column("created_at", "Date", "datetime"),
    Column("label", "Opération"),
    Column("amount", "Coupons", "number"),
]
