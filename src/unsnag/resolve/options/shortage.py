"""Options for ``allocation.shortage``: a committed line cannot be filled from its node.

A planner checks, in this order, whether another DC holds the line, whether a
substitute is on the shelf, what can ship now and when the next PO lands:

- ``reallocate`` the line to each other DC whose free stock covers what is left of it
  (the whole reservation moves). Confidence 0.9 when the ERP and the WMS both show
  enough, 0.65 when only one system reports the SKU there, 0.35 when they disagree.
  Effect: the revenue at risk protected; cost the lane estimate (see ``_stock``); days
  gained = the wait for supply at the line's node less any extra transit day.
- ``substitute``: a listed substitute with enough free stock at the line's node.
  Confidence 0.7 / 0.5 / 0.3 by the same evidence (the customer may refuse it); cost
  the extra unit cost sold at the line's price.
- ``partial_ship`` what is reserved (else what was available) now; confidence
  0.4 + 0.4 x the share of the line that is ready.
- ``expedite_po`` the PO the line waits on when it lands after the promise; 0.5 when it
  covers the shortfall and has not shipped yet, else 0.3.
- ``notify`` the customer service team of the backorder and its date (0.3), always last.

The amount of a move is the revenue at risk; of a partial ship, the value shipped now.
"""

from __future__ import annotations

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Option
from unsnag.resolve.options._common import (
    as_of,
    day,
    grounded,
    money,
    num,
    open_qty,
    order_line,
    rank,
    ref,
    tell,
)
from unsnag.resolve.options._stock import (
    Need,
    expedite,
    inbound,
    partial_ship,
    reallocations,
    stock_at,
    substitutions,
    wait_for,
)
from unsnag.state.model import Line, State


def short_qty(case: Case, line: Line) -> float:
    """Units missing: the revenue at risk at the line's price, else what is unreserved."""
    left = open_qty(line)
    at_risk = case.impact.revenue_at_risk
    if at_risk > 0 and line.unit_price > 0:
        return min(round(at_risk / line.unit_price, 6), left)
    return max(line.qty - line.reserved - line.shipped, 0.0) or left


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    found = order_line(case, state)
    if isinstance(found, list):
        return found
    order, line = found
    now = as_of(case)
    node = ref(case, "node_id") or line.node_id
    short = short_qty(case, line)
    at_risk = case.impact.revenue_at_risk or short * line.unit_price
    supply = inbound(state, line.sku, node)
    need = Need(order, line, open_qty(line), at_risk, node, wait_for(supply, short, now))
    ready = line.reserved - line.shipped if line.reserved > line.shipped else open_qty(line) - short
    found = [
        *reallocations(state, need, now),
        *substitutions(state, need, now),
        *partial_ship(need, ready, f"{num(short)} short at {node or 'its node'}"),
        *expedite(state, need, short, order.promise),
    ]
    facts = [
        f"{order.order_id} line {line.line_id}: {num(line.qty)} of {line.sku} at "
        f"{money(line.unit_price)}, reserved {num(line.reserved)}, short {num(short)}"
        f" at {node or 'an unknown node'}; promise {day(order.promise)}",
    ]
    if node is not None:
        facts.append(stock_at(state, node, line.sku, now).describe())
    covering = need.wait.covering
    subject = f"{order.order_id}: {num(short)} of {line.sku} backordered, " + (
        f"next supply {day(covering.po.eta)}" if covering else "no supply in sight"
    )
    last = [need.wait.describe(line.sku)]
    if not found:
        last.append(f"no other DC, substitute or open PO can cover {num(short)} of {line.sku}")
    found.append(tell("customer_service", subject, last))
    return rank(grounded(found, facts))
