"""Options for ``pricing.mismatch``: a line's price is off contract or list, or under floor.

The offending lines are found as the detector finds them (its ``issues``), against the
current state. One ``correct_price`` per line, to:

- the customer's contract price valid at the order's creation (``contract_price``):
  confidence 0.95, or 0.8 when the contract price itself sells under the margin floor
  (then ``below_margin_floor`` is set and pricing approves);
- without a contract, the lowest price the policy allows under list, list x (1 -
  ``list_discount_max_pct``) (``below_list``): 0.6, since a deal may exist that was never
  loaded — hence also ``notify`` pricing to load it (0.45);
- for a line only under the margin floor, the floor price cost / (1 - ``margin_floor_pct``)
  rounded up to the cent: 0.5 (the customer saw the lower price); when a contract holds
  that price, no correction — ``notify`` pricing to review the contract (0.6).

Amount: |new - old| x qty. Effect: raising a price protects the difference; lowering it
to the contract protects the whole line (it is paid instead of disputed) at the cost of
the difference.
"""

from __future__ import annotations

import math

from unsnag.cases.desk import Case
from unsnag.detect.base import margin_of
from unsnag.detect.detectors.pricing_mismatch import PricingMismatch
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import grounded, money, num, order_of, pct, rank, tell, unknown
from unsnag.state.model import Line, Order, State

EPSILON = 1e-9


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    order = order_of(case, state)
    if order is None:
        return unknown(case, "order", case.subject, "order.created")
    issues = PricingMismatch(policy).issues(order, state)
    causes: dict[str, set[str]] = {}
    for line_id, cause, _ in issues:
        causes.setdefault(line_id, set()).add(cause)
    facts = [text for _, _, text in issues] or [f"no line is off now; ERP said: {case.summary}"]
    found: list[Option] = []
    for line_id in sorted(causes):
        line = order.lines.get(line_id)
        if line is not None:
            found.extend(_line_options(order, line, causes[line_id], state, policy))
    found.append(tell(case.owner_team, f"{order.order_id}: review pricing", ()))
    return rank(grounded(found, facts))


def _line_options(
    order: Order, line: Line, causes: set[str], state: State, policy: Policy
) -> list[Option]:
    cfg = policy.detectors.pricing_mismatch
    product = state.products.get(line.sku)
    contract = state.contract_price(order.customer_id, line.sku, order.created_at)
    if "contract_price" in causes and contract is not None:
        target, basis, confidence = contract, f"contract {money(contract)}", 0.95
    elif "below_list" in causes and product is not None and product.list_price:
        target = round(product.list_price * (1 - cfg.list_discount_max_pct), 2)
        basis, confidence = f"max discount {pct(cfg.list_discount_max_pct)} off list", 0.6
    elif product is not None and product.unit_cost is not None:
        if contract is not None:  # the contract itself sells under the floor
            subject = (
                f"{order.order_id} line {line.line_id}: contract {money(contract)} for "
                f"{line.sku} is under the margin floor at cost {money(product.unit_cost)}"
            )
            return [tell("pricing", subject, (), confidence=0.6)]
        target = math.ceil(product.unit_cost / (1 - cfg.margin_floor_pct) * 100 - EPSILON) / 100
        basis, confidence = f"margin floor {pct(cfg.margin_floor_pct)}", 0.5
    else:
        return []
    margin = margin_of(state, line.sku, target)
    under = margin is not None and margin < cfg.margin_floor_pct - EPSILON
    if under and confidence > 0.8:
        confidence = 0.8
    found = [_correct(order, line, target, basis, margin, under, confidence)]
    if "below_list" in causes and contract is None:
        subject = f"{order.customer_id}/{line.sku}: load the agreed price if there is one"
        found.append(tell("pricing", subject, (), confidence=0.45))
    return found


def _correct(
    order: Order,
    line: Line,
    target: float,
    basis: str,
    margin: float | None,
    under: bool,
    confidence: float,
) -> Option:
    diff = (target - line.unit_price) * line.qty
    # raising a price protects the difference; lowering it protects the line, at a cost
    effect = Effect(diff, 0.0, 0.0) if diff >= 0 else Effect(target * line.qty, -diff, 0.0)
    margin_text = f", margin {pct(margin)}" if margin is not None else ""
    floor = " (still under the margin floor)" if under else ""
    return Option(
        action="correct_price",
        params={"order_id": order.order_id, "line_id": line.line_id, "unit_price": target},
        summary=(
            f"set {order.order_id} line {line.line_id} {line.sku} from "
            f"{money(line.unit_price)} to {money(target)} ({basis}{margin_text}){floor}: "
            f"{'+' if diff >= 0 else '-'}{money(abs(diff))} on {num(line.qty)}"
        ),
        effect=effect,
        facts=(f"line {line.line_id}: {num(line.qty)} x {money(line.unit_price)}",),
        confidence=confidence,
        amount=abs(diff),
        below_margin_floor=under,
    )
