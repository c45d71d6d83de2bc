"""The allocation problem and the plan that answers it: plain, frozen, slotted records.

Names follow the operational state (``unsnag.state.model``): a DC is a ``node_id``, an
order line is ``(order_id, line_id)``, the order's arrival is ``created_at``, stock is per
node and SKU. Times are ``datetime``s relative to the problem's ``as_of`` — the core never
reads the wall clock, so the same problem always gives the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from unsnag.errors import ContractViolation

Source = Literal["on_hand", "in_transit", "po"]
SOURCES: tuple[Source, ...] = ("on_hand", "in_transit", "po")
Method = Literal["milp", "greedy_fcfs", "greedy_priority"]


class InvalidProblem(ContractViolation):
    """An allocation problem breaks its own contract (a negative quantity, an unknown
    source, a line picked at no node); ``field`` names the offending field."""

    title = "invalid allocation problem"


@dataclass(frozen=True, slots=True)
class Line:
    """One open order line competing for stock.

    ``qty`` is what is still open, ``picked`` the part of it already picked at
    ``node_id`` (that stock is the line's own: never given to another line).
    ``min_fill`` is the contractual minimum as a share of ``qty`` (0.8 = 80 %).
    """

    order_id: str
    line_id: str
    customer_id: str
    sku: str
    qty: float
    region: str
    created_at: datetime
    unit_price: float = 0.0
    unit_margin: float = 0.0
    tier: str = "standard"
    tier_weight: float = 1.0
    min_fill: float = 0.0
    promise: datetime | None = None
    """When the goods are promised at the customer; later deliveries cost lateness."""
    ship_complete: bool = False
    picked: float = 0.0
    node_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.order_id}/{self.line_id}"


@dataclass(frozen=True, slots=True)
class Supply:
    """Stock of one SKU at one node from one source: on hand now, or arriving at ``eta``
    (in transit between nodes, or an open purchase order). On-hand stock includes the
    units already picked for lines; those are held back for their lines."""

    node_id: str
    sku: str
    qty: float
    source: Source = "on_hand"
    eta: datetime | None = None


@dataclass(frozen=True, slots=True)
class Substitute:
    """``substitute`` may ship instead of ``sku``, protecting ``value_factor`` of the
    line's value per unit. ``customers``: the only customers that accept it (``None``:
    every customer not listed in the problem's ``no_substitution``)."""

    sku: str
    substitute: str
    value_factor: float = 1.0
    customers: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Lane:
    """Shipping from a node to a customer region: cost per unit and days in transit.
    A node without a lane to a region cannot serve that region."""

    node_id: str
    region: str
    cost_per_unit: float
    transit_days: float


@dataclass(frozen=True, slots=True)
class Capacity:
    """Most units a node can ship in this plan (pick, pack and dock limits)."""

    node_id: str
    units: float


@dataclass(frozen=True, slots=True)
class Weights:
    """How a unit of a line turns into value, and what lateness costs.

    Value per unit = tier_weight × (margin × unit_margin + revenue × unit_price).
    Lateness costs ``lateness_per_day`` of that value per unit per day late.
    Contractual minimums are not weighed against value: they come first (see
    docs/allocation.md).
    """

    margin: float = 1.0
    revenue: float = 0.1
    lateness_per_day: float = 0.05


@dataclass(frozen=True, slots=True)
class AllocationProblem:
    as_of: datetime
    lines: tuple[Line, ...]
    supply: tuple[Supply, ...]
    lanes: tuple[Lane, ...]
    substitutes: tuple[Substitute, ...] = ()
    capacities: tuple[Capacity, ...] = ()
    no_substitution: frozenset[str] = frozenset()
    """Customers that refuse every substitute."""
    weights: Weights = field(default_factory=Weights)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Units of ``sku`` (the ordered SKU or a substitute) from ``source`` at ``node_id``;
    ``picked`` marks the units the line already held before the plan."""

    node_id: str
    sku: str
    qty: float
    source: Source
    eta: datetime | None = None
    picked: bool = False


@dataclass(frozen=True, slots=True)
class LinePlan:
    order_id: str
    line_id: str
    requested: float
    filled: float
    assignments: tuple[Assignment, ...]
    value: float
    transport_cost: float
    lateness_cost: float
    min_fill_met: bool = True
    explanation: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.order_id}/{self.line_id}"

    @property
    def net_value(self) -> float:
        return self.value - self.transport_cost - self.lateness_cost


@dataclass(frozen=True, slots=True)
class AllocationPlan:
    """A recommendation: what each line gets, why, and how good the plan is.

    ``objective`` is what the method maximised (for the optimizer: value minus costs
    minus minimum-fill penalties); ``bound`` proves no plan beats it, ``gap`` is
    ``(bound - objective) / max(|bound|, 1)``. Greedy plans have no bound.
    ``messages`` say in plain words what could not be done (empty input, minimums
    that cannot be met, a time limit hit).
    """

    method: Method
    lines: tuple[LinePlan, ...]
    objective: float
    bound: float | None
    gap: float | None
    solve_seconds: float
    status: str
    messages: tuple[str, ...] = ()
    build_seconds: float = 0.0
    components: int = 0

    @property
    def value(self) -> float:
        """Value protected minus transport and lateness: comparable across methods."""
        return plan_value(self)


def plan_value(plan: AllocationPlan) -> float:
    """The one measure every plan is compared by: value protected minus transport and
    lateness costs, summed over lines (penalties are not value; they steer the solver)."""
    return sum(line.net_value for line in plan.lines)
