"""Reading OCEL 2.0 logs and mapping them to canonical events."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from test_ocel_export import order_to_cash

from unsnag.events import parse_event
from unsnag.intel.ocel_import import map_log
from unsnag.intel.ocel_model import load_mapping, mapping_from_data
from unsnag.intel.ocel_read import OcelError, read_ocel
from unsnag.intel.ocel_write import export_ocel

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "examples" / "sample-events.jsonl"

# A small shop in the XML flavour, shaped like the public "Order Management" log: an
# order of two items, one out of stock, packed with an item of another order.
SHOP_XML = """<?xml version="1.0" encoding="UTF-8"?>
<log>
  <object-types>
    <object-type name="orders"><attributes><attribute name="price" type="float"/></attributes>
    </object-type>
    <object-type name="items"><attributes><attribute name="price" type="float"/></attributes>
    </object-type>
    <object-type name="products"><attributes/></object-type>
    <object-type name="customers"><attributes/></object-type>
    <object-type name="packages"><attributes/></object-type>
  </object-types>
  <event-types>
    <event-type name="place order"><attributes>
      <attribute name="rush" type="boolean"/><attribute name="n" type="integer"/>
    </attributes></event-type>
    <event-type name="item out of stock"><attributes/></event-type>
    <event-type name="create package"><attributes/></event-type>
    <event-type name="coffee break"><attributes/></event-type>
  </event-types>
  <objects>
    <object id="o1" type="orders">
      <attributes><attribute name="price" time="2024-01-01T09:00:00+01:00">30</attribute>
      </attributes>
      <objects><relationship object-id="i1" qualifier="comprises"/>
               <relationship object-id="i2" qualifier="comprises"/></objects>
    </object>
    <object id="o2" type="orders">
      <objects><relationship object-id="i3" qualifier="comprises"/></objects>
    </object>
    <object id="i1" type="items">
      <attributes><attribute name="price" time="2024-01-01T08:00:00Z">10</attribute>
                  <attribute name="price" time="2024-01-03T08:00:00Z">11</attribute></attributes>
      <objects><relationship object-id="Kindle" qualifier="is a"/></objects>
    </object>
    <object id="i2" type="items">
      <attributes><attribute name="price" time="2024-01-01T08:00:00Z">20</attribute></attributes>
      <objects><relationship object-id="Echo" qualifier="is a"/></objects>
    </object>
    <object id="i3" type="items"><objects>
      <relationship object-id="Echo" qualifier="is a"/></objects></object>
    <object id="Kindle" type="products"/>
    <object id="Echo" type="products"/>
    <object id="ACME" type="customers">
      <objects><relationship object-id="o1" qualifier="places"/></objects></object>
    <object id="p1" type="packages"/>
  </objects>
  <events>
    <event id="e1" type="place order" time="2024-01-01T09:00:00Z">
      <attributes><attribute name="rush">true</attribute><attribute name="n">2</attribute>
      </attributes>
      <objects><relationship object-id="o1" qualifier="order"/>
        <relationship object-id="ACME" qualifier="customer"/>
        <relationship object-id="i1" qualifier="item"/>
        <relationship object-id="i2" qualifier="item"/></objects>
    </event>
    <event id="e3" type="create package" time="2024-01-04T10:00:00Z">
      <attributes/>
      <objects><relationship object-id="p1" qualifier="creates"/>
        <relationship object-id="i1" qualifier="item"/>
        <relationship object-id="i3" qualifier="item"/></objects>
    </event>
    <event id="e2" type="item out of stock" time="2024-01-02T09:00:00Z">
      <attributes/><objects><relationship object-id="i2" qualifier="item"/></objects>
    </event>
    <event id="e4" type="coffee break" time="2024-01-05T10:00:00Z">
      <attributes/><objects/>
    </event>
  </events>
