"""Check a problem before solving it, so that bad input is one clear sentence naming the
field, never a trace from deep inside numpy or HiGHS."""

from __future__ import annotations

import math
from collections.abc import Iterable

from unsnag.allocate.model import SOURCES, AllocationProblem, InvalidProblem, Line


def validate(problem: AllocationProblem) -> None:
    """Raise :class:`InvalidProblem` for the first broken field."""
    seen: set[tuple[str, str]] = set()
    for i, line in enumerate(problem.lines):
        _check_line(i, line)
        key = (line.order_id, line.line_id)
        if key in seen:
            raise InvalidProblem(f"line {line.key} appears twice", f"lines.{i}")
        seen.add(key)
    for i, s in enumerate(problem.supply):
        _non_negative(s.qty, f"supply.{i}.qty")
        if s.source not in SOURCES:
            raise InvalidProblem(
                f"unknown source {s.source!r} (use one of {', '.join(SOURCES)})",
                f"supply.{i}.source",
            )
    for i, lane in enumerate(problem.lanes):
        _non_negative(lane.cost_per_unit, f"lanes.{i}.cost_per_unit")
        _non_negative(lane.transit_days, f"lanes.{i}.transit_days")
    for i, cap in enumerate(problem.capacities):
        _non_negative(cap.units, f"capacities.{i}.units")
    for i, rule in enumerate(problem.substitutes):
        _finite(rule.value_factor, f"substitutes.{i}.value_factor")
    w = problem.weights
    _finite_all(((w.margin, "margin"), (w.revenue, "revenue")), "weights")
    _non_negative(w.lateness_per_day, "weights.lateness_per_day")


def _check_line(i: int, line: Line) -> None:
    where = f"lines.{i}"
    _non_negative(line.qty, f"{where}.qty")
    _non_negative(line.picked, f"{where}.picked")
    _non_negative(line.tier_weight, f"{where}.tier_weight")
    _finite_all(((line.unit_price, "unit_price"), (line.unit_margin, "unit_margin")), where)
    if line.picked > line.qty + 1e-9:
        raise InvalidProblem(
            f"{line.key}: picked {line.picked:g} is more than the open {line.qty:g}",
            f"{where}.picked",
        )
    if line.picked > 0 and line.node_id is None:
        raise InvalidProblem(f"{line.key}: picked units need the node_id they sit at", where)
    if not 0.0 <= line.min_fill <= 1.0:
        raise InvalidProblem(
            f"{line.key}: min_fill {line.min_fill:g} is a share of qty, between 0 and 1",
            f"{where}.min_fill",
        )


def _finite(value: float, field: str) -> None:
    if not math.isfinite(value):
        raise InvalidProblem(f"{value!r} is not a finite number", field)


def _finite_all(values: Iterable[tuple[float, str]], where: str) -> None:
    for value, name in values:
        _finite(value, f"{where}.{name}")


def _non_negative(value: float, field: str) -> None:
    _finite(value, field)
    if value < 0:
        raise InvalidProblem(f"{value:g} is negative", field)
