"""The allocation model, built straight into HiGHS through ``highspy``'s array interface.

Variables of a part (a set of lines, the pools they reach, the capped nodes):

* ``x[a] >= 0`` units over arc ``a`` (line ← pool), at most ``min(need, free stock)``;
* ``y[l] in {0, 1}``: ship-complete line ``l`` ships in full (1) or not at all (0).

Maximise ``Σ net[a]·x[a]`` (value protected minus lane and lateness cost) subject to

* partial line ``l``:       ``required_l <= Σ_{a∈l} x[a] <= need_l``
* ship-complete line ``l``: ``Σ_{a∈l} x[a] = need_l·y[l]``, ``y[l] = 1`` if it has a minimum
* pool ``p``:               ``Σ_{a∈p} x[a] <= free_p``
* capped node ``n``:        ``Σ_{a from n} x[a] <= capacity_n``

Without ship-complete lines this is a transportation problem: its matrix is totally
unimodular, so whole-unit data give whole-unit plans with no integer variables at all.
With them we solve the LP relaxation (the bound), round by *diving* (fix fractional
``y`` to 0, re-solve warm) for a feasible plan, and only run branch and bound — started
from that plan — where the gap is still too wide. When the minimums cannot all be met
together the part is solved lexicographically: first the least total shortfall
``w[l] = required_l − fill_l``, then the best value with no more shortfall than that.

The model goes to HiGHS column-wise in one ``passModel`` call; building it with
per-variable calls would cost more than solving it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
from highspy._core import _Highs

from unsnag.allocate.arcs import Floats, Ints
from unsnag.allocate.part import Part

INF = highspy.kHighsInf
STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    # every variable is bounded, so "unbounded or infeasible" can only be infeasible
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
}


@dataclass(frozen=True, slots=True)
class PartResult:
    flows: Floats
    """Units per arc of the part."""
    columns: Floats
    """Every column of the hard model (a start for branch and bound); empty if none."""
    objective: float
    bound: float
    status: str
    build_seconds: float
    solve_seconds: float
    minimums_relaxed: bool = False

    @property
    def abs_gap(self) -> float:
        return max(0.0, self.bound - self.objective)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each kind of column sits: ``x`` first, then ``w``, then ``y``."""

    n_x: int
    w_lines: Ints
    y_lines: Ints
    y_must: Ints
    """Positions (within ``y_lines``) of ship-complete lines with a minimum."""

    @property
    def n_cols(self) -> int:
        return self.n_x + len(self.w_lines) + len(self.y_lines)

    @property
    def y_cols(self) -> Ints:
        return self.n_x + len(self.w_lines) + np.arange(len(self.y_lines))


def layout(part: Part, soft: bool) -> Layout:
    sc = part.ship_complete & (part.need > 0)
    w_lines = np.flatnonzero(~sc & (part.required > 0)) if soft else np.zeros(0, np.int64)
    y_lines = np.flatnonzero(sc)
    return Layout(len(part.arc_net), w_lines, y_lines, np.flatnonzero(part.required[y_lines] > 0))


def _bounds(part: Part, lay: Layout, soft: bool) -> tuple[Floats, Floats]:
    """A ship-complete line that cannot reach its whole need gets ``y = 0`` up front."""
    reach = np.bincount(part.arc_line, part.pool_qty[part.arc_pool], minlength=len(part.need))
    can_ship = reach[lay.y_lines] >= part.need[lay.y_lines] - 1e-9
    shut = np.zeros(len(part.need), dtype=np.bool_)
    shut[lay.y_lines[~can_ship]] = True
    y_lower = np.zeros(len(lay.y_lines))
    if not soft:
        y_lower[lay.y_must] = 1.0
    lower = np.concatenate([np.zeros(lay.n_x + len(lay.w_lines)), y_lower])
    x_upper = np.where(shut[part.arc_line], 0.0, part.arc_upper)
    upper = np.concatenate([x_upper, part.required[lay.w_lines], can_ship.astype(np.float64)])
    return lower, upper


def _matrix(part: Part, lay: Layout) -> tuple[Ints, Ints, Floats]:
    """Column-wise sparse matrix: (start, row index, value)."""
    n_lines, n_pools, n_x = len(part.need), len(part.pool_qty), lay.n_x
    capped = part.arc_cap_row >= 0
    arcs = np.arange(n_x)
    n_w, n_y = len(lay.w_lines), len(lay.y_lines)
    col = np.concatenate([arcs, arcs, arcs[capped], n_x + np.arange(n_w + n_y)])
    row = np.concatenate(
        [part.arc_line, n_lines + part.arc_pool, n_lines + n_pools + part.arc_cap_row[capped],
         lay.w_lines, lay.y_lines]
    )  # fmt: skip
    value = np.concatenate([np.ones(2 * n_x + int(capped.sum()) + n_w), -part.need[lay.y_lines]])
    order = np.argsort(col, kind="stable")
    start = np.concatenate([[0], np.cumsum(np.bincount(col, minlength=lay.n_cols))])
    return start.astype(np.int32), row[order].astype(np.int32), value[order]


