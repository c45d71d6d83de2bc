"""Process maps: the object-centric directly-follows graph (OC-DFG) of the event log.

An event is related to the business objects its payload names (docs/process-maps.md):

- ``order`` — ``data.order_id``; an event that names only a shipment or an invoice
  (``shipment.delivered``, ``payment.applied``) belongs to the order that shipment or
  invoice was created for (by ``shipment.created`` / ``invoice.issued``);
- ``line`` — ``(order_id, line_id)`` for every ``line_id`` the event names (``data.line_id``
  or inside ``data.lines``); the id is ``ORDER/LINE``;
- ``shipment`` — ``data.shipment_id`` (not ``asn.received``: its shipment is a supplier's);
- ``invoice`` — ``data.invoice_id``.

Per object type, each object's events in time order (then log order) form its trace;
``a → b`` is an edge for every two consecutive events of one trace, with its frequency
and the median time between them. The variants of the order flow are the traces of the
orders with runs of one activity collapsed (an order with three lines reserves three
times; it is one variant with the order of five lines).

Everything runs on one long polars frame, the *object index* (``seq, time, activity,
otype, oid``: one row per event and object it relates to), built from a file
(:func:`index_file`, a fast text scan) or from raw events (:func:`index_raw`, the
store). Building the index is the expensive part — it reads the whole log — so it can be
kept as Parquet (:func:`load_index`) and maps drawn from it again in a second or two.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import orjson
import polars as pl

OBJECT_TYPES = ("order", "line", "shipment", "invoice")
NOT_OURS = ("asn.received",)
"""Event types whose ``shipment_id`` names an inbound (supplier) shipment."""

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"
INDEX_VERSION = "1"

WIDE_SCHEMA: dict[str, Any] = {
    "seq": pl.Int64,
    "type": pl.String,
    "time": pl.String,
    "order_id": pl.String,
    "shipment_id": pl.String,
    "invoice_id": pl.String,
    "line_ids": pl.List(pl.String),
}
OTYPE = pl.Enum(OBJECT_TYPES)
INDEX_SCHEMA: dict[str, Any] = {
    "otype": OTYPE,
    "oid": pl.String,
    "first": pl.Boolean,
    "time": pl.Datetime("us", "UTC"),
    "seq": pl.Int64,
    "activity": pl.Categorical,
}
MAP_COLUMNS = ["otype", "first", "time", "activity"]
"""What a map reads of the index (the object ids are not needed once in trace order)."""

# --- building the object index ---------------------------------------------------------


def _value(name: str) -> str:
    """A JSON string (or bare number) value of key ``name``, the first in the line."""
    return rf'"{name}"\s*:\s*"?([^",}}\]]*)'


def _wide_from_lines(lines: pl.LazyFrame) -> pl.LazyFrame:
    raw = pl.col("raw")
    found = raw.str.extract_all(r'"line_id"\s*:\s*"?[^",}\]]*')
    return lines.select(
        pl.col("seq").cast(pl.Int64),
        raw.str.extract(_value("type")).alias("type"),
        raw.str.extract(_value("time")).alias("time"),
        raw.str.extract(_value("order_id")).alias("order_id"),
        raw.str.extract(_value("shipment_id")).alias("shipment_id"),
        raw.str.extract(_value("invoice_id")).alias("invoice_id"),
        found.list.eval(
            pl.element()
            .str.strip_prefix('"line_id"')
            .str.strip_chars_start(" \t:")
            .str.strip_prefix('"')
        ).alias("line_ids"),
    )


def index_file(path: Path) -> pl.DataFrame:
    """The object index of a JSON Lines file of events, by a text scan of each line.

    Exact for the files unsnag writes (replay input, twin, export): the envelope's
    ``type`` and ``time`` come before ``data``, ids are strings or numbers. For other
    writers, :func:`index_raw` over the parsed events is the exact (slower) way.
    Lines are read as they are written: not validated, not de-duplicated.
    """
    lines = pl.scan_lines(path, name="raw").with_row_index("seq", offset=1)
    wide = _wide_from_lines(lines.filter(pl.col("raw").str.len_bytes() > 2))
    return relate(wide.collect())


def _line_ids(node: Any, found: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "line_id" and value is not None and not isinstance(value, dict | list):
                found.append(_text(value))
            else:
                _line_ids(value, found)
    elif isinstance(node, list):
        for item in node:
            _line_ids(item, found)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _field(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return None if value is None or isinstance(value, dict | list) else _text(value)


def index_raw(events: Iterable[Mapping[str, Any]], first_seq: int = 1) -> pl.DataFrame:
    """The object index of raw CloudEvents (dicts), e.g. the store's event log."""
    rows: dict[str, list[Any]] = {name: [] for name in WIDE_SCHEMA}
    for seq, raw in enumerate(events, start=first_seq):
        data = raw.get("data")
        data = data if isinstance(data, dict) else {}
        lines: list[str] = []
        _line_ids(data, lines)
        rows["seq"].append(seq)
        rows["type"].append(raw.get("type"))
        rows["time"].append(raw.get("time"))
        rows["order_id"].append(_field(data, "order_id"))
        rows["shipment_id"].append(_field(data, "shipment_id"))
        rows["invoice_id"].append(_field(data, "invoice_id"))
        rows["line_ids"].append(lines)
    return relate(pl.DataFrame(rows, schema=WIDE_SCHEMA))


