"""Options for ``pick.short``: the warehouse picked less than was allocated.

- ``reallocate`` the short quantity to another DC holding it (``params.qty`` says how
  many): confidence 0.9 / 0.65 / 0.35 by the target's stock evidence (both views / one /
  they disagree), effect the short value protected, the lane cost, days gained against
  waiting for supply at the pick node.
- ``partial_ship`` what was picked: 0.4 + 0.4 x the share of the line picked.
- ``substitute`` from the pick node: 0.7 / 0.5 / 0.3 by evidence.
- ``adjust_inventory`` at the pick node when its systems still show the short units as
  free (phantom stock: the location is miscounted): 0.6 when both views show them, 0.45
  when one does. Amount: the phantom units at unit cost.
- ``notify`` the warehouse (0.3), always last.
"""

from __future__ import annotations

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import (
    as_of,
    grounded,
    money,
    num,
    order_line,
    rank,
    ref,
    tell,
)
from unsnag.resolve.options._stock import (
    Need,
    NodeStock,
    inbound,
    partial_ship,
    reallocations,
    stock_at,
    substitutions,
    wait_for,
)
from unsnag.state.model import Line, State

PHANTOM_CONFIDENCE = {"both": 0.6, "one": 0.45}


def short_of(case: Case, line: Line) -> float:
    at_risk = case.impact.revenue_at_risk
    if at_risk > 0 and line.unit_price > 0:
        return round(at_risk / line.unit_price, 6)
    return line.short or max(line.qty - line.picked, 0.0)


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    found = order_line(case, state)
    if isinstance(found, list):
        return found
    order, line = found
    now = as_of(case)
    node = ref(case, "node_id") or line.node_id
    short = short_of(case, line)
    at_risk = case.impact.revenue_at_risk or short * line.unit_price
    wait = wait_for(inbound(state, line.sku, node), short, now)
    need = Need(order, line, short, at_risk, node, wait)
    found = [
        *reallocations(state, need, now),
        *partial_ship(need, line.picked, f"picked {num(line.picked)}"),
        *substitutions(state, need, now),
    ]
    facts = [
        f"{order.order_id} line {line.line_id}: picked {num(line.picked)} of {num(line.qty)} "
        f"{line.sku} at {node or 'an unknown node'}, short {num(short)} "
        f"({money(at_risk)})",
    ]
    if node is not None:
        here = stock_at(state, node, line.sku, now)
        facts.append(here.describe())
        found.extend(_phantom(state, here, short))
    found.append(
        tell(
            case.owner_team,
            f"{order.order_id}: {num(short)} of {line.sku} short",
            [wait.describe(line.sku)],
        )
    )
    return rank(grounded(found, facts))


def _phantom(state: State, here: NodeStock, short: float) -> list[Option]:
    """Systems that still show the short units free at the pick node: count the location."""
    evidence = here.evidence(short)
    if evidence not in PHANTOM_CONFIDENCE:
        return []
    product = state.products.get(here.sku)
    unit_cost = product.unit_cost if product and product.unit_cost is not None else 0.0
    return [
        Option(
            action="adjust_inventory",
            params={"node_id": here.node_id, "sku": here.sku},
            summary=(
                f"count {here.sku} at {here.node_id}: the systems show it free "
                f"({here.views()}) but the pick came {num(short)} short"
            ),
            effect=Effect(0.0, short * unit_cost, 0.0),
            facts=(f"pick short while {here.describe()}",),
            confidence=PHANTOM_CONFIDENCE[evidence],
            amount=short * unit_cost,
        )
    ]
