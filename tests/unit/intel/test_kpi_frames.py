"""Reading the event log into the events frame: by kind of event, in chunks."""

from __future__ import annotations

import orjson
from test_kpi_support import at, event, order

from unsnag.intel import frames

EVENTS = [
    order("SO-1", at(1), "C-1", [("SKU-A", 2), ("SKU-B", 3)], channel="portal",
          ship_to={"region": "TX"}, requested_delivery_date="2026-05-06"),
    event("allocation.reserved", at(1, 1), "SO-1", order_id="SO-1", line_id="1",
          node_id="dc-east", qty=2),
    event("pick.confirmed", at(1, 2), "SO-1", "wms", order_id="SO-1", line_id="1",
          node_id="dc-east", qty_picked=2),
    event("invoice.issued", at(2), "SO-1", "finance", invoice_id="I-1", order_id="SO-1",
          customer_id="C-1", amount="12.50"),
]  # fmt: skip


def text(events) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


def test_fields_are_read_where_metrics_need_them_and_numbers_may_be_text():
    read = frames.read_events(text(EVENTS)).sort("time")
    created, reserved, picked, invoiced = read.iter_rows(named=True)
    assert (created["line_count"], created["qty"], created["skus"]) == (2, 5.0, ["SKU-A", "SKU-B"])
    assert (created["channel"], created["region"]) == ("portal", "TX")
    assert created["requested_delivery_at"] == at(6, 23, 59).replace(second=59)  # a date: its end
    assert (reserved["order_id"], reserved["node_id"]) == ("SO-1", "dc-east")
    assert (picked["type"], picked["order_id"], picked["system"]) == ("pick.confirmed", None, "wms")
    assert invoiced["amount"] == 12.5


def test_a_nested_type_key_does_not_fool_the_split():
    tricky = event("invoice.issued", at(3), "SO-2", "finance", invoice_id="I-2", order_id="SO-2",
                   customer_id="C-1", amount=5)  # fmt: skip
    line = b'{"data":{"type":"pick.confirmed","invoice_id":"I-2","order_id":"SO-2",' \
           b'"customer_id":"C-1","amount":5},"specversion":"1.0","id":"x","source":"finance",' \
           b'"type":"invoice.issued","time":"2026-05-03T00:00:00Z","subject":"SO-2"}\n'  # fmt: skip
    read = frames.read_events(line)
    assert read["type"].to_list() == [tricky["type"]]
    assert read["invoice_id"].to_list() == ["I-2"]


def test_chunks_give_the_same_frame(monkeypatch):
    whole = frames.read_events(text(EVENTS)).sort("time", "type")
    monkeypatch.setattr(frames, "CHUNK_LINES", 1)
    seen: list[int] = []
    chunked = frames.read_events(text(EVENTS), seen.append).sort("time", "type")
    assert chunked.equals(whole)
    assert seen[-1] == len(text(EVENTS)) and len(seen) == len(EVENTS) + 1


def test_an_empty_log_is_an_empty_frame_of_the_schema():
    assert frames.read_events(b"").schema == frames.EVENT_SCHEMA