</log>
"""

SHOP_MAPPING: dict[str, Any] = {
    "name": "shop",
    "source": "erp",
    "activities": {
        "place order": [{
            "type": "order.created",
            "subject": {"id": "orders"},
            "data": {
                "order_id": {"id": "orders"},
                "customer_id": {"id": "customers"},
                "rush": {"attr": "rush"},
                "lines": {"for_each": "items", "fields": {
                    "line_id": {"id": "."}, "sku": {"id": ".>products"}, "qty": 1,
                    "unit_price": {"attr": "price", "of": "."}}},
            },
        }],
        "item out of stock": [{
            "type": "allocation.failed",
            "data": {"order_id": {"id": "items<orders"}, "line_id": {"id": "items"},
                     "due": {"ocel": "time", "add_days": 15}},
        }],
        "create package": [{
            "type": "shipment.created",
            "for_each": "items<orders",
            "data": {
                "shipment_id": {"format": "{}/{}", "args": [{"id": "packages"}, {"id": "."}]},
                "order_id": {"id": "."},
                "lines": {"for_each": ".>items", "in_event": True,
                          "fields": {"line_id": {"id": "."}}},
            },
        }],
    },
}  # fmt: skip


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.xml"
    path.write_text(SHOP_XML)
    return path


def shop_events(shop: Path, **changes: Any) -> tuple[list[dict[str, Any]], Any]:
    return map_log(mapping_from_data(SHOP_MAPPING | changes, "shop"), read_ocel(shop))


# --- reading ---------------------------------------------------------------------------


def test_the_xml_flavour_is_read_with_types_relations_and_attribute_history(shop):
    log = read_ocel(shop)
    assert log.flavour == "xml"
    assert [e.id for e in log.events] == ["e1", "e3", "e2", "e4"]
    assert log.events[0].attrs == {"rush": True, "n": 2}
    assert log.objects["o1"].rel == [("i1", "comprises"), ("i2", "comprises")]
    assert [v for _, v in log.objects["i1"].attrs["price"]] == [10.0, 11.0]
    assert log.reverse["i1"] == [("o1", "comprises")]
    assert log.event_types["place order"] == {"rush": "boolean", "n": "integer"}


def test_an_object_attribute_is_read_as_it_stood_at_a_moment(shop):
    item = read_ocel(shop).objects["i1"]
    event_times = {e.id: e.time for e in read_ocel(shop).events}
    assert item.attr_at("price", event_times["e1"]) == 10.0
    assert item.attr_at("price", event_times["e3"]) == 11.0


def test_a_gzipped_log_is_read_like_a_plain_one(shop, tmp_path):
    packed = tmp_path / "shop.xml.gz"
    packed.write_bytes(gzip.compress(shop.read_bytes()))
    assert len(read_ocel(packed).events) == 4


@pytest.mark.parametrize("flavour", ["json", "sqlite"])
def test_the_json_and_sqlite_flavours_read_back_what_was_exported(tmp_path, flavour):
    out = tmp_path / f"log.{flavour}"
    export_ocel(iter(order_to_cash()), out)
    log = read_ocel(out)
    assert log.flavour == flavour
    assert len(log.events) == len(order_to_cash())
    assert ("SO-1", "order") in log.objects["SO-1/1"].rel
    created = next(e for e in log.events if e.type == "order.created")
    assert created.attrs["order_id"] == "SO-1" and created.attrs["ce:source"] == "erp"
    issued = next(e for e in log.events if e.type == "invoice.issued")
    assert issued.attrs["amount"] == 95 and isinstance(issued.attrs["amount"], int)
    status = log.objects["SH-1"].attrs["status"]
    assert [v for _, v in status] == ["created", "dispatched", "delivered"]


# --- mapping -----------------------------------------------------------------------------


def test_a_mapping_turns_activities_into_canonical_events(shop):
    events, report = shop_events(shop)
    assert [e["type"] for e in events] == ["order.created", "allocation.failed",
                                           "shipment.created", "shipment.created"]  # fmt: skip
    created = events[0]
    assert created["id"] == "e1" and created["source"] == "erp" and created["subject"] == "o1"
    assert created["time"] == "2024-01-01T09:00:00Z"
    assert created["data"] == {
        "order_id": "o1", "customer_id": "ACME", "rush": True,
        "lines": [{"line_id": "i1", "sku": "Kindle", "qty": 1, "unit_price": 10.0},
                  {"line_id": "i2", "sku": "Echo", "qty": 1, "unit_price": 20.0}],
    }  # fmt: skip
    for event in events:
        parse_event(event)  # every output passes the contract
    assert report.events == 4 and report.by_type["shipment.created"] == 2


def test_backward_paths_find_the_owner_and_times_can_be_shifted(shop):
    failed = shop_events(shop)[0][1]
    assert failed["data"] == {"order_id": "o1", "line_id": "i2", "due": "2024-01-17T09:00:00Z"}


def test_for_each_emits_one_event_per_object_and_in_event_keeps_the_events_own(shop):
    shipments = [e for e in shop_events(shop)[0] if e["type"] == "shipment.created"]
    assert [(s["id"], s["data"]) for s in shipments] == [
        ("e3/o1", {"shipment_id": "p1/o1", "order_id": "o1", "lines": [{"line_id": "i1"}]}),
        ("e3/o2", {"shipment_id": "p1/o2", "order_id": "o2", "lines": [{"line_id": "i3"}]}),
    ]


def test_output_is_sorted_by_time_whatever_the_log_order(shop):
    times = [e["time"] for e in shop_events(shop)[0]]
    assert times == sorted(times)


def test_an_unmapped_activity_is_a_dead_letter_not_a_crash(shop):
    _, report = shop_events(shop)
    assert [(d.ocel_id, d.reason) for d in report.dead_letters] == [
        ("e4", "no mapping for activity 'coffee break'")
    ]
    assert report.to_dict()["dead_letter_reasons"] == {
        "coffee break: no mapping for activity 'coffee break'": 1
    }


def test_ignored_activities_are_counted_apart(shop):
    _, report = shop_events(shop, ignore=["coffee break"])
    assert report.dead_letters == [] and report.ignored == 1


def test_a_required_field_the_log_lacks_is_a_dead_letter_with_the_contract_reason(shop):
    activities = dict(SHOP_MAPPING["activities"])
    activities["coffee break"] = [
        {"type": "order.cancelled", "data": {"order_id": {"id": "orders"}}}
    ]
    events, report = shop_events(shop, activities=activities)
    assert len(events) == 4
    [dead] = report.dead_letters
    assert (dead.ocel_id, dead.type, dead.field) == ("e4", "order.cancelled", "data.order_id")
    assert "Field required" in dead.reason


def test_emissions_that_collide_on_id_are_refused_not_silently_merged(shop):
    activities = dict(SHOP_MAPPING["activities"])
    activities["create package"] = [
        {"type": "shipment.created", "id": {"ocel": "id"}, "for_each": "items<orders",
         "data": {"shipment_id": {"id": "."}, "order_id": {"id": "."}}}
    ]  # fmt: skip
    _, report = shop_events(shop, activities=activities)
    assert any("duplicate id 'e3'" in d.reason for d in report.dead_letters)


def test_a_for_each_that_finds_nothing_is_a_dead_letter(shop):
    activities = dict(SHOP_MAPPING["activities"])
    activities["coffee break"] = [{"type": "order.updated", "for_each": "orders",
                                   "data": {"order_id": {"id": "."}}}]  # fmt: skip
    _, report = shop_events(shop, activities=activities)
    assert report.dead_letters[0].reason == "for_each 'orders' finds no object"


# --- round trip ---------------------------------------------------------------------------


def sample_events() -> list[dict[str, Any]]:
    """The sample file's valid events (it ends with bad lines on purpose)."""
    events = []
    for line in SAMPLE.read_bytes().splitlines():
        try:
            raw = orjson.loads(line)
            parse_event(raw)
        except Exception:
            continue
        events.append(raw)
    return events