def relate(wide: pl.DataFrame) -> pl.DataFrame:
    """One row per (event, object) from one row per event (see the module docstring),
    in trace order: by object type, then object, then time, then log order; ``first``
    marks the first event of each object's trace."""
    wide = (
        wide.with_columns(
            pl.col("time").str.to_datetime(
                TIME_FORMAT, time_zone="UTC", time_unit="us", strict=False
            ),
            pl.when(pl.col("type").is_in(NOT_OURS))
            .then(None)
            .otherwise(pl.col("shipment_id"))
            .alias("shipment_id"),
        )
        .filter(pl.col("type").is_not_null() & pl.col("time").is_not_null())
        .pipe(_derive_orders)
        .sort("time", maintain_order=True)  # stable, and the rows are in log order
    )
    base: list[str | pl.Expr] = ["seq", "time", pl.col("type").alias("activity")]
    parts = [
        wide.filter(pl.col(column).is_not_null()).select(*base, pl.col(column).alias("oid"))
        for column in ("order_id", "shipment_id", "invoice_id")
    ]
    lines = (
        wide.filter(pl.col("order_id").is_not_null() & (pl.col("line_ids").list.len() > 0))
        .select(*base, "order_id", pl.col("line_ids").list.unique(maintain_order=True))
        .explode("line_ids")
        .select(
            *base[:2], "activity", pl.concat_str("order_id", pl.lit("/"), "line_ids").alias("oid")
        )
    )
    order, shipment, invoice = parts
    by_type = {"order": order, "line": lines, "shipment": shipment, "invoice": invoice}
    ordered = [  # in OBJECT_TYPES order, so the index is sorted by object type too
        _trace_order(by_type[otype]).with_columns(pl.lit(otype).alias("otype"))
        for otype in OBJECT_TYPES
    ]
    return pl.concat(ordered).select(list(INDEX_SCHEMA)).cast(INDEX_SCHEMA)  # type: ignore[arg-type]


def _trace_order(part: pl.DataFrame) -> pl.DataFrame:
    """Rows of one object type (in time, log order) grouped by object, stably.

    Grouping sorts on a 64-bit hash of the object id; should two ids ever share a hash,
    they are told apart by a full sort on the id instead."""
    oid = pl.col("oid")
    part = part.with_columns(oid.hash().alias("h")).sort("h", maintain_order=True)
    collide = ((oid != oid.shift(1)) & (pl.col("h") == pl.col("h").shift(1))).any()
    if part.select(collide).item():
        part = part.sort(["h", "oid", "time", "seq"])
    return part.with_columns((oid != oid.shift(1)).fill_null(True).alias("first")).drop("h")


def _derive_orders(wide: pl.DataFrame) -> pl.DataFrame:
    """Give events that name only a shipment or an invoice the order it belongs to."""
    derived = []
    for column, creator in (("shipment_id", "shipment.created"), ("invoice_id", "invoice.issued")):
        owner = (
            wide.filter((pl.col("type") == creator) & pl.col("order_id").is_not_null())
            .select(pl.col(column), pl.col("order_id").alias(f"order_of_{column}"))
            .unique(column, keep="first")
        )
        wide = wide.join(owner, on=column, how="left", maintain_order="left")
        derived.append(f"order_of_{column}")
    return wide.with_columns(pl.coalesce("order_id", *derived).alias("order_id")).drop(derived)


def cached_index(path: Path, cache: bool = True) -> tuple[pl.DataFrame, bool]:
    """The object index of ``path``, from ``PATH.objects.parquet`` when that was built
    from the same file (size and modification time), else built (and kept, if it can
    be written). Returns (index, whether it came from the cache)."""
    stat = path.stat()
    stamp = f"{INDEX_VERSION}:{stat.st_size}:{stat.st_mtime_ns}"
    kept = path.with_name(path.name + ".objects.parquet")
    if cache and kept.is_file() and pl.read_parquet_metadata(kept).get("unsnag.index") == stamp:
        return pl.read_parquet(kept), True
    index = index_file(path)
    if cache:
        with suppress(OSError):  # a read-only place: built again next time
            save_index(index, kept, stamp)
    return index, False


