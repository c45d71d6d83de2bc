"""Policy rules: CEL expressions over the event and the state it touches.

Each rule is compiled once. For an event of a type some rule reads, one CEL context is
built (``event``, ``order``, ``customer``, ``stock``) and shared by every rule that reads
that type, so the cost of handing Python values to CEL is paid once per event.

Handing a value to CEL costs about 1.7 µs per scalar (measured: an order.created with
four lines, 117 µs), so the context carries only the map keys the rules can reach: the
identifiers and string literals their expressions mention. A rule that names
``postal_code`` sees ``event.data.ship_to.postal_code``; the order lines it never names
are not converted. (An expression that counts or iterates a whole map, ``size(event.data)``,
sees only the named keys.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import cel

from unsnag.detect.base import Clear, Detector, Impact, Output, Signal, order_impact, refs
from unsnag.events import Event
from unsnag.policy.model import Policy, Rule
from unsnag.state.model import State

_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRINGS = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)'")
VARIABLES = ("event", "order", "customer", "stock")


def vocabulary(sources: Iterable[str | None]) -> frozenset[str]:
    """Every identifier and string literal the expressions mention."""
    names: set[str] = set()
    for source in sources:
        if source:
            names.update(_WORDS.findall(source))
            names.update(a or b for a, b in _STRINGS.findall(source))
    return frozenset(names)


def prune(value: Any, names: frozenset[str]) -> Any:
    """Keep only the map keys in ``names``, recursively."""
    if isinstance(value, dict):
        return {k: prune(v, names) for k, v in value.items() if k in names}
    if isinstance(value, list):
        return [prune(v, names) for v in value]
    return value


def build_context(
    event: Event, state: State, names: frozenset[str] | None = None
) -> dict[str, Any]:
    """The variables the rules can read, pruned to ``names`` when given.

    Missing state is an empty map, never an error.
    """
    full = _full_context(event, state, names)
    if names is None:
        return full
    return {var: prune(value, names) for var, value in full.items()}


def _full_context(event: Event, state: State, names: frozenset[str] | None) -> dict[str, Any]:
    wanted = VARIABLES if names is None else tuple(v for v in VARIABLES if v in names)
    context: dict[str, Any] = {}
    data = event.raw.get("data")
    data = data if isinstance(data, dict) else {}
    order = state.orders.get(data.get("order_id", "")) if "order_id" in data else None
    customer_id = data.get("customer_id") or (order.customer_id if order else None)
    customer = state.customers.get(customer_id) if customer_id else None
    stock: dict[str, Any] = {}
    if "node_id" in data and "sku" in data:
        views = state.stock.get((str(data["node_id"]), str(data["sku"])), {})
        stock = {system: view.to_cel() for system, view in views.items()}
    values = {
        "event": lambda: event.raw,
        "order": lambda: order.to_cel() if order else {},
        "customer": lambda: customer.to_cel() if customer else {},
        "stock": lambda: stock,
    }
    for var in wanted:
        context[var] = values[var]()
    return context


class CelRule(Detector):
    """One policy rule, run like a built-in detector."""

    config_name = "inventory_mismatch"  # unused: rules carry their own settings

    def __init__(self, policy: Policy, rule: Rule) -> None:
        super().__init__(policy)
        self.spec = rule
        self.rule = rule.id  # type: ignore[misc]
        self.case_type = rule.case_type  # type: ignore[misc]
        self.events = frozenset(rule.events) | frozenset(rule.resolve_on)  # type: ignore[misc]
        self._when = cel.compile(rule.when)
        self._key = cel.compile(rule.key) if rule.key else None
        self._resolve = cel.compile(rule.resolve_when) if rule.resolve_when else None
        self._opens_on = frozenset(rule.events)
        self._resolves_on = frozenset(rule.resolve_on)
        self.names = vocabulary((rule.when, rule.key, rule.resolve_when))

    @property
    def enabled(self) -> bool:
        return self.spec.enabled

    def evaluate(self, event: Event, state: State, context: Any) -> Iterable[Output]:
        key = self._problem_key(event, context)
        resolving = event.type in self._resolves_on and self._resolve is not None
        if resolving and self._truthy(self._resolve, context, event):
            yield Clear(
                self.case_type, key, event.time, f"rule {self.rule}: resolved", rule=self.rule
            )
        if event.type in self._opens_on and self._truthy(self._when, context, event):
            yield self._signal(event, state, key)

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        context = build_context(event, state, self.names)
        return self.evaluate(event, state, cel.Context(variables=context))

    def _truthy(self, program: Any, context: Any, event: Event) -> bool:
        try:
            return program.execute(context) is True
        except Exception:  # a rule that cannot evaluate on this event does not fire
            return False

    def _problem_key(self, event: Event, context: Any) -> str:
        if self._key is not None:
            try:
                return str(self._key.execute(context))
            except Exception:
                pass
        data = event.raw.get("data")
        if isinstance(data, dict) and data.get("order_id"):
            return str(data["order_id"])
        return event.subject or f"{event.source}/{event.id}"

    def _signal(self, event: Event, state: State, key: str) -> Signal:
        data = event.raw.get("data")
        data = data if isinstance(data, dict) else {}
        order = state.orders.get(str(data.get("order_id", "")))
        impact = (
            order_impact(state, order) if order else Impact(customer_id=data.get("customer_id"))
        )
        names = ("order_id", "customer_id", "node_id", "sku", "shipment_id", "invoice_id")
        return Signal(
            self.case_type,
            key,
            order.order_id if order else (event.subject or key),
            event.time,
            self.rule,
            refs=refs(**{n: str(data[n]) for n in names if data.get(n) is not None}),
            impact=impact,
            root_cause=self.spec.root_cause,
            summary=self.spec.description or f"rule {self.rule} matched {event.type}",
        )


class RuleSet:
    """All enabled rules, indexed by the event types they read."""

    def __init__(self, policy: Policy) -> None:
        self.by_type: dict[str, list[CelRule]] = {}
        for spec in policy.rules:
            if not spec.enabled:
                continue
            rule = CelRule(policy, spec)
            for event_type in sorted(rule.events):
                self.by_type.setdefault(event_type, []).append(rule)
        self.names = {
            event_type: frozenset().union(*(rule.names for rule in rules))
            for event_type, rules in self.by_type.items()
        }

    def observe(self, event: Event, state: State) -> list[Output]:
        rules = self.by_type.get(event.type)
        if not rules:
            return []
        context = cel.Context(variables=build_context(event, state, self.names[event.type]))
        out: list[Output] = []
        for rule in rules:
            out.extend(rule.evaluate(event, state, context))
        return out
