"""Cases and events as polars DataFrames, flattened for KPIs, Paretos and incidents.

:func:`load_files` reads ``cases.jsonl`` (what ``unsnag replay`` writes) and the event
log (JSON Lines, as ingested); :func:`load_store` reads both from a store. Either gives a
:class:`Frames`:

- ``cases``: one row per case, the columns of :data:`CASE_SCHEMA` — the case's own
  fields, its refs (first value where a ref holds several), its work (touches, SLA,
  revenue protected), and what the events add: the order's channel and ship-to region,
  the carrier and node of the case's shipment, the *lane* (for a case with a carrier:
  the DC its order ships from), the *source* system and the *onset* (see
  :data:`ONSET`), and ``episode``/``reopened`` (derived from the id, which is a hash of
  type, key and episode: see ``unsnag.cases.desk.case_id``);
- ``approvals``: one row per approval asked on a case;
- ``events``: one row per event, envelope plus the few data fields the metrics read;
- ``orders``: one row per order, its whole cycle (created, shipped, delivered,
  invoiced, settled) and whether it was perfect (docs/kpis.md);
- ``lines``: one row per order line (order, SKU), for per-line and per-SKU rates;
- ``invoices``: one row per invoice (amount, issued, due, settled, disputed; its order's
  tier, channel, DC and carrier) and
  ``receipts``: the payments and credit memos applied to invoices, for DSO.

Reading JSON is the slow part (about 100 MB/s on this machine); the frames can be kept
as Parquet (:meth:`Frames.write_parquet`, :meth:`Frames.read_parquet`) and reloaded in
a second or two.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from unsnag.cases.desk import case_id as derive_case_id
from unsnag.errors import ContractViolation, NotFound

UTC_TIME = pl.Datetime("us", "UTC")
Progress = Callable[[str], None]

# --- the event log -----------------------------------------------------------------------

_S = pl.String()
_DATA = pl.Struct(
    {
        "order_id": _S,
        "customer_id": _S,
        "channel": _S,
        "tier": _S,
        "requested_delivery_date": _S,
        "ship_to": pl.Struct({"region": _S}),
        "lines": pl.List(pl.Struct({"sku": _S, "qty": _S})),
        "shipment_id": _S,
        "node_id": _S,
        "carrier": _S,
        "promised_delivery_date": _S,
        "delivered_at": _S,
        "discrepancies": pl.List(pl.Struct({"kind": _S})),
        "invoice_id": _S,
        "amount": _S,
        "due_date": _S,
        "endpoint": _S,
        "sku": _S,
    }
)
RAW_EVENT_SCHEMA = pl.Schema(
    {
        "id": _S,
        "source": _S,
        "type": _S,
        "time": _S,
        "subject": _S,
        "data": _DATA,
    }
)
"""What is read of each event. Numbers are read as text and cast, so an amount sent as
``"12.50"`` reads as well as ``12.5``; fields not named here are skipped."""

EVENT_SCHEMA = pl.Schema(
    {
        "time": UTC_TIME,
        "type": _S,
        "source": _S,
        "system": _S,
        "subject": _S,
        "order_id": _S,
        "customer_id": _S,
        "channel": _S,
        "tier": _S,
        "shipment_id": _S,
        "invoice_id": _S,
        "node_id": _S,
        "carrier": _S,
        "endpoint": _S,
        "sku": _S,
        "amount": pl.Float64(),
        "line_count": pl.UInt32(),
        "qty": pl.Float64(),
        "skus": pl.List(_S),
        "region": _S,
        "requested_delivery_at": UTC_TIME,
        "promised_delivery_at": UTC_TIME,
        "delivered_at": UTC_TIME,
        "due_at": UTC_TIME,
        "discrepancies": pl.UInt32(),
    }
)
"""The events frame: one row per event."""


def instant(expr: pl.Expr) -> pl.Expr:
    """RFC 3339 text as a UTC instant, as ``unsnag.events.parse_instant`` reads it: a
    bare date means the end of that day (23:59:59), a naive timestamp is UTC."""
    full = expr.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="us", time_zone="UTC", strict=False
    )
    naive = expr.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False
    ).dt.replace_time_zone("UTC")
    day = expr.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")).dt.replace_time_zone(
        "UTC"
    ) + pl.duration(hours=23, minutes=59, seconds=59)
    return pl.coalesce(full, naive, day)


def _number(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Float64(), strict=False)


def _data_field(raw: pl.DataFrame, name: str) -> pl.Expr:
    """``data.<name>``, or null when this part of the log was read without it."""
    fields = raw.schema["data"].to_schema() if "data" in raw.columns else {}  # type: ignore[attr-defined]
    if name in fields:
        return pl.col("data").struct.field(name)
    return pl.lit(None, _DATA.to_schema()[name])


def flatten_events(raw: pl.DataFrame) -> pl.DataFrame:
    """The events frame (:data:`EVENT_SCHEMA`) from envelopes read as :data:`RAW_EVENT_SCHEMA`
    (or with fewer data fields: the missing ones are null)."""

    def field(name: str) -> pl.Expr:
        return _data_field(raw, name)

    lines = field("lines")
    return raw.select(
        time=instant(pl.col("time")),
        type=pl.col("type"),
        source=pl.col("source"),
        system=pl.col("source").str.split("/").list.first(),
        subject=pl.col("subject"),
        **{name: field(name) for name in _TEXT_FIELDS},
        amount=_number(field("amount")),
        line_count=lines.list.len().cast(pl.UInt32()),
        qty=lines.list.eval(_number(pl.element().struct.field("qty"))).list.sum(),
        skus=lines.list.eval(pl.element().struct.field("sku")),
        region=field("ship_to").struct.field("region"),
        requested_delivery_at=instant(field("requested_delivery_date")),
        promised_delivery_at=instant(field("promised_delivery_date")),
        delivered_at=instant(field("delivered_at")),
        due_at=instant(field("due_date")),
        discrepancies=field("discrepancies").list.len().cast(pl.UInt32()),
    ).cast(EVENT_SCHEMA)


_TEXT_FIELDS = ("order_id", "customer_id", "channel", "tier", "shipment_id", "invoice_id",
                "node_id", "carrier", "endpoint", "sku")  # fmt: skip

LIGHT_TYPES = frozenset(
    {"pick.confirmed", "remittance.received", "inventory.snapshot", "inventory.adjusted",
     "price.agreed", "product.upserted", "node.upserted", "purchase_order.created",
     "receipt.posted"}
)  # fmt: skip
"""Event types whose data no metric reads: only their envelope is parsed. With
``allocation.reserved`` (read with :data:`_NARROW`) they are over half of a twin log, and
parsing a JSON object into a polars struct costs by the field."""
_ENVELOPE = pl.Schema({k: v for k, v in RAW_EVENT_SCHEMA.items() if k != "data"})
_NARROW = pl.Schema({**_ENVELOPE, "data": pl.Struct({"order_id": _S, "node_id": _S})})
_SCHEMA_OF = {**{t.encode(): _ENVELOPE for t in LIGHT_TYPES}, b"allocation.reserved": _NARROW}
_TYPE = b'"type":"'
CHUNK_LINES = 500_000


def _schema_for(line: bytes) -> pl.Schema:
    """What to parse of one line, by its type (read without parsing the line)."""
    at = line.find(_TYPE)
    if at < 0:
        return RAW_EVENT_SCHEMA
    start = at + len(_TYPE)
    return _SCHEMA_OF.get(line[start : line.find(b'"', start)], RAW_EVENT_SCHEMA)


def _parse(lines: list[bytes], schema: pl.Schema) -> pl.DataFrame:
    try:
        return pl.read_ndjson(io.BytesIO(b"".join(lines)), schema=schema)
    except pl.exceptions.PolarsError as exc:
        raise ContractViolation(f"cannot read events: {exc}") from None


def _read_chunk(lines: list[bytes]) -> list[pl.DataFrame]:
    """The chunk's lines parsed by kind; a line whose type was misread (a nested
    ``"type"`` key before the envelope's) is parsed again in full."""
    kinds: dict[int, list[bytes]] = {}
    schemas: dict[int, pl.Schema] = {}
    for line in lines:
        schema = _schema_for(line)
        kinds.setdefault(id(schema), []).append(line if line.endswith(b"\n") else line + b"\n")
        schemas[id(schema)] = schema
    parts, again = [], []
    for key, group in kinds.items():
        raw = _parse(group, schemas[key])
        if schemas[key] is not RAW_EVENT_SCHEMA:
            expected = LIGHT_TYPES if schemas[key] is _ENVELOPE else {"allocation.reserved"}
            wrong = ~raw["type"].is_in(list(expected))
            again += [group[n] for n in wrong.arg_true().to_list()]
            raw = raw.filter(~wrong)
        parts.append(flatten_events(raw))
    if again:
        parts.append(flatten_events(_parse(again, RAW_EVENT_SCHEMA)))
    return parts


