"""Process maps: the object-centric directly-follows graph and the order variants."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from builders import at, raw
from unsnag.intel.process_map import (
    cached_index,
    index_file,
    index_raw,
    process_map,
)
from unsnag.intel.svg import render_dfg, render_variants

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sample-events.jsonl"
SVG = "{http://www.w3.org/2000/svg}"
FLOW = ["order.created", "allocation.reserved", "pick.confirmed", "shipment.created",
        "shipment.dispatched", "invoice.issued", "payment.applied"]  # fmt: skip


def e(type_: str, minutes: float, **data: Any) -> dict[str, Any]:
    return raw(type_, data, when=at(minutes=minutes))


def lines(*ids: str) -> list[dict[str, Any]]:
    return [{"line_id": i, "sku": "BRG-1", "qty": 1, "unit_price": 1.0} for i in ids]


def log() -> list[dict[str, Any]]:
    """Three orders: SO-1 with two lines, SO-2 cancelled, SO-3 with one line; a pick
    that arrives late in the file; an inbound ASN and a stock snapshot (no objects)."""
    so1 = [
        e("order.created", 0, order_id="SO-1", customer_id="C1", lines=lines("1", "2")),
        e("allocation.reserved", 10, order_id="SO-1", line_id="1", node_id="dc", qty=1),
        e("pick.confirmed", 60, order_id="SO-1", line_id="1", node_id="dc", qty_picked=1),
        e("allocation.reserved", 20, order_id="SO-1", line_id="2", node_id="dc", qty=1),
        e("pick.confirmed", 120, order_id="SO-1", line_id="2", node_id="dc", qty_picked=1),
        e("shipment.created", 180, shipment_id="SH-1", order_id="SO-1",
          lines=[{"line_id": "1", "qty": 1}, {"line_id": "2", "qty": 1}]),
        e("shipment.dispatched", 240, shipment_id="SH-1"),
        e("invoice.issued", 300, invoice_id="IN-1", order_id="SO-1", customer_id="C1",
          amount=2, lines=[{"line_id": "1", "qty": 1}, {"line_id": "2", "qty": 1}]),
        e("payment.applied", 1740, invoice_id="IN-1", amount=2),
    ]  # fmt: skip
    so2 = [
        e("order.created", 60, order_id="SO-2", customer_id="C1", lines=lines("1")),
        e("allocation.reserved", 90, order_id="SO-2", line_id="1", node_id="dc", qty=1),
        e("order.cancelled", 120, order_id="SO-2", reason="customer"),
    ]
    so3 = [
        e("order.created", 0, order_id="SO-3", customer_id="C1", lines=lines("1")),
        e("allocation.reserved", 30, order_id="SO-3", line_id="1", node_id="dc", qty=1),
        e("pick.confirmed", 90, order_id="SO-3", line_id="1", node_id="dc", qty_picked=1),
        e("shipment.created", 150, shipment_id="SH-3", order_id="SO-3",
          lines=[{"line_id": "1", "qty": 1}]),
        e("shipment.dispatched", 250, shipment_id="SH-3"),
        e("invoice.issued", 300, invoice_id="IN-3", order_id="SO-3", customer_id="C1",
          amount=1, lines=[{"line_id": "1", "qty": 1}]),
        e("payment.applied", 2000, invoice_id="IN-3", amount=1),
    ]  # fmt: skip
    noise = [
        e("asn.received", 100, asn_id="A-1", shipment_id="SH-IN", lines=[{"sku": "X", "qty": 1}]),
        e("inventory.snapshot", 5, node_id="dc", sku="BRG-1", on_hand=3),
    ]
    return [*so1, *noise, *so2, *so3]


def edges(result: dict[str, Any], otype: str) -> dict[tuple[str, str], tuple[int, float]]:
    return {
        (edge["source"], edge["target"]): (edge["frequency"], edge["median_s"])
        for edge in result["graphs"][otype]["edges"]
    }


@pytest.fixture
def result() -> dict[str, Any]:
    return process_map(index_raw(log()))


def test_the_order_graph_has_the_known_edges_frequencies_and_medians(result):
    minutes = 60.0
    assert edges(result, "order") == {
        ("order.created", "allocation.reserved"): (3, 30 * minutes),  # 10, 30, 30
        ("allocation.reserved", "allocation.reserved"): (1, 10 * minutes),
        ("allocation.reserved", "pick.confirmed"): (2, 50 * minutes),  # 40, 60
        ("pick.confirmed", "pick.confirmed"): (1, 60 * minutes),
        ("pick.confirmed", "shipment.created"): (2, 60 * minutes),
        ("shipment.created", "shipment.dispatched"): (2, 80 * minutes),  # 60, 100
        ("shipment.dispatched", "invoice.issued"): (2, 55 * minutes),  # 60, 50
        ("invoice.issued", "payment.applied"): (2, 1570 * minutes),  # 1440, 1700
        ("allocation.reserved", "order.cancelled"): (1, 30 * minutes),
    }
    order = result["graphs"]["order"]
    assert order["objects"] == 3 and order["events"] == 19
    frequency = {a["activity"]: (a["frequency"], a["starts"], a["ends"])
                 for a in order["activities"]}  # fmt: skip
    assert frequency["allocation.reserved"] == (4, 0, 0)
    assert frequency["order.created"] == (3, 3, 0)
    assert frequency["payment.applied"] == (2, 0, 2)
    assert frequency["order.cancelled"] == (1, 0, 1)


def test_lines_shipments_and_invoices_have_their_own_graphs(result):
    minutes = 60.0
    assert edges(result, "line") == {
        ("order.created", "allocation.reserved"): (4, 25 * minutes),  # 10, 20, 30, 30
        ("allocation.reserved", "pick.confirmed"): (3, 60 * minutes),  # 50, 100, 60
        ("pick.confirmed", "shipment.created"): (3, 60 * minutes),  # 120, 60, 60
        ("shipment.created", "invoice.issued"): (3, 120 * minutes),  # 120, 120, 150
    }
    assert result["graphs"]["line"]["objects"] == 4
    # the ASN's shipment is a supplier's: not one of ours
    assert result["graphs"]["shipment"]["objects"] == 2
    assert edges(result, "shipment") == {
        ("shipment.created", "shipment.dispatched"): (2, 80 * minutes)
    }
    assert edges(result, "invoice") == {("invoice.issued", "payment.applied"): (2, 1570 * minutes)}


def test_variants_are_counted_with_runs_of_one_activity_collapsed(result):
    flow = result["variants"]
    assert (flow["objects"], flow["distinct"]) == (3, 2)
    first, second = flow["top"]
    assert first["activities"] == FLOW and first["objects"] == 2
    assert first["share"] == pytest.approx(0.6667)
    assert second["activities"] == ["order.created", "allocation.reserved", "order.cancelled"]


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    return path


def test_the_text_scan_of_a_file_gives_the_index_of_the_parsed_events(tmp_path):
    path = write_jsonl(tmp_path / "events.jsonl", log())
    assert index_file(path).equals(index_raw(log()))


def test_the_text_scan_agrees_with_parsing_on_the_sample_log(tmp_path):
    decoded = []
    for line in SAMPLE.read_text().splitlines():
        try:
            decoded.append(json.loads(line))
        except ValueError:
            continue
    path = tmp_path / "sample.jsonl"
    path.write_text("".join(json.dumps(item, separators=(",", ":")) + "\n" for item in decoded))
    assert index_file(path).equals(index_raw(decoded))


def test_the_index_is_kept_beside_the_file_and_rebuilt_when_the_file_changes(tmp_path):
    path = write_jsonl(tmp_path / "events.jsonl", log())
    built, cached = cached_index(path)
    again, cached_again = cached_index(path)
    assert (cached, cached_again) == (False, True) and again.equals(built)
    write_jsonl(path, log()[:5])
    smaller, cached_third = cached_index(path)
    assert not cached_third and smaller.height < built.height


def test_the_svg_is_well_formed_with_one_node_per_activity(result):
    for otype, graph in result["graphs"].items():
        root = ET.fromstring(render_dfg(graph))
        groups = [g for g in root.iter(f"{SVG}g") if g.get("class") == "activity"]
        names = sorted(g.find(f"{SVG}text").text for g in groups)
        assert names == sorted(a["activity"] for a in graph["activities"]), otype
        assert len(root.findall(f"{SVG}path")) == len(graph["edges"])
    chart = ET.fromstring(render_variants(result["variants"]))
    steps = [g for g in chart.iter(f"{SVG}g") if g.get("class") == "step"]
    assert len(steps) == len(FLOW) + 3


def test_an_empty_log_gives_an_empty_map():
    result = process_map(index_raw([]))
    assert result["graphs"]["order"]["edges"] == [] and result["variants"]["objects"] == 0
    ET.fromstring(render_dfg(result["graphs"]["order"]))