def save_index(index: pl.DataFrame, path: Path, stamp: str = INDEX_VERSION) -> None:
    partial = path.with_name(path.name + f".{os.getpid()}.part")
    index.write_parquet(partial, compression="lz4", metadata={"unsnag.index": stamp})
    partial.replace(path)


def load_index(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path)


# --- the maps ---------------------------------------------------------------------------


def _traces(index: pl.DataFrame, otype: str) -> pl.DataFrame:
    """The rows of one object type in trace order (as :func:`relate` leaves them), with
    the step before each (``prev``, ``gap``) and whether it ends its trace (``last``)."""
    rows = index.lazy().filter(pl.col("otype") == otype).select(MAP_COLUMNS[1:])
    first = pl.col("first")
    return rows.with_columns(
        pl.when(~first).then(pl.col("activity").shift(1)).alias("prev"),
        pl.when(~first).then(pl.col("time") - pl.col("time").shift(1)).alias("gap"),
        first.shift(-1, fill_value=True).alias("last"),
    ).collect()


def _seconds(column: str) -> pl.Expr:
    return (pl.col(column).dt.total_microseconds() / 1e6).round(1)


def dfg(index: pl.DataFrame, otype: str) -> dict[str, Any]:
    """The directly-follows graph of one object type (JSON-ready)."""
    return _dfg(_traces(index, otype), otype)


def _dfg(traces: pl.DataFrame, otype: str) -> dict[str, Any]:
    activities = (
        traces.group_by("activity")
        .agg(
            pl.len().alias("frequency"),
            pl.col("first").sum().alias("starts"),
            pl.col("last").sum().alias("ends"),
        )
        .with_columns(pl.col("activity").cast(pl.String))
        .sort(["frequency", "activity"], descending=[True, False])
    )
    edges = (
        traces.filter(pl.col("prev").is_not_null())
        .group_by("prev", "activity")
        .agg(
            pl.len().alias("frequency"),
            pl.col("gap").median().alias("median"),
            pl.col("gap").mean().alias("mean"),
        )
        .select(
            pl.col("prev").cast(pl.String).alias("source"),
            pl.col("activity").cast(pl.String).alias("target"),
            "frequency",
            _seconds("median").alias("median_s"),
            _seconds("mean").alias("mean_s"),
        )
        .sort(["frequency", "source", "target"], descending=[True, False, False])
    )
    return {
        "object_type": otype,
        "objects": int(traces["first"].sum()),
        "events": traces.height,
        "activities": activities.to_dicts(),
        "edges": edges.to_dicts(),
    }


def variants(index: pl.DataFrame, top: int = 20, otype: str = "order") -> dict[str, Any]:
    """The most frequent traces of ``otype`` objects, runs of one activity collapsed."""
    return _variants(_traces(index, otype), top, otype)


def _variants(traces: pl.DataFrame, top: int, otype: str) -> dict[str, Any]:
    activity = pl.col("activity").cast(pl.String)
    collapsed = (
        traces.lazy()
        .select(pl.col("first").cum_sum().alias("object"), activity, pl.col("prev").cast(pl.String))
        .filter(pl.col("prev").is_null() | (pl.col("prev") != pl.col("activity")))
    )
    per_object = collapsed.group_by("object").agg(pl.col("activity").alias("variant"))
    counted = (
        per_object.group_by("variant")
        .agg(pl.len().alias("objects"))
        .with_columns(pl.col("variant").list.join("\x1f").alias("key"))
        .sort(["objects", "key"], descending=[True, False])
        .collect()
    )
    total = int(counted["objects"].sum()) if counted.height else 0
    rows = [
        {
            "rank": rank,
            "objects": row["objects"],
            "share": round(row["objects"] / total, 4) if total else 0.0,
            "activities": row["variant"],
        }
        for rank, row in enumerate(counted.head(top).iter_rows(named=True), start=1)
    ]
    return {
        "object_type": otype,
        "objects": total,
        "distinct": counted.height,
        "top": rows,
        "top_share": round(sum(r["objects"] for r in rows) / total, 4) if total else 0.0,
    }


def process_map(
    index: pl.DataFrame,
    object_types: Sequence[str] = OBJECT_TYPES,
    top_variants: int = 20,
) -> dict[str, Any]:
    """The OC-DFG of each object type and the variants of the order flow (JSON-ready)."""
    graphs, flow = {}, None
    for otype in object_types:
        traces = _traces(index, otype)
        graphs[otype] = _dfg(traces, otype)
        if otype == "order":
            flow = _variants(traces, top_variants, otype)
    times = index["time"]
    return {
        "from": None if times.is_empty() else _iso(times.min()),
        "to": None if times.is_empty() else _iso(times.max()),
        "relations": index.height,
        "object_types": list(object_types),
        "graphs": graphs,
        "variants": flow,
    }


def _iso(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
