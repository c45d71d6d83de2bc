"""Options for ``master_data.invalid``: address, tax or other master data blocks an order.

What is missing is read from the order itself: the ship-to fields a carrier and a tax
engine need (:data:`SHIP_TO_FIELDS`) and, for an EDI order, the buyer's PO number.

- Data only the customer has (missing ship-to fields, a missing PO number):
  ``request_info`` to the customer naming the fields (0.75), then ``fix_master_data``
  (0.4: someone must key what the customer says).
- A complete ship-to that still fails a check (an address the validator rejects, a tax
  jurisdiction not set up): ``fix_master_data`` (0.6 for tax, which is internal set-up;
  0.5 otherwise), then ``request_info`` to confirm the address (0.45).
- ``notify`` customer service (0.3), always last.

Amount: the order value (what the block holds up); effect: that value protected.
"""

from __future__ import annotations

from dataclasses import replace

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import (
    ask,
    grounded,
    money,
    order_of,
    rank,
    ref,
    tell,
    unknown,
)
from unsnag.state.model import Order, State

SHIP_TO_FIELDS = ("line1", "city", "postal_code", "country")


def missing_fields(order: Order, cause: str | None) -> list[str]:
    ship_to = order.ship_to or {}
    missing = [f"ship_to.{name}" for name in SHIP_TO_FIELDS if not ship_to.get(name)]
    if not order.po_number and (order.channel == "edi" or cause == "edi_missing_po"):
        missing.append("po_number")
    return missing


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    order = order_of(case, state)
    if order is None:
        return unknown(case, "order", ref(case, "order_id") or case.subject, "order.created")
    cause = case.root_cause
    missing = missing_fields(order, cause)
    ship_to = order.ship_to or {}
    written = ", ".join(str(v) for k, v in ship_to.items() if k != "name" and v) or "none"
    facts = [
        f"{order.order_id} for {order.customer_id} ({money(order.value)}), channel "
        f"{order.channel or 'unknown'}, PO {order.po_number or 'none'}",
        f"ship-to on file: {written}",
        f"failed: {case.summary}",
    ]
    fix = Option(
        action="fix_master_data",
        params={"order_id": order.order_id, "fields": missing or [cause or "master_data"]},
        summary=f"correct {', '.join(missing) or cause or 'the master data'} on {order.order_id}",
        effect=Effect(order.value, 0.0, 0.0),
        confidence=0.4,
        amount=order.value,
    )
    if missing:  # only the customer has the data
        question = f"please send the {', '.join(missing)} for {order.order_id}"
        found = [_ask(order, question, 0.75, f"missing: {', '.join(missing)}"), fix]
    else:  # the data is there but a check rejects it: set-up to fix, address to confirm
        question = f"please confirm the ship-to address of {order.order_id}: {written}"
        confidence = 0.6 if cause == "tax" else 0.5
        found = [replace(fix, confidence=confidence), _ask(order, question, 0.45)]
    found.append(tell(case.owner_team, f"{order.order_id}: {case.summary}", ()))
    return rank(grounded(found, facts))


def _ask(order: Order, question: str, confidence: float, *facts: str) -> Option:
    effect = Effect(order.value, 0.0, 0.0)
    return ask(
        "customer",
        question,
        facts,
        confidence=confidence,
        effect=effect,
        amount=order.value,
        order_id=order.order_id,
    )