def _rows(part: Part, lay: Layout) -> tuple[Floats, Floats]:
    sc = np.zeros(len(part.need), dtype=np.bool_)
    sc[lay.y_lines] = True
    line_lower = np.where(sc, 0.0, part.required)
    line_upper = np.where(sc, 0.0, part.need)
    lower = np.concatenate([line_lower, np.full(len(part.pool_qty) + len(part.capacity), -INF)])
    upper = np.concatenate([line_upper, part.pool_qty, part.capacity])
    return lower, upper


def value_costs(part: Part, lay: Layout) -> Floats:
    return np.concatenate([part.arc_net, np.zeros(lay.n_cols - lay.n_x)])


def build_lp(
    part: Part, soft: bool = False, integer: bool = True
) -> tuple[highspy.HighsLp, Layout]:
    """The model of one part as a ``HighsLp`` (value objective)."""
    lay = layout(part, soft)
    start, index, value = _matrix(part, lay)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = lay.n_cols, len(part.need) + len(part.pool_qty) + len(part.capacity)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = value_costs(part, lay)
    lp.col_lower_, lp.col_upper_ = _bounds(part, lay, soft)
    lp.row_lower_, lp.row_upper_ = _rows(part, lay)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = start, index, value
    if integer and len(lay.y_lines):
        kinds = [highspy.HighsVarType.kContinuous] * lay.n_cols
        for col in lay.y_cols.tolist():
            kinds[col] = highspy.HighsVarType.kInteger
        lp.integrality_ = kinds
    return lp, lay


def new_highs(time_limit: float, mip_rel_gap: float) -> _Highs:
    """A silent single-thread solver. The raw binding, because ``highspy.Highs()``
    prints its banner to stdout before any option can be set — which would corrupt the
    JSON that ``unsnag bench allocate`` prints."""
    h = _Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", mip_rel_gap)
    h.setOptionValue("time_limit", max(time_limit, 0.01))
    return h


def _load(h: _Highs, lp: highspy.HighsLp) -> None:
    if h.passModel(lp) != highspy.HighsStatus.kOk:  # pragma: no cover - a bug, not input
        raise RuntimeError("HiGHS refused the allocation model")


def _status(h: _Highs) -> str:
    return STATUS.get(h.getModelStatus(), "no_solution")


def _has_solution(h: _Highs) -> bool:
    return bool(h.getInfo().primal_solution_status == 2)  # kSolutionStatusFeasible


def _columns(h: _Highs) -> Floats:
    return np.asarray(h.getSolution().col_value, dtype=np.float64)


def _flows(columns: Floats, n_x: int) -> Floats:
    return np.clip(np.round(columns[:n_x], 6), 0.0, None)


def no_solution(part: Part, status: str, build: float, solve: float) -> PartResult:
    empty = np.zeros(0)
    return PartResult(np.zeros(len(part.arc_net)), empty, -INF, INF, status, build, solve)


def relax(part: Part, time_limit: float, mip_rel_gap: float = 1e-3) -> PartResult:
    """LP bound plus a dived plan; exact when nothing is fractional. Falls back to the
    lexicographic model when the minimums cannot all be met."""
    started = time.perf_counter()
    lp, lay = build_lp(part, integer=False)
    h = new_highs(time_limit, mip_rel_gap)
    _load(h, lp)
    built = time.perf_counter()
    h.run()
    if _status(h) == "infeasible":
        spent = time.perf_counter() - started
        return lexicographic(part, time_limit - spent, mip_rel_gap)
    if _status(h) != "optimal":
        return no_solution(part, _status(h), built - started, time.perf_counter() - built)
    bound = float(h.getInfo().objective_function_value)
    columns = _dive(h, lay)
    solved = time.perf_counter()
    if columns is None:
        return no_solution(part, _status(h), built - started, solved - built)
    objective = float(h.getInfo().objective_function_value)
    status = "optimal" if bound - objective <= 1e-9 * max(1.0, abs(bound)) else "heuristic"
    flows = _flows(columns, lay.n_x)
    return PartResult(flows, columns, objective, bound, status, built - started, solved - built)


def _dive(h: _Highs, lay: Layout) -> Floats | None:
    """Fix every fractional ``y`` to 0 and re-solve (warm) until none is fractional.
    Each round fixes at least one, and zeroing a ship-complete line only frees stock,
    so every round stays feasible."""
    y_cols = lay.y_cols
    while True:
        columns = _columns(h)
        y = columns[y_cols]
        fractional = y_cols[np.minimum(y, 1.0 - y) > 1e-6].astype(np.int32)
        if not len(fractional):
            return columns
        zeros = np.zeros(len(fractional))
        h.changeColsBounds(len(fractional), fractional, zeros, zeros)
        h.run()
        if _status(h) != "optimal":
            return None


