"""KPIs of the exception process and of the order cycle, each defined once, here.

:data:`REGISTRY` holds every KPI: its name, unit, the population it is measured on and
its formula in words (docs/kpis.md is generated from it by :func:`reference`), and the
function that computes it. :func:`compute` evaluates any of them over a period, for
everything or sliced by one dimension (:data:`DIMENSIONS`), after optional filters.

Conventions, the same for every KPI:

- A period is half-open, ``[start, end)`` in UTC. A case counts in the period it was
  opened (counts, rates per order), resolved (resolution times, touchless, SLA, revenue
  protected) or is open at its end (backlog, revenue at risk) — each KPI names its
  population. Order-cycle KPIs count an order when the step they measure completes
  within the period (shipped, delivered, settled).
- ``p50`` is the median (the mean of the two middle values of an even count); ``p90``
  is the value at rank ⌈0.9 (n − 1)⌉ of the n sorted values (counting from 0), which is
  also what ``unsnag.twin.outcome`` reports. Durations are calendar time.
- Shares are between 0 and 1. A KPI with nothing to measure is null, not zero.
- Slicing by a dimension that orders do not have (type, team, endpoint, source, lane,
  root cause) leaves the order side whole: exceptions per 1,000 orders by team divide
  each team's cases by all orders; order-cycle KPIs are null for such slices. The same
  holds for filters on those dimensions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from unsnag.errors import ContractViolation
from unsnag.intel.frames import Frames

GROUP = "group"
ALL = "all"

DIMENSIONS: dict[str, str] = {
    "type": "type",
    "team": "team",
    "customer": "customer_id",
    "tier": "tier",
    "sku": "sku",
    "node": "node_id",
    "dc": "node_id",
    "carrier": "carrier",
    "channel": "channel",
    "source": "source",
    "endpoint": "endpoint",
    "lane": "lane",
    "root_cause": "root_cause",
}
"""Slicing dimensions (``--by``) and the case column each reads; ``dc`` is ``node``."""


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ContractViolation(f"a period must end after it starts ({self})")

    @classmethod
    def days(cls, first: date, last: date) -> Period:
        """From the start of ``first`` to the end of ``last`` (both days included)."""
        start = datetime.combine(first, time(), UTC)
        return cls(start, datetime.combine(last, time(), UTC) + timedelta(days=1))

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - self.length, self.start)

    def __str__(self) -> str:
        last = self.end - timedelta(microseconds=1)
        return f"{self.start:%Y-%m-%d} to {last:%Y-%m-%d}"


def data_period(frames: Frames) -> Period:
    """The whole days the frames cover, from the first event or case to the last."""
    instants = [
        frames.events["time"].min(),
        frames.events["time"].max(),
        frames.cases["opened_at"].min(),
        frames.cases["opened_at"].max(),
    ]
    known: list[datetime] = [moment for moment in instants if isinstance(moment, datetime)]
    if not known:
        today = datetime.now(UTC).date()
        return Period.days(today, today)
    return Period.days(min(known).date(), max(known).date())


# --- the population a KPI is measured on ----------------------------------------------------


class Scope:
    """A period, an optional slicing dimension and filters over one set of frames; it
    hands out each population once (cached), with a ``group`` column to slice by.

    ``shared`` keeps the filtered populations across scopes of the same frames, period
    and filters, so slicing one period several ways filters it once.
    """

    def __init__(
        self,
        frames: Frames,
        period: Period,
        by: str | None = None,
        filters: Sequence[tuple[str, str]] = (),
        shared: dict[str, pl.DataFrame] | None = None,
    ) -> None:
        self.frames, self.period = frames, period
        self.by = None if by is None else column_of(by)
        self.filters = [(column_of(name), value) for name, value in filters]
        self._base: dict[str, pl.DataFrame] = {} if shared is None else shared
        self._cache: dict[str, pl.DataFrame] = {}

    def population(self, name: str) -> pl.DataFrame:
        if name not in self._cache:
            if name not in self._base:
                self._base[name] = self._filter(POPULATIONS[name](self))
            self._cache[name] = self._slice(self._base[name])
        return self._cache[name]

    def applies(self, frame: pl.DataFrame) -> bool:
        """Whether the slicing dimension is one this population has."""
        return self.by is None or self.by in frame.columns

    def _filter(self, frame: pl.DataFrame) -> pl.DataFrame:
        for column, value in self.filters:
            if column in frame.columns:
                frame = frame.filter(pl.col(column) == value)
        return frame

    def _slice(self, frame: pl.DataFrame) -> pl.DataFrame:
        if self.by is None:
            return frame.with_columns(pl.lit(ALL).alias(GROUP))
        if self.by not in frame.columns:
            return frame.with_columns(pl.lit(None, pl.String()).alias(GROUP))
        return frame.with_columns(pl.col(self.by).cast(pl.String()).alias(GROUP))


def column_of(dimension: str) -> str:
    """The column of a slicing dimension; a column name is accepted as it is."""
    if dimension in DIMENSIONS:
        return DIMENSIONS[dimension]
    if dimension in DIMENSIONS.values():
        return dimension
    raise ContractViolation(
        f"unknown dimension {dimension!r}; use one of {', '.join(sorted(DIMENSIONS))}"
    )


def _in(column: str, period: Period) -> pl.Expr:
    return (pl.col(column) >= period.start) & (pl.col(column) < period.end)


def _opened(s: Scope) -> pl.DataFrame:
    return s.frames.cases.filter(_in("opened_at", s.period))


def _resolved(s: Scope) -> pl.DataFrame:
    return s.frames.cases.filter((pl.col("status") == "resolved") & _in("closed_at", s.period))


def _closed(s: Scope) -> pl.DataFrame:
    return s.frames.cases.filter(_in("closed_at", s.period))


def _open_at_end(s: Scope) -> pl.DataFrame:
    end = s.period.end
    still_open = pl.col("closed_at").is_null() | (pl.col("closed_at") >= end)
    return s.frames.cases.filter((pl.col("opened_at") < end) & still_open).with_columns(
        age_h=(pl.lit(end) - pl.col("opened_at")).dt.total_seconds() / 3600
    )


def _approvals(s: Scope) -> pl.DataFrame:
    decided = s.frames.approvals.filter(
        pl.col("status").is_in(["approved", "rejected"]) & _in("decided_at", s.period)
    )
    dims = s.frames.cases.select("id", *sorted(set(DIMENSIONS.values())))
    return decided.join(dims, left_on="case_id", right_on="id", how="left")


def _orders(s: Scope) -> pl.DataFrame:
    return s.frames.orders.select(pl.exclude("skus"))  # no metric reads the SKU list


def _lines_created(s: Scope) -> pl.DataFrame:
    return s.frames.lines.filter(_in("created_at", s.period))


def _orders_shipped(s: Scope) -> pl.DataFrame:
    return _orders(s).filter(_in("shipped_at", s.period))


def _orders_delivered(s: Scope) -> pl.DataFrame:
    return _orders(s).filter(_in("delivered_at", s.period))


def _invoices_settled(s: Scope) -> pl.DataFrame:
    return s.frames.invoices.filter(_in("settled_at", s.period))


def _receivables(s: Scope) -> pl.DataFrame:
    """Per invoice issued before the end: the amount still open at the end, and the
    amount if it was issued within the period."""
    end = s.period.end
    received = (
        s.frames.receipts.filter(pl.col("time") < end)
        .group_by("invoice_id")
        .agg(received=pl.col("amount").sum())
    )
    return (
        s.frames.invoices.filter(pl.col("invoiced_at") < end)
        .join(received, on="invoice_id", how="left")
        .with_columns(
            open_amount=(pl.col("amount") - pl.col("received").fill_null(0.0)).clip(0.0),
            billed=pl.when(_in("invoiced_at", s.period)).then("amount").otherwise(0.0),
        )
    )


POPULATIONS: dict[str, Callable[[Scope], pl.DataFrame]] = {
    "cases opened in the period": _opened,
    "cases resolved in the period": _resolved,
    "cases closed in the period": _closed,
    "cases open at the period end": _open_at_end,
    "approvals decided in the period": _approvals,
    "order lines created in the period": _lines_created,
    "orders first dispatched in the period": _orders_shipped,
    "orders delivered in the period": _orders_delivered,
    "invoices settled in the period": _invoices_settled,
    "invoices issued before the period end": _receivables,
}


# --- the registry ----------------------------------------------------------------------------

Compute = Callable[[Scope], pl.DataFrame]
"""Computes a KPI over a scope: a frame of ``group`` and ``value``."""


@dataclass(frozen=True, slots=True)
class Kpi:
    name: str
    title: str
    unit: str
    population: str
    formula: str
    compute: Compute = field(repr=False)
    digits: int = 2
    zero: bool = False
    """A count or a sum: 0, not null, where the population is empty."""


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={GROUP: pl.String(), "value": pl.Float64()})


def _agg(population: str, expr: pl.Expr) -> Compute:
    def run(scope: Scope) -> pl.DataFrame:
        frame = scope.population(population)
        if not scope.applies(frame):
            return _empty()
        return frame.group_by(GROUP).agg(expr.cast(pl.Float64()).alias("value"))

    return run


def _hours(start: str, end: str) -> pl.Expr:
    return (pl.col(end) - pl.col(start)).dt.total_seconds() / 3600


def _days(start: str, end: str) -> pl.Expr:
    return _hours(start, end) / 24


def _share(condition: pl.Expr) -> pl.Expr:
    """Share of the rows where ``condition`` holds, among those where it is known."""
    return condition.cast(pl.Float64()).mean()


def _p90(expr: pl.Expr) -> pl.Expr:
    return expr.quantile(0.9, "higher")


def _per_thousand(denominator: pl.Expr) -> Compute:
    """Cases opened per 1,000 of ``denominator`` over the order lines created."""

    def run(scope: Scope) -> pl.DataFrame:
        cases = scope.population(OPENED).group_by(GROUP).agg(n=pl.len())
        lines = scope.population(LINES)
        if scope.applies(lines):
            per_group = lines.group_by(GROUP).agg(d=denominator)
            joined = cases.join(per_group, on=GROUP, how="full", coalesce=True)
        else:
            joined = cases.with_columns(d=pl.lit(lines.select(denominator).item()))
        rate = pl.col("n").fill_null(0) * 1000 / pl.col("d")
        return joined.select(GROUP, value=pl.when(pl.col("d") > 0).then(rate))

    return run


def _dso(scope: Scope) -> pl.DataFrame:
    frame = scope.population(RECEIVABLES)
    if not scope.applies(frame):
        return _empty()
    days = scope.period.length.total_seconds() / 86400
    billed = pl.col("billed").sum()
    value = pl.when(billed > 0).then(pl.col("open_amount").sum() / billed * days)
    return frame.group_by(GROUP).agg(value=value)


def _aged(low: float | None, high: float | None) -> pl.Expr:
    age = pl.col("age_h")
    inside = pl.lit(True)
    if low is not None:
        inside = inside & (age >= low)
    if high is not None:
        inside = inside & (age < high)
    return inside.sum()


OPENED = "cases opened in the period"
RESOLVED = "cases resolved in the period"
CLOSED = "cases closed in the period"
OPEN_AT_END = "cases open at the period end"
APPROVALS = "approvals decided in the period"
LINES = "order lines created in the period"
SHIPPED = "orders first dispatched in the period"
DELIVERED = "orders delivered in the period"
SETTLED = "invoices settled in the period"
RECEIVABLES = "invoices issued before the period end"


def _backlog(name: str, label: str, low: float | None, high: float | None) -> Kpi:
    return Kpi(name, f"open backlog aged {label}", "cases", OPEN_AT_END,
               f"cases open at the period end opened {label} before it",
               _agg(OPEN_AT_END, _aged(low, high)), 0, zero=True)  # fmt: skip


REGISTRY: dict[str, Kpi] = {
    kpi.name: kpi
    for kpi in (
        Kpi("cases_opened", "cases opened", "cases", OPENED,
            "cases opened in the period", _agg(OPENED, pl.len()), 0, zero=True),
        Kpi("exceptions_per_1000_orders", "exceptions per 1,000 orders",
            "cases per 1,000 orders", OPENED,
            "cases opened in the period ÷ orders created in the period × 1,000",
            _per_thousand(pl.col("order_no").n_unique())),
        Kpi("exceptions_per_1000_lines", "exceptions per 1,000 order lines",
            "cases per 1,000 lines", OPENED,
            "cases opened in the period ÷ order lines created in the period × 1,000",
            _per_thousand(pl.len())),
        Kpi("cases_resolved", "cases resolved", "cases", RESOLVED,
            "cases closed as resolved in the period", _agg(RESOLVED, pl.len()), 0, zero=True),
        Kpi("touchless_rate", "touchless resolution rate", "share", RESOLVED,
            "resolved cases no person acted on (work.touches = 0) ÷ resolved cases",
            _agg(RESOLVED, _share(pl.col("touchless"))), 4),
        Kpi("automation_rate", "automated resolution rate", "share", RESOLVED,
            "resolved cases with an action taken automatically ÷ resolved cases",
            _agg(RESOLVED, _share(pl.col("automatic"))), 4),
        Kpi("touches_per_case", "manual touches per closed case", "touches", CLOSED,
            "people's commands (work.touches) on cases closed in the period ÷ those cases",
            _agg(CLOSED, pl.col("touches").mean())),
        Kpi("open_backlog", "open backlog", "cases", OPEN_AT_END,
            "cases opened before the period end and not closed by then",
            _agg(OPEN_AT_END, pl.len()), 0, zero=True),
        _backlog("backlog_under_4h", "under 4 h", None, 4),
        _backlog("backlog_4h_to_24h", "4 to 24 h", 4, 24),
        _backlog("backlog_1d_to_3d", "1 to 3 days", 24, 72),
        _backlog("backlog_3d_to_7d", "3 to 7 days", 72, 168),
        _backlog("backlog_over_7d", "7 days or more", 168, None),
        Kpi("time_to_detect_p50_h", "time to detect, median", "hours", OPENED,
            "median of opened_at − onset over cases opened in the period that have an "
            "onset (the event that showed the problem: frames.ONSET)",
            _agg(OPENED, _hours("onset_at", "opened_at").median())),
        Kpi("time_to_first_touch_p50_h", "time to first touch, median", "hours", OPENED,
            "median of work.first_touch_at − opened_at over cases opened in the period "
            "that a person touched",
            _agg(OPENED, _hours("opened_at", "first_touch_at").median())),
        Kpi("time_to_resolve_p50_h", "time to resolve, median", "hours", RESOLVED,
            "median of closed_at − opened_at over cases resolved in the period",
            _agg(RESOLVED, _hours("opened_at", "closed_at").median())),
        Kpi("time_to_resolve_p90_h", "time to resolve, 90th percentile", "hours", RESOLVED,
            "p90 of closed_at − opened_at over cases resolved in the period",
            _agg(RESOLVED, _p90(_hours("opened_at", "closed_at")))),
        Kpi("sla_attainment", "SLA attainment", "share", RESOLVED,
            "resolved cases whose SLA clock (business hours, pauses excluded) was not "
            "breached ÷ resolved cases with an SLA clock",
            _agg(RESOLVED, _share(~pl.col("sla_breached"))), 4),
        Kpi("approval_latency_p50_h", "approval latency, median", "hours", APPROVALS,
            "median of decided_at − requested_at over approvals approved or rejected in "
            "the period", _agg(APPROVALS, _hours("requested_at", "decided_at").median())),
        Kpi("reopen_rate", "reopen rate", "share", OPENED,
            "cases opened in the period that are a later episode of a problem closed "
            "before (same type and key, episode > 1) ÷ cases opened in the period",
            _agg(OPENED, _share(pl.col("reopened"))), 4),
        Kpi("revenue_at_risk_open", "revenue at risk, open", "money", OPEN_AT_END,
            "sum of revenue_at_risk over cases open at the period end",
            _agg(OPEN_AT_END, pl.col("revenue_at_risk").sum()), zero=True),
        Kpi("revenue_protected", "revenue protected", "money", RESOLVED,
            "sum over cases resolved in the period, after a non-message action the "
            "receiving system accepted, of the carried-out option's expected revenue effect",
            _agg(RESOLVED, pl.col("revenue_protected").sum()), zero=True),
        Kpi("orders", "orders created", "orders", LINES,
            "orders created in the period", _agg(LINES, pl.col("order_no").n_unique()), 0,
            zero=True),
        Kpi("order_lines", "order lines created", "lines", LINES,
            "order lines created in the period", _agg(LINES, pl.len()), 0, zero=True),
        Kpi("order_to_ship_p50_h", "order to ship, median", "hours", SHIPPED,
            "median of the first shipment.dispatched − order.created over orders first "
            "dispatched in the period", _agg(SHIPPED, _hours("created_at", "shipped_at").median())),
        Kpi("ship_to_deliver_p50_h", "ship to deliver, median", "hours", DELIVERED,
            "median of the last delivery − the first dispatch over orders delivered in the "
            "period", _agg(DELIVERED, _hours("shipped_at", "delivered_at").median())),
        Kpi("invoice_to_cash_p50_d", "invoice to cash, median", "days", SETTLED,
            "median of settled − invoice.issued over invoices settled in the period (settled: "
            "payments applied and credit memos reach the amount, within 0.01)",
            _agg(SETTLED, _days("invoiced_at", "settled_at").median())),
        Kpi("dso_days", "days sales outstanding (DSO)", "days", RECEIVABLES,
            "receivables open at the period end (invoiced before it, less payments and credit "
            "memos applied before it) ÷ amount invoiced in the period × days in the period",
            _dso, 1),
        Kpi("perfect_order_rate", "perfect-order rate", "share", DELIVERED,
            "orders delivered in the period that are perfect (not cancelled; every shipment "
            "delivered, none failed or rejected; quantity delivered ≥ quantity ordered; no "
            "discrepancy — damaged, short or wrong item — at delivery; the last delivery by "
            "the promise: the first shipment's promised_delivery_date, else the order's "
            "requested_delivery_date, a date meaning its end; an invoice issued and never "
            "disputed) ÷ orders delivered in the period",
            _agg(DELIVERED, _share(pl.col("perfect"))), 4),
    )
}  # fmt: skip
"""Every KPI, by name, in the order reports show them."""


# --- computing and documenting them ------------------------------------------------------------


def names(selected: Sequence[str] | None = None) -> list[str]:
    """The KPI names asked for (all of them by default), checked against the registry."""
    if not selected:
        return list(REGISTRY)
    unknown = [name for name in selected if name not in REGISTRY]
    if unknown:
        raise ContractViolation(f"unknown KPI(s) {unknown}; see `unsnag intel kpis --list`")
    return list(selected)


def compute(
    frames: Frames,
    period: Period,
    by: str | None = None,
    filters: Sequence[tuple[str, str]] = (),
    selected: Sequence[str] | None = None,
    shared: dict[str, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """One row per group (the single row ``all`` without ``by``), one column per KPI.

    The first column is named after the dimension (``scope`` without one); rows come
    most cases opened first, then by group value. ``shared``: see :class:`Scope`.
    """
    scope = Scope(frames, period, by, filters, shared)
    wanted = [REGISTRY[name] for name in names(selected)]
    results = [(kpi, kpi.compute(scope)) for kpi in wanted]
    groups = pl.concat([result.select(GROUP) for _, result in results]).drop_nulls().unique()
    if by is None:
        groups = pl.DataFrame({GROUP: [ALL]})
    table = groups
    for kpi, result in results:
        value = pl.col("value")
        if kpi.zero:
            value = value.fill_null(0)
        table = table.join(
            result.select(GROUP, value.round(kpi.digits).alias(kpi.name)), on=GROUP, how="left"
        )
        if kpi.zero and scope.applies(scope.population(kpi.population)):
            table = table.with_columns(pl.col(kpi.name).fill_null(0))
    order = [pl.col("cases_opened")] if "cases_opened" in table.columns else []
    table = table.sort([*order, pl.col(GROUP)], descending=[True] * len(order) + [False])
    return table.rename({GROUP: by or "scope"})


def compute_slices(
    frames: Frames,
    period: Period,
    dimensions: Sequence[str | None],
    filters: Sequence[tuple[str, str]] = (),
    selected: Sequence[str] | None = None,
) -> dict[str | None, pl.DataFrame]:
    """:func:`compute` for each dimension (``None``: unsliced), filtering the period once."""
    shared: dict[str, pl.DataFrame] = {}
    return {by: compute(frames, period, by, filters, selected, shared) for by in dimensions}


def summary(
    frames: Frames, period: Period, filters: Sequence[tuple[str, str]] = ()
) -> dict[str, float | None]:
    """Every KPI over the whole scope, by name."""
    row = compute(frames, period, None, filters).row(0, named=True)
    return {name: row[name] for name in REGISTRY}


def describe() -> list[dict[str, str]]:
    """The registry as data: name, title, unit, population, formula."""
    return [
        {"name": k.name, "title": k.title, "unit": k.unit, "measured on": k.population,
         "formula": k.formula}
        for k in REGISTRY.values()
    ]  # fmt: skip


BEGIN = "<!-- BEGIN kpis"
END = "<!-- END kpis -->"


def reference() -> str:
    """The KPI table of docs/kpis.md."""
    rows = ["| KPI | unit | measured on | formula |", "|---|---|---|---|"]
    for kpi in REGISTRY.values():
        rows.append(f"| `{kpi.name}` | {kpi.unit} | {kpi.population} | {kpi.formula} |")
    return "\n".join(rows)


def render_reference(text: str) -> str:
    """``text`` (docs/kpis.md) with its generated KPI table brought up to date."""
    head, found, rest = text.partition(BEGIN)
    _, ended, tail = rest.partition(END)
    if not found or not ended:
        raise ContractViolation(f"no {BEGIN} … {END} block to fill in")
    note = "generated from unsnag.intel.kpi.REGISTRY by `python -m unsnag.intel.kpi docs/kpis.md`"
    return f"{head}{BEGIN}: {note} -->\n{reference()}\n{END}{tail}"


if __name__ == "__main__":  # pragma: no cover - the docs generator
    import sys
    from pathlib import Path

    for target in map(Path, sys.argv[1:]):
        target.write_text(render_reference(target.read_text("utf-8")), "utf-8")
