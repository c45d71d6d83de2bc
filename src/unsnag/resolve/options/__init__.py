"""Option computers: the ways to resolve a case, each with its effect, facts and confidence.

One module per case type; each exposes ``options(case, state, policy)`` returning
:class:`~unsnag.resolve.model.Option` s ranked best first. A playbook's ``recommend``
step names a computer (``using: shortage``) from :data:`COMPUTERS`;
:data:`DEFAULT_COMPUTER` maps every case type to its own. :func:`compute` runs one and
keeps the best ``top``.

Pure core: computers read the case, the projected state and the policy, and look only
at what the case touches (its order, customer, SKU, node, invoice...), through the
state's indexes — never a scan of every order, shipment or invoice.
"""

from __future__ import annotations

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import ACTIONS, Option
from unsnag.resolve.options import (
    asn,
    cash_unapplied,
    conflict,
    conflict_milp,
    credit_hold,
    delivery_discrepancy,
    duplicate,
    integration,
    inventory_mismatch,
    invoice_hold,
    master_data,
    payment_overdue,
    pick_short,
    pricing,
    return_pending,
    shipment_delay,
    shipment_failed,
    shortage,
    shortage_milp,
)
from unsnag.resolve.options._common import OptionComputer, tell
from unsnag.state.model import State

__all__ = ["COMPUTERS", "DEFAULT_COMPUTER", "OptionComputer", "compute", "valid"]

COMPUTERS: dict[str, OptionComputer] = {
    "shortage": shortage_milp.options,
    "shortage_evidence": shortage.options,
    "conflict": conflict_milp.options,
    "conflict_greedy": conflict.options,
    "inventory_mismatch": inventory_mismatch.options,
    "pick_short": pick_short.options,
    "pricing": pricing.options,
    "credit_hold": credit_hold.options,
    "master_data": master_data.options,
    "duplicate": duplicate.options,
    "shipment_delay": shipment_delay.options,
    "shipment_failed": shipment_failed.options,
    "delivery_discrepancy": delivery_discrepancy.options,
    "asn": asn.options,
    "return_pending": return_pending.options,
    "invoice_hold": invoice_hold.options,
    "cash_unapplied": cash_unapplied.options,
    "payment_overdue": payment_overdue.options,
    "integration": integration.options,
}

DEFAULT_COMPUTER: dict[str, str] = {
    "allocation.shortage": "shortage",
    "allocation.conflict": "conflict",
    "inventory.mismatch": "inventory_mismatch",
    "pick.short": "pick_short",
    "pricing.mismatch": "pricing",
    "credit.hold": "credit_hold",
    "master_data.invalid": "master_data",
    "order.duplicate": "duplicate",
    "shipment.delay": "shipment_delay",
    "shipment.failed": "shipment_failed",
    "delivery.discrepancy": "delivery_discrepancy",
    "asn.discrepancy": "asn",
    "return.pending": "return_pending",
    "invoice.hold": "invoice_hold",
    "cash.unapplied": "cash_unapplied",
    "payment.overdue": "payment_overdue",
    "integration.failure": "integration",
}


def valid(option: Option) -> bool:
    """The option names a known action and carries every parameter the action needs."""
    kind = ACTIONS.get(option.action)
    return kind is not None and all(option.params.get(p) is not None for p in kind.params)


def compute(name: str, case: Case, state: State, policy: Policy, top: int = 3) -> list[Option]:
    """The best ``top`` options of computer ``name`` for ``case``; never raises.

    Never empty either: an unknown computer, a computer that fails, or one that finds
    nothing valid leaves a human task for the case's owner team naming why. A computer
    that raises is a bug, but one case must not stop the engine that runs the playbooks.
    """
    computer = COMPUTERS.get(name)
    if computer is None:
        known = ", ".join(sorted(COMPUTERS))
        return [_human(case, f"no option computer named {name!r} (known: {known})")]
    try:
        found = [o for o in computer(case, state, policy) if valid(o)]
    except Exception as error:  # a bug in one computer must not stop the engine
        return [_human(case, f"option computer {name!r} failed: {type(error).__name__}: {error}")]
    if not found:
        return [_human(case, f"option computer {name!r} found no valid option")]
    return found[: max(top, 1)]


def _human(case: Case, why: str) -> Option:
    subject = f"{case.subject}: resolve by hand ({case.type})"
    return tell(case.owner_team, subject, (why, f"case: {case.summary}"), confidence=0.1)