def refine(part: Part, start: PartResult, time_limit: float, mip_rel_gap: float) -> PartResult:
    """Branch and bound from ``start`` (a dived plan); never returns worse than it."""
    began = time.perf_counter()
    lp, lay = build_lp(part)
    h = new_highs(time_limit, mip_rel_gap)
    _load(h, lp)
    if len(start.columns) == lay.n_cols:
        cols = np.arange(lay.n_cols, dtype=np.int32)
        h.setSolution(lay.n_cols, cols, start.columns)
    built = time.perf_counter()
    h.run()
    solved = time.perf_counter()
    build, solve = start.build_seconds + built - began, start.solve_seconds + solved - built
    info = h.getInfo()
    bound = min(start.bound, float(info.mip_dual_bound))
    if not _has_solution(h) or info.objective_function_value < start.objective:
        status = "optimal" if start.objective >= bound - 1e-9 else start.status
        return PartResult(start.flows, start.columns, start.objective, bound, status, build, solve)
    status = _status(h)
    objective = float(info.objective_function_value)
    columns = _polish(h, lay, objective)
    flows = _flows(columns, lay.n_x)
    return PartResult(flows, columns, objective, bound, status, build, solve)


def _polish(h: _Highs, lay: Layout, objective: float) -> Floats:
    """Re-solve the LP with every ``y`` fixed at its value: a MIP heuristic may leave
    units split at a non-vertex point; the vertex with the same ``y`` is as good and
    whole-unit (total unimodularity), so plans never say 3.4 units."""
    columns = _columns(h)
    y_cols = lay.y_cols.astype(np.int32)
    y = np.round(columns[y_cols])
    h.changeColsIntegrality(len(y_cols), y_cols, np.zeros(len(y_cols), dtype=np.uint8))
    h.changeColsBounds(len(y_cols), y_cols, y, y)
    h.run()
    polished = h.getInfo().objective_function_value
    if _status(h) == "optimal" and polished >= objective - 1e-9 * max(1.0, abs(objective)):
        return _columns(h)
    return columns


def lexicographic(part: Part, time_limit: float, mip_rel_gap: float) -> PartResult:
    """Least total shortfall against the minimums first, then the best value that keeps
    it: no value is ever bought by breaking a minimum that could be kept."""
    started = time.perf_counter()
    lp, lay = build_lp(part, soft=True)
    shortfall = np.zeros(lay.n_cols)
    shortfall[lay.n_x : lay.n_x + len(lay.w_lines)] = -1.0
    must_cols = lay.y_cols[lay.y_must]
    shortfall[must_cols] = part.need[lay.y_lines[lay.y_must]]
    lp.col_cost_ = shortfall
    h = new_highs(time_limit, 0.0)
    _load(h, lp)
    built = time.perf_counter()
    h.run()
    if not _has_solution(h):
        return no_solution(part, _status(h), built - started, time.perf_counter() - built)
    must_need = float(part.need[lay.y_lines[lay.y_must]].sum())
    least = must_need - float(h.getInfo().objective_function_value)
    _keep_shortfall(h, lay, part, least)
    h.setOptionValue("mip_rel_gap", mip_rel_gap)
    h.setOptionValue("time_limit", max(0.01, time_limit - (time.perf_counter() - started)))
    h.run()
    solved = time.perf_counter()
    if not _has_solution(h):
        return no_solution(part, _status(h), built - started, solved - built)
    info = h.getInfo()
    objective = float(info.objective_function_value)
    bound = float(info.mip_dual_bound) if len(lay.y_lines) else objective
    status = _status(h)
    flows = _flows(_polish(h, lay, objective) if len(lay.y_lines) else _columns(h), lay.n_x)
    empty = np.zeros(0)
    return PartResult(flows, empty, objective, bound, status, built - started,
                      solved - built, minimums_relaxed=True)  # fmt: skip


def _keep_shortfall(h: _Highs, lay: Layout, part: Part, least: float) -> None:
    """Switch to the value objective under ``Σ w + Σ need·(1 − y_must) <= least``."""
    must = lay.y_lines[lay.y_must]
    w_cols = lay.n_x + np.arange(len(lay.w_lines))
    must_cols = lay.y_cols[lay.y_must]
    index = np.concatenate([w_cols, must_cols]).astype(np.int32)
    value = np.concatenate([np.ones(len(w_cols)), -part.need[must]])
    upper = round(least, 6) - float(part.need[must].sum())  # no slack to exploit
    h.addRow(-INF, upper, len(index), index, value)
    cols = np.arange(lay.n_cols, dtype=np.int32)
    h.changeColsCost(lay.n_cols, cols, value_costs(part, lay))


def solve_part(part: Part, time_limit: float = 60.0, mip_rel_gap: float = 1e-3) -> PartResult:
    """One part on its own: relax and dive, then branch and bound if the gap is wide."""
    started = time.perf_counter()
    result = relax(part, time_limit, mip_rel_gap)
    if result.minimums_relaxed or result.abs_gap <= mip_rel_gap * max(1.0, abs(result.bound)):
        return result
    return refine(part, result, time_limit - (time.perf_counter() - started), mip_rel_gap)