def canonical(raws: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    out = {}
    for raw in raws:
        event = parse_event(raw)
        out.setdefault(event.key, (event.type, event.time, event.subject, event.data))
    return out


@pytest.mark.parametrize("flavour", ["json", "sqlite"])
def test_export_then_import_with_the_unsnag_mapping_gives_back_the_same_events(tmp_path, flavour):
    original = sample_events()
    out = tmp_path / f"log.{flavour}"
    export_ocel(iter(original), out)
    events, report = map_log(load_mapping("unsnag"), read_ocel(out))
    assert report.dead_letters == []
    assert canonical(events) == canonical(original)
    assert len(events) == len(canonical(original))


def test_a_round_trip_keeps_fields_unknown_to_the_contract(tmp_path):
    extra = order_to_cash()
    extra[2]["data"]["gift_note"] = "happy birthday"
    extra[2]["data"]["tags"] = ["rush", "b2b"]
    out = tmp_path / "log.json"
    export_ocel(iter(extra), out)
    events, _ = map_log(load_mapping("unsnag"), read_ocel(out))
    created = next(e for e in events if e["type"] == "order.created")
    assert created["data"]["gift_note"] == "happy birthday"
    assert created["data"]["tags"] == ["rush", "b2b"]


# --- bad input -----------------------------------------------------------------------------


def test_a_file_that_is_no_ocel_log_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(OcelError, match=r"not an OCEL 2\.0 log"):
        read_ocel(path)


def test_truncated_xml_is_refused_with_the_parser_position(shop, tmp_path):
    cut = tmp_path / "cut.xml"
    cut.write_text(SHOP_XML[: len(SHOP_XML) // 2])
    with pytest.raises(OcelError, match=r"not well-formed XML \(.*line \d+"):
        read_ocel(cut)


def test_a_truncated_gzip_is_refused(shop, tmp_path):
    cut = tmp_path / "cut.xml.gz"
    cut.write_bytes(gzip.compress(SHOP_XML.encode())[:200])
    with pytest.raises(OcelError, match="cannot read"):
        read_ocel(cut)


def test_xml_that_is_not_an_ocel_log_is_refused(tmp_path):
    path = tmp_path / "other.xml"
    path.write_text("<invoice><line/></invoice>")
    with pytest.raises(OcelError, match=r"root element <invoice>, expected <log>"):
        read_ocel(path)


def test_json_without_the_ocel_arrays_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"events": [], "objects": []}))
    with pytest.raises(OcelError, match="missing eventTypes, objectTypes"):
        read_ocel(path)
    path.write_text(json.dumps({"ocel:global-log": {}, "ocel:events": {}}))
    with pytest.raises(OcelError, match=r"OCEL 1\.0"):
        read_ocel(path)
    path.write_text('{"events": [')
    with pytest.raises(OcelError, match="not valid JSON"):
        read_ocel(path)


def test_a_sqlite_file_without_the_ocel_tables_is_refused(tmp_path):
    import sqlite3

    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE event (id TEXT)")
    with pytest.raises(OcelError, match="missing tables object, event_object"):
        read_ocel(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(OcelError, match="no such file"):
        read_ocel(tmp_path / "nope.xml")
