"""What detectors say, and the base every detector derives from.

A detector reads one event (after it was projected into the state) and says zero or
more things:

- :class:`Signal` — a problem exists (opens a case, or updates the open one with the
  same ``case_type`` and ``key``);
- :class:`Clear` — the problem is gone (resolves or cancels the open case);
- :class:`Timer` — call me back at this event time (``fire``), e.g. to see whether an
  invoice was paid by its due date. Timers fire in event time, never wall time.

A detector keeps whatever it must remember in ``self.memory`` (plain dicts), so the
engine can checkpoint it and a partitioned worker owns exactly its keys' share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import Order, State


@dataclass(frozen=True, slots=True)
class Impact:
    """The business facts the priority model scores."""

    revenue_at_risk: float = 0.0
    margin_pct: float | None = None
    customer_id: str | None = None
    promise_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Signal:
    case_type: str
    key: str
    subject: str
    time: datetime
    rule: str
    refs: tuple[tuple[str, str], ...] = ()
    impact: Impact = field(default_factory=Impact)
    root_cause: str | None = None
    summary: str = ""
    boost: float = 1.0
    boost_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Clear:
    """The problem ``rule`` saw is gone.

    A case can be kept open by several rules (a detector and a policy rule about the same
    order); it closes when the last of them clears. ``rule=None`` closes it outright.
    """

    case_type: str
    key: str
    time: datetime
    reason: str
    status: Literal["resolved", "cancelled"] = "resolved"
    rule: str | None = None


@dataclass(frozen=True, slots=True, order=True)
class Timer:
    at: datetime
    rule: str
    key: str
    data: tuple[Any, ...] = field(default=(), compare=False)


Output = Signal | Clear | Timer


class Detector:
    """Base of the built-in detectors. Subclasses set the class attributes."""

    rule: ClassVar[str]
    case_type: ClassVar[str]
    events: ClassVar[frozenset[str]]
    config_name: ClassVar[str]

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.cfg: Any = getattr(policy.detectors, self.config_name)
        self.memory: dict[str, Any] = {}

    @property
    def enabled(self) -> bool:
        return bool(self.cfg.enabled)

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        raise NotImplementedError

    def fire(self, timer: Timer, state: State) -> Iterable[Output]:
        return ()

    # --- helpers shared by detectors ---------------------------------------------

    def signal(self, key: str, subject: str, time: datetime, **kwargs: Any) -> Signal:
        return Signal(self.case_type, key, subject, time, self.rule, **kwargs)

    def clear(self, key: str, time: datetime, reason: str, **kwargs: Any) -> Clear:
        kwargs.setdefault("rule", self.rule)
        return Clear(self.case_type, key, time, reason, **kwargs)

    def timer(self, at: datetime, key: str, *data: Any) -> Timer:
        return Timer(at, self.rule, key, data)


def refs(**pairs: str | None) -> tuple[tuple[str, str], ...]:
    """Business keys of a signal, in a stable order, without the missing ones."""
    return tuple((name, value) for name, value in sorted(pairs.items()) if value)


def margin_of(state: State, sku: str, unit_price: float) -> float | None:
    product = state.products.get(sku)
    if product is None or product.unit_cost is None or unit_price <= 0:
        return None
    return (unit_price - product.unit_cost) / unit_price


def order_impact(
    state: State,
    order: Order | None,
    line_ids: Sequence[str] | None = None,
    qty: float | None = None,
) -> Impact:
    """Impact of a problem on an order, or on some of its lines.

    With ``qty`` and a single line, only that quantity of the line is at risk.
    """
    if order is None:
        return Impact()
    lines = [order.lines[i] for i in line_ids or order.lines if i in order.lines]
    if qty is not None and len(lines) == 1:
        revenue = qty * lines[0].unit_price
    else:
        revenue = sum(line.value for line in lines)
    margins = [
        m for line in lines if (m := margin_of(state, line.sku, line.unit_price)) is not None
    ]
    return Impact(
        revenue_at_risk=revenue,
        margin_pct=sum(margins) / len(margins) if margins else None,
        customer_id=order.customer_id,
        promise_at=order.promise,
    )