def _chunks(handle: io.BufferedIOBase, on_bytes: Callable[[int], None] | None) -> Any:
    chunk: list[bytes] = []
    done = 0
    for line in handle:
        done += len(line)
        if line.strip():
            chunk.append(line)
        if len(chunk) >= CHUNK_LINES:
            yield chunk
            chunk = []
            if on_bytes is not None:
                on_bytes(done)
    if chunk:
        yield chunk
    if on_bytes is not None:
        on_bytes(done)


def read_events(
    source: Path | bytes, on_bytes: Callable[[int], None] | None = None
) -> pl.DataFrame:
    """The events frame of a JSON Lines file (or its bytes), in log order by kind of
    event within chunks of :data:`CHUNK_LINES` lines; ``on_bytes`` hears how far it got."""
    if isinstance(source, Path) and not source.is_file():
        raise NotFound(f"{source}: no such file (events)")
    handle = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
    with handle:
        parts = [pl.concat(_read_chunk(chunk), rechunk=True) for chunk in _chunks(handle, on_bytes)]
    if not parts:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    return pl.concat(parts, rechunk=False)  # one chunk per 500,000 lines: no second copy


def events_from_dicts(envelopes: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """The events frame of raw envelopes (as a store's ``iter_events`` yields them)."""
    text = b"\n".join(orjson.dumps(envelope) for envelope in envelopes)
    return read_events(text + b"\n" if text else b"")


# --- cases ---------------------------------------------------------------------------------

CASE_SCHEMA = pl.Schema(
    {
        "id": _S,
        "type": _S,
        "status": _S,
        "key": _S,
        "subject": _S,
        "episode": pl.Int32(),
        "reopened": pl.Boolean(),
        "team": _S,
        "rule": _S,
        "root_cause": _S,
        "priority": pl.Float64(),
        "customer_id": _S,
        "tier": _S,
        "order_id": _S,
        "order_ids": pl.List(_S),
        "sku": _S,
        "node_id": _S,
        "carrier": _S,
        "shipment_id": _S,
        "invoice_id": _S,
        "endpoint": _S,
        "opened_at": UTC_TIME,
        "closed_at": UTC_TIME,
        "due_at": UTC_TIME,
        "first_touch_at": UTC_TIME,
        "touches": pl.Int32(),
        "touchless": pl.Boolean(),
        "automatic": pl.Boolean(),
        "sla_target_hours": pl.Float64(),
        "sla_used_hours": pl.Float64(),
        "sla_breached": pl.Boolean(),
        "revenue_at_risk": pl.Float64(),
        "revenue_protected": pl.Float64(),
    }
)
"""Columns flattened from the case itself (``Case.to_dict()``)."""

ENRICHED = pl.Schema(
    {
        "channel": _S,
        "ship_to_region": _S,
        "lane": _S,
        "source": _S,
        "onset_at": UTC_TIME,
    }
)
"""Columns the events add to each case (see the module docstring and :data:`ONSET`)."""

APPROVAL_SCHEMA = pl.Schema(
    {
        "case_id": _S,
        "approval_id": _S,
        "role": _S,
        "origin": _S,
        "status": _S,
        "requested_at": UTC_TIME,
        "decided_at": UTC_TIME,
    }
)

REFS = ("order_id", "sku", "node_id", "carrier", "shipment_id", "invoice_id", "endpoint")
MESSAGES = frozenset({"notify"})
"""Actions that only tell someone; they protect no revenue (as in ``twin.outcome``)."""
MAX_EPISODE = 64

ONSET: dict[str, tuple[tuple[str, ...], str]] = {
    "allocation.shortage": (("allocation.failed",), "last"),
    "pick.short": (("pick.short",), "last"),
    "pricing.mismatch": (("order.created", "order.updated"), "last"),
    "credit.hold": (("credit.hold_applied", "order.held"), "first"),
    "master_data.invalid": (("order.validation_failed",), "first"),
    "order.duplicate": (("order.created",), "last"),
    "shipment.delay": (("shipment.dispatched", "shipment.delayed"), "last"),
    "shipment.failed": (("shipment.failed", "carrier.rejected"), "first"),
    "delivery.discrepancy": (("shipment.delivered",), "last"),
    "asn.discrepancy": (("asn.received",), "first"),
    "return.pending": (("return.requested",), "first"),
    "invoice.hold": (("invoice.disputed",), "first"),
    "cash.unapplied": (("remittance.received",), "first"),
    "integration.failure": (("integration.failed",), "first"),
    "inventory.mismatch": (("inventory.snapshot", "inventory.adjusted"), "last"),
}
"""When a problem began, per case type: the event types on the case's subject that show
it, and whether the first or the last of them counts. Only events after the previous
episode of the same problem closed (and at most :data:`ONSET_LOOKBACK` before the case
opened) are looked at. A type not listed here (``payment.overdue``: the problem begins at
a due date, not an event; ``allocation.conflict``: its subject is a node/SKU that the
allocation events do not name) has no onset, so no time to detect."""
ONSET_LOOKBACK = "7d"


def _first(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return str(value[0]) if value else None
    return str(value)


def _all(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)]


def _episode(case: Mapping[str, Any]) -> int | None:
    for episode in range(1, MAX_EPISODE + 1):
        if derive_case_id(case["type"], case["key"], episode) == case["id"]:
            return episode
    return None


def _protected(case: Mapping[str, Any], work: Mapping[str, Any]) -> float:
    """The expected revenue effect of the option carried out, for a case resolved after
    a non-message action the receiving system accepted (``twin.outcome``'s definition)."""
    if case.get("status") != "resolved":
        return 0.0
    done = [a for a in work.get("actions") or () if a["kind"] not in MESSAGES]
    done = [a for a in done if a.get("status") == "delivered"]
    options = work.get("recommendations") or []
    if not done or not options:
        return 0.0
    action = done[0]
    chosen = next(
        (o for o in options if o["action"] == action["kind"] and o["params"] == action["params"]),
        next((o for o in options if o["action"] == action["kind"]), options[0]),
    )
    return float((chosen.get("effect") or {}).get("revenue_protected") or 0.0)


def _case_row(case: Mapping[str, Any]) -> tuple[Any, ...]:
    refs = case.get("refs") or {}
    work = case.get("work") or {}
    sla = work.get("sla") or {}
    episode = _episode(case) if case.get("key") is not None else None
    return (
        case["id"],
        case["type"],
        case["status"],
        case.get("key"),
        case.get("subject"),
        episode,
        None if episode is None else episode > 1,
        case.get("owner_team"),
        case.get("rule"),
        case.get("root_cause"),
        case.get("priority"),
        case.get("customer_id") or _first(refs.get("customer_id")),
        case.get("tier"),
        _first(refs.get("order_id")),
        _all(refs.get("order_id")),
        *(_first(refs.get(name)) for name in REFS[1:]),
        case.get("opened_at"),
        case.get("closed_at"),
        case.get("due_at"),
        work.get("first_touch_at"),
        work.get("touches"),
        work.get("touchless"),
        work.get("automatic"),
        sla.get("target_hours"),
        sla.get("used_hours"),
        sla.get("breached"),
        case.get("revenue_at_risk"),
        _protected(case, work) if work else None,
    )


_TIMES = ("opened_at", "closed_at", "due_at", "first_touch_at")
_TEXT_SCHEMA = pl.Schema({n: _S if n in _TIMES else kind for n, kind in CASE_SCHEMA.items()})


def flatten_cases(cases: Iterable[Mapping[str, Any]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The case columns (:data:`CASE_SCHEMA`) and the approvals of ``Case.to_dict()`` dicts."""
    rows, approvals = [], []
    for case in cases:
        rows.append(_case_row(case))
        for approval in (case.get("work") or {}).get("approvals") or ():
            approvals.append(
                (case["id"], approval.get("id"), approval.get("role"), approval.get("origin"),
                 approval.get("status"), approval.get("requested_at"), approval.get("decided_at"))
            )  # fmt: skip
    frame = pl.DataFrame(rows, schema=_TEXT_SCHEMA, orient="row")
    frame = frame.with_columns(instant(pl.col(name)) for name in _TIMES)
    text = pl.Schema({k: _S if k.endswith("_at") else v for k, v in APPROVAL_SCHEMA.items()})
    asked = pl.DataFrame(approvals, schema=text, orient="row")
    asked = asked.with_columns(instant(pl.col(name)) for name in ("requested_at", "decided_at"))
    return frame.cast(CASE_SCHEMA), asked.cast(APPROVAL_SCHEMA)


def read_case_dicts(path: Path) -> Iterator[dict[str, Any]]:
    """The cases of a ``cases.jsonl`` file, one at a time (a month's cases with their
    work are gigabytes as Python objects; flattened, a few megabytes)."""
    if not path.is_file():
        raise NotFound(f"{path}: no such file (cases)")
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ContractViolation(f"{path}:{number}: not JSON: {exc}") from None


# --- orders and their cycle ------------------------------------------------------------------

ORDER_SCHEMA = pl.Schema(
    {
        "order_id": _S,
        "created_at": UTC_TIME,
        "customer_id": _S,
        "tier": _S,
        "channel": _S,
        "ship_to_region": _S,
        "lines": pl.UInt32(),
        "qty": pl.Float64(),
        "skus": pl.List(_S),
        "cancelled": pl.Boolean(),
        "node_id": _S,
        "carrier": _S,
        "shipped_at": UTC_TIME,
        "delivered_at": UTC_TIME,
        "promised_at": UTC_TIME,
        "delivered_qty": pl.Float64(),
        "discrepancies": pl.UInt32(),
        "failed": pl.Boolean(),
        "invoice_id": _S,
        "invoiced_at": UTC_TIME,
        "invoiced_amount": pl.Float64(),
        "settled_at": UTC_TIME,
        "disputed": pl.Boolean(),
        "complete": pl.Boolean(),
        "on_time": pl.Boolean(),
        "perfect": pl.Boolean(),
    }
)
"""One row per order: its whole cycle, from ``order.created`` to the invoice settled."""

SETTLE_TOLERANCE = 0.01
"""An invoice is settled when payments and credit memos reach its amount within this."""


def _of_type(events: pl.DataFrame, *types: str) -> pl.DataFrame:
    return events.filter(pl.col("type").is_in(types))


def _order_heads(events: pl.DataFrame) -> pl.DataFrame:
    """Per order: the ``order.created`` fields, lines replaced by the last update's."""
    created = (
        _of_type(events, "order.created")
        .sort("time")
        .unique("order_id", keep="first", maintain_order=True)
        .select("order_id", created_at="time", customer_id="customer_id", channel="channel",
                ship_to_region="region", requested_at="requested_delivery_at",
                lines="line_count", qty="qty", skus="skus")
    )  # fmt: skip
    updated = (
        _of_type(events, "order.updated")
        .filter(pl.col("line_count").is_not_null())
        .sort("time")
        .unique("order_id", keep="last")
        .select("order_id", u_lines="line_count", u_qty="qty", u_skus="skus")
    )
    tiers = (
        _of_type(events, "customer.upserted")
        .sort("time")
        .unique("customer_id", keep="last")
        .select("customer_id", "tier")
    )
    cancelled = _of_type(events, "order.cancelled").select("order_id").unique()
    return (
        created.join(updated, on="order_id", how="left")
        .with_columns(
            lines=pl.coalesce("u_lines", "lines"),
            qty=pl.coalesce("u_qty", "qty"),
            skus=pl.coalesce("u_skus", "skus"),
        )
        .drop("u_lines", "u_qty", "u_skus")
        .join(tiers, on="customer_id", how="left")
        .join(cancelled.with_columns(cancelled=pl.lit(True)), on="order_id", how="left")
        .with_columns(pl.col("cancelled").fill_null(False))
    )


def shipments_frame(events: pl.DataFrame) -> pl.DataFrame:
    """Per shipment: order, node, carrier, promise, dispatch, delivery and failure."""
    created = (
        _of_type(events, "shipment.created")
        .sort("time")
        .unique("shipment_id", keep="first", maintain_order=True)
        .select("shipment_id", "order_id", "node_id", "carrier", created_at="time",
                promised_at="promised_delivery_at", qty="qty")
    )  # fmt: skip
    dispatched = (
        _of_type(events, "shipment.dispatched")
        .group_by("shipment_id")
        .agg(dispatched_at=pl.col("time").min())
    )
    delivered = (
        _of_type(events, "shipment.delivered")
        .group_by("shipment_id")
        .agg(
            delivered_at=pl.coalesce("delivered_at", "time").max(),
            discrepancies=pl.col("discrepancies").fill_null(0).sum(),
        )
    )
    failed = _of_type(events, "shipment.failed", "carrier.rejected")
    failed_ids = failed.filter(pl.col("shipment_id").is_not_null()).select("shipment_id").unique()
    return (
        created.join(dispatched, on="shipment_id", how="left")
        .join(delivered, on="shipment_id", how="left")
        .join(failed_ids.with_columns(failed=pl.lit(True)), on="shipment_id", how="left")
        .with_columns(pl.col("failed").fill_null(False))
    )


def _order_shipping(events: pl.DataFrame, shipments: pl.DataFrame) -> pl.DataFrame:
    """Per order: where and how it shipped, when it was delivered, and how well."""
    rejected = (
        _of_type(events, "carrier.rejected")
        .filter(pl.col("order_id").is_not_null())
        .select("order_id")
        .unique()
        .with_columns(rejected=pl.lit(True))
    )
    reserved = (
        _of_type(events, "allocation.reserved")
        .sort("time")
        .unique("order_id", keep="first")
        .select("order_id", reserved_node="node_id")
    )
    per_order = (
        shipments.sort("created_at")
        .group_by("order_id", maintain_order=True)
        .agg(
            ship_node=pl.col("node_id").first(),
            carrier=pl.col("carrier").last(),
            promised_at=pl.col("promised_at").first(),
            shipped_at=pl.col("dispatched_at").min(),
            delivered_at=pl.col("delivered_at").max(),
            all_delivered=pl.col("delivered_at").is_not_null().all(),
            delivered_qty=pl.col("qty").filter(pl.col("delivered_at").is_not_null()).sum(),
            discrepancies=pl.col("discrepancies").fill_null(0).sum(),
            failed=pl.col("failed").any(),
        )
    )
    return (
        reserved.join(per_order, on="order_id", how="full", coalesce=True)
        .join(rejected, on="order_id", how="left")
        .with_columns(
            node_id=pl.coalesce("ship_node", "reserved_node"),
            failed=pl.col("failed").fill_null(False) | pl.col("rejected").fill_null(False),
        )
        .drop("ship_node", "reserved_node", "rejected")
    )


def receipts_frame(events: pl.DataFrame) -> pl.DataFrame:
    """Money that settles invoices: payments applied and credit memos, per invoice."""
    return (
        _of_type(events, "payment.applied", "credit_memo.issued")
        .filter(pl.col("invoice_id").is_not_null())
        .select("invoice_id", "time", amount=pl.col("amount").fill_null(0.0))
    )


def invoices_frame(events: pl.DataFrame) -> pl.DataFrame:
    """Per invoice: order, customer, amount, issue, due, when it was settled, disputes."""
    issued = (
        _of_type(events, "invoice.issued")
        .sort("time")
        .unique("invoice_id", keep="first", maintain_order=True)
        .select("invoice_id", "order_id", "customer_id", "amount",
                invoiced_at="time", due_at="due_at")
    )  # fmt: skip
    applied = (
        receipts_frame(events)
        .sort("invoice_id", "time")
        .with_columns(paid_total=pl.col("amount").cum_sum().over("invoice_id"))
        .drop("amount")
        .join(issued.select("invoice_id", "amount"), on="invoice_id")
        .filter(pl.col("paid_total") >= pl.col("amount") - SETTLE_TOLERANCE)
        .group_by("invoice_id")
        .agg(settled_at=pl.col("time").min())
    )
    disputed = _of_type(events, "invoice.disputed").select("invoice_id").unique()
    return (
        issued.join(applied, on="invoice_id", how="left")
        .join(disputed.with_columns(disputed=pl.lit(True)), on="invoice_id", how="left")
        .with_columns(pl.col("disputed").fill_null(False))
    )


def orders_frame(
    events: pl.DataFrame, shipments: pl.DataFrame, invoices: pl.DataFrame
) -> pl.DataFrame:
    """One row per order (:data:`ORDER_SCHEMA`); see docs/kpis.md for *perfect*."""
    per_order_invoice = (
        invoices.sort("invoiced_at")
        .group_by("order_id", maintain_order=True)
        .agg(
            invoice_id=pl.col("invoice_id").first(),
            invoiced_at=pl.col("invoiced_at").min(),
            invoiced_amount=pl.col("amount").sum(),
            settled_at=pl.col("settled_at").max(),
            settled_all=pl.col("settled_at").is_not_null().all(),
            disputed=pl.col("disputed").any(),
        )
        .with_columns(settled_at=pl.when("settled_all").then("settled_at"))
        .drop("settled_all")
    )
    frame = (
        _order_heads(events)
        .join(_order_shipping(events, shipments), on="order_id", how="left")
        .join(per_order_invoice, on="order_id", how="left")
        .with_columns(
            promised_at=pl.coalesce("promised_at", "requested_at"),
            disputed=pl.col("disputed").fill_null(False),
            failed=pl.col("failed").fill_null(False),
        )
    )
    delivered = pl.col("delivered_at").is_not_null() & pl.col("all_delivered").fill_null(False)
    complete = delivered & (pl.col("delivered_qty").fill_null(0) >= pl.col("qty"))
    clean = pl.col("discrepancies").fill_null(0) == 0
    on_time = delivered & (pl.col("delivered_at") <= pl.col("promised_at"))
    invoiced_right = pl.col("invoice_id").is_not_null() & ~pl.col("disputed")
    perfect = ~pl.col("cancelled") & ~pl.col("failed") & complete & clean & on_time & invoiced_right
    return (
        frame.with_columns(
            complete=complete & clean,
            on_time=on_time.fill_null(False),
            perfect=perfect.fill_null(False),
        )
        .select(ORDER_SCHEMA.keys())
        .cast(ORDER_SCHEMA)
    )


def lines_frame(orders: pl.DataFrame) -> pl.DataFrame:
    """One row per order line: the order's dimensions, its row number in the orders frame
    (``order_no``: counting distinct integers is much faster than distinct ids) and the
    line's SKU."""
    return (
        orders.with_row_index("order_no")
        .select("order_no", "order_id", "created_at", "customer_id", "tier", "channel",
                "node_id", "carrier", sku="skus")
        .explode("sku")
        .filter(pl.col("sku").is_not_null())
    )  # fmt: skip


# --- what the events add to each case ----------------------------------------------------------


def _onsets(cases: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Per case: the onset (see :data:`ONSET`) and the system that reported it."""
    table = pl.DataFrame(
        [(code, etype, mode) for code, (etypes, mode) in ONSET.items() for etype in etypes],
        schema={"type": _S, "event_type": _S, "mode": _S},
        orient="row",
    )
    previous_close = pl.col("closed_at").shift(1).over("type", "key", order_by="opened_at")
    window_start = pl.max_horizontal(
        previous_close, pl.col("opened_at") - pl.duration(days=int(ONSET_LOOKBACK[:-1]))
    )
    asked = (
        cases.select("id", "type", "key", "subject", "opened_at", "closed_at")
        .with_columns(window_start=window_start)
        .join(table, on="type")
    )
    seen = (
        events.filter(pl.col("type").is_in(table["event_type"].unique().to_list()))
        .select("subject", "time", "system", event_type="type")
        .join(asked.select("subject").unique(), on="subject", how="semi")
    )
    matched = (
        asked.join(seen, on=["subject", "event_type"])
        .filter((pl.col("time") <= pl.col("opened_at")) & (pl.col("time") > pl.col("window_start")))
        .sort("time")
    )
    first = matched.filter(pl.col("mode") == "first").group_by("id").first()
    last = matched.filter(pl.col("mode") == "last").group_by("id").last()
    return pl.concat([first, last]).select("id", onset_at="time", onset_system="system")


def _trigger_systems(cases: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Per case: the system of the last event on its subject at or before it opened."""
    about = (
        events.select("subject", "time", "system")
        .join(cases.select("subject").unique(), on="subject", how="semi")
        .sort("time")
    )
    return (
        cases.select("id", "subject", "opened_at")
        .sort("opened_at")
        .join_asof(
            about, left_on="opened_at", right_on="time", by="subject", check_sortedness=False
        )
        .select("id", trigger_system="system")
    )


def enrich_cases(
    cases: pl.DataFrame,
    events: pl.DataFrame,
    orders: pl.DataFrame,
    shipments: pl.DataFrame,
) -> pl.DataFrame:
    """The case columns plus :data:`ENRICHED`, and refs filled in from the events."""
    by_order = orders.select(
        "order_id",
        o_customer="customer_id",
        o_tier="tier",
        channel="channel",
        ship_to_region="ship_to_region",
        o_node="node_id",
    )
    by_shipment = shipments.select("shipment_id", s_node="node_id", s_carrier="carrier")
    frame = (
        cases.join(by_order, on="order_id", how="left")
        .join(by_shipment, on="shipment_id", how="left")
        .join(_onsets(cases, events), on="id", how="left")
        .join(_trigger_systems(cases, events), on="id", how="left")
        .with_columns(
            customer_id=pl.coalesce("customer_id", "o_customer"),
            tier=pl.coalesce("tier", "o_tier"),
            node_id=pl.coalesce("node_id", "s_node"),
            carrier=pl.coalesce("carrier", "s_carrier"),
            source=pl.coalesce("onset_system", "trigger_system"),
        )
        .with_columns(
            lane=pl.when(pl.col("carrier").is_not_null()).then(pl.coalesce("node_id", "o_node"))
        )
    )
    return frame.select([*CASE_SCHEMA, *ENRICHED]).sort("opened_at", "id")


# --- the frames together ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Frames:
    """Everything the KPIs, Paretos and incidents read (see the module docstring)."""

    cases: pl.DataFrame
    approvals: pl.DataFrame
    events: pl.DataFrame
    orders: pl.DataFrame
    lines: pl.DataFrame
    invoices: pl.DataFrame
    receipts: pl.DataFrame

    def write_parquet(self, directory: Path) -> None:
        """Keep the frames as ``DIR/<name>.parquet``, to reload fast."""
        directory.mkdir(parents=True, exist_ok=True)
        for item in fields(self):
            getattr(self, item.name).write_parquet(directory / f"{item.name}.parquet")

    @classmethod
    def read_parquet(cls, directory: Path) -> Frames:
        """Frames kept by :meth:`write_parquet`."""
        missing = [f.name for f in fields(cls) if not (directory / f"{f.name}.parquet").is_file()]
        if missing:
            raise NotFound(f"{directory}: no {', '.join(missing)} parquet file(s)")
        return cls(
            **{f.name: pl.read_parquet(directory / f"{f.name}.parquet") for f in fields(cls)}
        )


def build_frames(
    case_dicts: Iterable[Mapping[str, Any]],
    events: pl.DataFrame,
    progress: Progress | None = None,
) -> Frames:
    """The frames of cases (``Case.to_dict()`` dicts) and an events frame."""
    say = progress or (lambda _stage: None)
    say("flattening cases")
    cases, approvals = flatten_cases(case_dicts)
    say("deriving orders")
    shipments, invoices = shipments_frame(events), invoices_frame(events)
    orders = orders_frame(events, shipments, invoices)
    say("enriching cases")
    enriched = enrich_cases(cases, events, orders, shipments)
    return Frames(
        cases=enriched,
        approvals=approvals,
        events=events,
        orders=orders,
        lines=lines_frame(orders),
        invoices=invoices.join(
            orders.select("order_id", "tier", "channel", "node_id", "carrier"),
            on="order_id",
            how="left",
        ),
        receipts=receipts_frame(events),
    )


def load_files(
    cases: Path,
    events: Path,
    progress: Progress | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Frames:
    """The frames of a ``cases.jsonl`` (``unsnag replay``) and an events JSON Lines file;
    ``progress`` hears each stage, ``on_bytes`` how far into the events file it got."""
    say = progress or (lambda _stage: None)
    say(f"reading {events.name}")
    event_frame = read_events(events, on_bytes)
    say(f"reading {cases.name}")
    return build_frames(read_case_dicts(cases), event_frame, progress)


def load_store(store: Any, progress: Progress | None = None) -> Frames:
    """The frames of a store (:class:`~unsnag.store.port.StorePort`): its event log and
    every case it keeps."""
    say = progress or (lambda _stage: None)
    say("reading the event log")
    event_frame = events_from_dicts(raw for _seq, raw in store.iter_events())
    say("reading cases")
    return build_frames(store.list_cases(), event_frame, progress)
