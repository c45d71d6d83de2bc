"""Options for ``asn.discrepancy``: a supplier's ASN disagrees with its PO or the receipt.

The gaps are worked out again as the detector does (its ``gaps``), on the current PO.

- ``request_info`` to the supplier listing the gaps: 0.7 when the ASN itself is off the
  PO (``asn_over``, ``asn_unknown_sku``: the supplier's document is wrong), 0.6 when
  the receipt matches the ASN but not the PO (``receipt_vs_po``: ship the balance or
  cancel it?), else 0.45.
- ``adjust_inventory`` (recount at the dock) for each SKU received off its ASN
  (``receipt_vs_asn``): 0.55, since a miscount at receiving is as likely as a wrong ASN.
- ``notify`` receiving (0.3), always last.

Amount: the case's value (Σ |difference| x unit cost).
"""

from __future__ import annotations

from unsnag.cases.desk import Case
from unsnag.detect.detectors.asn_discrepancy import AsnDiscrepancy, Gap
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import ask, day, grounded, money, num, rank, tell, unknown
from unsnag.state.model import PurchaseOrder, State

SUPPLIER_ERRORS = frozenset({"asn_over", "asn_unknown_sku"})


def supplier_confidence(causes: set[str]) -> float:
    if causes & SUPPLIER_ERRORS:
        return 0.7
    return 0.6 if "receipt_vs_po" in causes else 0.45


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    po = state.purchase_orders.get(case.key)
    if po is None:
        return unknown(case, "purchase order", case.key, "purchase_order.created")
    gaps = AsnDiscrepancy(policy).gaps(po)
    value = case.impact.revenue_at_risk
    facts = [
        f"{po.po_id} from {po.supplier_id or 'an unknown supplier'} to {po.node_id}, ETA "
        f"{day(po.eta)}, ASNs {', '.join(po.asn_ids) or 'none'}",
        *(note for _, _, _, note in gaps),
    ]
    if not gaps:
        facts.append("no gap left beyond tolerance now")
    shown = "; ".join(note for _, _, _, note in gaps[:3]) or case.summary
    found: list[Option] = [
        ask(
            "supplier",
            f"{po.po_id}: {shown}. Please confirm the quantities and send a corrected ASN "
            "or the balance",
            (),
            confidence=supplier_confidence({cause for _, cause, _, _ in gaps}),
            effect=Effect(value, 0.0, 0.0),
            amount=value,
            po_id=po.po_id,
            supplier_id=po.supplier_id,
        ),
        *_recounts(po, gaps, value),
        tell(case.owner_team, f"{po.po_id}: {shown} ({money(value)})", ()),
    ]
    return rank(grounded(found, facts))


def _recounts(po: PurchaseOrder, gaps: list[Gap], value: float) -> list[Option]:
    """A dock recount for every SKU received off its ASN."""
    return [
        Option(
            action="adjust_inventory",
            params={"node_id": po.node_id, "sku": sku, "po_id": po.po_id},
            summary=f"recount {sku} received on {po.po_id} at {po.node_id} ({note})",
            effect=Effect(value, 0.0, 0.0),
            facts=(f"{sku}: {num(diff)} off the ASN",),
            confidence=0.55,
            amount=value,
        )
        for sku, cause, diff, note in gaps
        if cause == "receipt_vs_asn"
    ]
