"""asn.discrepancy — a supplier's advance ship notice disagrees with its PO or the receipt.

Subject and key: the ``po_id``. Tolerance per comparison: max(``qty_tolerance_units``,
``qty_tolerance_pct`` × the reference quantity) of ``detectors.asn_discrepancy``.

Opens on ``asn.received`` for a known PO (``po_number`` = ``po_id``) as soon as the
cumulative ASN quantity of a SKU exceeds the PO quantity beyond tolerance (root cause
``asn_over``) or a SKU is not on the PO at all (``asn_unknown_sku``). Once a
``receipt.posted`` arrives for a PO that has ASNs, the received quantity per SKU is also
compared with the ASN quantity (``receipt_vs_asn``) and — when it matches the ASNs — with
the PO quantity after all the ASNs (``receipt_vs_po``: the supplier shipped short).

Look-alikes ignored: an ASN short of the PO before any receipt (partial ASNs that will
sum up are normal, e.g. two partial ASNs summing to the PO); quantities within
tolerance; a receipt against a PO without any ASN (nothing to disagree with).

Resolved when later ASNs or receipts bring every comparison within tolerance again.
Impact: Σ |difference| × the product's ``unit_cost``; no customer.
"""

from __future__ import annotations

from collections.abc import Iterable

from unsnag.detect.base import Detector, Impact, Output, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import PurchaseOrder, State

# (sku, root cause, difference in units, human note)
Gap = tuple[str, str, float, str]


class AsnDiscrepancy(Detector):
    rule = "asn-discrepancy"
    case_type = "asn.discrepancy"
    events = frozenset({"asn.received", "receipt.posted"})
    config_name = "asn_discrepancy"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.memory["flagged"] = {}  # po_id -> True while its case is open

    def tolerance(self, qty: float) -> float:
        units: float = self.cfg.qty_tolerance_units
        share: float = self.cfg.qty_tolerance_pct
        return max(units, share * qty)

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        po_id = d.po_number if event.type == "asn.received" else d.po_id
        po = state.purchase_orders.get(po_id) if po_id else None
        if po is None or not po.asn_ids:
            return
        gaps = self.gaps(po)
        flagged: dict[str, bool] = self.memory["flagged"]
        if not gaps:
            if flagged.pop(po.po_id, False):
                note = "receipt" if event.type == "receipt.posted" else "ASN"
                yield self.clear(po.po_id, event.time, f"{note} brings the PO within tolerance")
            return
        flagged[po.po_id] = True
        value = 0.0
        for sku, _, diff, _ in gaps:
            product = state.products.get(sku)
            value += abs(diff) * ((product.unit_cost or 0.0) if product else 0.0)
        asn = event.type == "asn.received"
        pairs = refs(
            po_id=po.po_id,
            node_id=po.node_id,
            supplier_id=po.supplier_id,
            asn_id=d.asn_id if asn else None,
            shipment_id=d.shipment_id if asn else None,
        )
        skus = tuple(("sku", sku) for sku in sorted({gap[0] for gap in gaps}))
        causes = sorted({gap[1] for gap in gaps}, key=ORDER.index)
        shown = "; ".join(gap[3] for gap in gaps[:3])
        more = f" (+{len(gaps) - 3} more)" if len(gaps) > 3 else ""
        yield self.signal(
            po.po_id,
            po.po_id,
            event.time,
            refs=pairs + skus,
            impact=Impact(revenue_at_risk=value),
            root_cause="+".join(causes),
            summary=f"{shown}{more}",
        )

    def gaps(self, po: PurchaseOrder) -> list[Gap]:
        """Every disagreement of the PO's ASNs (and receipts, once any) beyond tolerance."""
        found: list[Gap] = []
        received_any = bool(po.received)
        for sku in sorted({*po.lines, *po.asn_qty, *po.received}):
            ordered = po.lines.get(sku)
            announced = po.asn_qty.get(sku, 0.0)
            if ordered is None and announced > 0:
                found.append(
                    (sku, "asn_unknown_sku", announced, f"{sku} not on the PO (ASN {announced:g})")
                )
            elif ordered is not None and announced - ordered > self.tolerance(ordered):
                found.append(
                    (
                        sku,
                        "asn_over",
                        announced - ordered,
                        f"ASN {announced:g} of {sku} vs PO {ordered:g} (+{announced - ordered:g})",
                    )
                )
            if not received_any:
                continue
            received = po.received.get(sku, 0.0)
            if abs(received - announced) > self.tolerance(announced):
                diff = received - announced
                found.append(
                    (
                        sku,
                        "receipt_vs_asn",
                        diff,
                        f"received {received:g} of {sku} vs ASN {announced:g} ({diff:+g})",
                    )
                )
            elif ordered is not None and ordered - announced > self.tolerance(ordered):
                diff = received - ordered
                found.append(
                    (
                        sku,
                        "receipt_vs_po",
                        diff,
                        f"received {received:g} of {sku} vs PO {ordered:g} ({diff:+g})",
                    )
                )
        return found


ORDER = ["asn_over", "asn_unknown_sku", "receipt_vs_asn", "receipt_vs_po"]

DETECTOR = AsnDiscrepancy
