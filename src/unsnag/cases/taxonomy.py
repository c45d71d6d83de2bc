"""The exception taxonomy of EVENTS.md: every case has exactly one of these types."""

from __future__ import annotations

CASE_TYPES: dict[str, str] = {
    "allocation.shortage": "a committed line cannot be filled from its node (backorder)",
    "allocation.conflict": "scarce stock is contested by several open lines",
    "inventory.mismatch": "ERP and WMS disagree on stock beyond tolerance",
    "pick.short": "the warehouse picked less than allocated",
    "pricing.mismatch": "order price differs from contract or list, or margin is under floor",
    "credit.hold": "an order is blocked by credit (worse when picking already started)",
    "master_data.invalid": "address, tax jurisdiction or other master data blocks the order",
    "order.duplicate": "the same order arrived twice (EDI/API retry, double entry)",
    "shipment.delay": "an ETA is past the promise, or the order is predicted to miss it",
    "shipment.failed": "delivery failed or the carrier rejected the shipment",
    "delivery.discrepancy": "delivered damaged, short or wrong; may open a return",
    "asn.discrepancy": "an ASN disagrees with the order or the receipt",
    "return.pending": "a return needs authorisation, inspection or credit",
    "invoice.hold": "shipped but not invoiced in time, or invoice disputed",
    "cash.unapplied": "a remittance cannot be matched to open invoices, or it short-pays",
    "payment.overdue": "an invoice is unpaid past its due date plus the policy's grace",
    "integration.failure": "a system interface failed and business events may be missing",
}
