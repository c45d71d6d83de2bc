"""`export_ocel`: canonical events as an OCEL 2.0 log that the standard accepts."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from builders import at, raw
from unsnag.intel.ocel_export import norm_time
from unsnag.intel.ocel_write import ExportError, export_ocel, type_map

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "tests" / "data" / "ocel" / "ocel20-schema-json.json").read_text())

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _rfc3339(text: object) -> bool:
    """RFC 3339: a full date, ``T``, a time and a zone (jsonschema skips the format
    unless an optional package is installed, so the test checks it itself)."""
    if not isinstance(text, str) or len(text) < 20 or text[10] not in "Tt":
        raise ValueError(f"not RFC 3339: {text!r}")
    if datetime.fromisoformat(text.replace("z", "Z")).tzinfo is None:
        raise ValueError(f"no time zone: {text!r}")
    return True


def validate(document: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=FORMATS)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def order_to_cash() -> list[dict[str, Any]]:
    """One order, shipped, delivered short, invoiced and paid; master data first."""
    return [
        raw("customer.upserted", {"customer_id": "C1", "tier": "gold", "credit_limit": 5000},
            when=at(-48), source="crm"),
        raw("product.upserted", {"sku": "BRG-1", "list_price": 10.0, "substitutes": ["BRG-2"]},
            when=at(-48)),
        raw("order.created", {"order_id": "SO-1", "customer_id": "C1", "channel": "edi",
            "ship_to": {"city": "Springfield", "country": "US"},
            "lines": [{"line_id": "1", "sku": "BRG-1", "qty": 10, "unit_price": 9.5},
                      {"line_id": "2", "sku": "BRG-2", "qty": 1, "unit_price": 12.0}]}),
        raw("allocation.reserved", {"order_id": "SO-1", "line_id": "1", "node_id": "dc-east",
                                    "qty": 10}, when=at(1)),
        raw("shipment.created", {"shipment_id": "SH-1", "order_id": "SO-1", "node_id": "dc-east",
            "carrier": "ups", "lines": [{"line_id": "1", "qty": 10}]}, when=at(5)),
        raw("shipment.dispatched", {"shipment_id": "SH-1", "eta": "2026-05-06T10:00:00Z"},
            when=at(6), source="carrier/ups"),
        raw("shipment.delivered", {"shipment_id": "SH-1", "discrepancies": [
            {"line_id": "1", "kind": "short", "qty": 2}]}, when=at(30), source="carrier/ups"),
        raw("invoice.issued", {"invoice_id": "INV-1", "order_id": "SO-1", "customer_id": "C1",
                               "amount": 95, "due_date": "2026-06-04"}, when=at(31)),
        raw("payment.applied", {"invoice_id": "INV-1", "amount": 95.0, "remittance_id": "RM-1"},
            when=at(days=20)),
    ]  # fmt: skip


def export_json(tmp_path: Path, events: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    out = tmp_path / "log.jsonocel"
    export_ocel(iter(events), out, **kwargs)
    return json.loads(out.read_text())


def by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


def related(item: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["objectId"], r["qualifier"]) for r in item.get("relationships", [])}


def test_the_json_export_is_valid_against_the_published_schema(tmp_path):
    document = export_json(tmp_path, order_to_cash())
    assert validate(document) == []
    assert set(document) == {"events", "objects", "eventTypes", "objectTypes"}


def test_the_schema_check_does_catch_what_the_schema_forbids():
    bad = {"events": [{"id": "e1", "type": "a", "time": "yesterday",
                       "attributes": [{"name": "n", "value": 3}]}],
           "objects": [], "eventTypes": [], "objectTypes": []}  # fmt: skip
    problems = validate(bad)
    assert any("is not a 'date-time'" in p for p in problems)
    assert any("3 is not of type 'string'" in p for p in problems)


def test_events_relate_to_their_objects_with_the_role_as_qualifier(tmp_path):
    events = by_id(export_json(tmp_path, order_to_cash())["events"])
    created = next(e for e in events.values() if e["type"] == "order.created")
    assert related(created) == {
        ("SO-1", "order"), ("C1", "customer"), ("SO-1/1", "line"), ("SO-1/2", "line"),
        ("BRG-1", "product"), ("BRG-2", "product"),
    }  # fmt: skip
    dispatched = next(e for e in events.values() if e["type"] == "shipment.dispatched")
    assert related(dispatched) == {("SH-1", "shipment"), ("SO-1", "order"), ("ups", "carrier")}
    paid = next(e for e in events.values() if e["type"] == "payment.applied")
    assert related(paid) == {("INV-1", "invoice"), ("RM-1", "remittance"), ("SO-1", "order"),
                             ("C1", "customer")}  # fmt: skip


def test_objects_relate_to_each_other(tmp_path):
    objects = by_id(export_json(tmp_path, order_to_cash())["objects"])
    assert related(objects["SO-1/1"]) == {("SO-1", "order"), ("BRG-1", "product")}
    assert related(objects["SO-1"]) == {("C1", "customer")}
    assert related(objects["SH-1"]) == {("SO-1", "order"), ("dc-east", "node"), ("ups", "carrier"),
                                        ("SO-1/1", "line")}  # fmt: skip
    assert related(objects["INV-1"]) == {("SO-1", "order"), ("C1", "customer")}
    assert related(objects["RM-1"]) == {("INV-1", "invoice")}
    assert related(objects["BRG-1"]) == {("BRG-2", "substitute")}
    kinds = {o["type"] for o in objects.values()}
    assert kinds == {"order", "line", "customer", "product", "node", "shipment", "carrier",
                     "invoice", "remittance"}  # fmt: skip


def test_payload_scalars_are_event_attributes_and_the_rest_is_json_text(tmp_path):
    document = export_json(tmp_path, order_to_cash())
    created = next(e for e in document["events"] if e["type"] == "order.created")
    attrs = {a["name"]: a["value"] for a in created["attributes"]}
    assert attrs["order_id"] == "SO-1" and attrs["channel"] == "edi"
    assert attrs["ce:source"] == "erp"
    assert json.loads(attrs["ship_to:json"]) == {"city": "Springfield", "country": "US"}
    assert json.loads(attrs["lines:json"])[1]["unit_price"] == 12.0
    declared = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]}
                for t in document["eventTypes"]}  # fmt: skip
    assert declared["invoice.issued"]["amount"] == "integer"
    assert declared["payment.applied"]["amount"] == "float"
    assert declared["customer.upserted"]["credit_limit"] == "integer"


def test_object_attributes_are_time_stamped_and_record_changes(tmp_path):
    objects = by_id(export_json(tmp_path, order_to_cash())["objects"])
    line = {(a["name"], a["value"]) for a in objects["SO-1/2"]["attributes"]}
    assert line == {("line_id", "2"), ("sku", "BRG-2"), ("qty", "1"), ("unit_price", "12.0")}
    status = [(a["time"], a["value"]) for a in objects["SH-1"]["attributes"]
              if a["name"] == "status"]  # fmt: skip
    assert [value for _, value in status] == ["created", "dispatched", "delivered"]
    assert status[0][0] == "2026-05-04T13:00:00Z"


def test_a_key_naming_objects_of_two_types_keeps_them_apart(tmp_path):
    events = [
        raw("node.upserted", {"node_id": "east"}),
        raw("shipment.created", {"shipment_id": "S1", "order_id": "O1", "carrier": "east"}),
    ]
    objects = by_id(export_json(tmp_path, events)["objects"])
    assert objects["east"]["type"] == "node" and objects["carrier:east"]["type"] == "carrier"


def test_repeats_and_non_events_are_skipped_and_counted(tmp_path):
    events = order_to_cash()
    report = export_ocel(iter([*events, events[2], "junk", {"type": "x"}]), tmp_path / "l.json")
    assert (report.events, report.duplicates, report.skipped) == (len(events), 1, 2)


def test_the_exporter_reads_its_events_once_from_any_iterable(tmp_path):
    def stream():
        yield from order_to_cash()

    report = export_ocel(stream(), tmp_path / "l.json")
    assert report.events == len(order_to_cash())


def case(**fields: Any) -> dict[str, Any]:
    base = {
        "id": "C-1",
        "type": "delivery.discrepancy",
        "status": "resolved",
        "subject": "SO-1",
        "refs": {"order_id": "SO-1", "shipment_id": "SH-1", "line_id": "1"},
        "priority": 50.0,
        "owner_team": "customer_service",
        "rule": "delivery-discrepancy",
        "opened_at": "2026-05-05T14:00:00Z",
        "closed_at": "2026-05-24T08:00:00Z",
        "timeline": [
            {"at": "2026-05-05T14:00:00Z", "what": "opened", "note": ""},
            {"at": "2026-05-24T08:00:00Z", "what": "resolved", "note": ""},
        ],
    }
    return base | fields  # fmt: skip


def test_cases_are_objects_linked_to_their_objects_and_events(tmp_path):
    document = export_json(tmp_path, order_to_cash(), cases=[case()])
    assert validate(document) == []
    objects = by_id(document["objects"])
    assert objects["C-1"]["type"] == "case"
    assert related(objects["C-1"]) == {("SO-1", "order"), ("SH-1", "shipment"),
                                       ("SO-1/1", "line")}  # fmt: skip
    statuses = [a["value"] for a in objects["C-1"]["attributes"] if a["name"] == "status"]
    assert statuses == ["open", "resolved"]
    linked = {(e["type"], q) for e in document["events"] for o, q in related(e) if o == "C-1"}
    assert linked == {("shipment.delivered", "opened case"), ("payment.applied", "resolved case")}


def test_event_times_are_rfc3339_utc():
    assert norm_time("2026-05-04T10:00:00+02:00") == "2026-05-04T08:00:00Z"
    assert norm_time("2026-05-04T10:00:00.250Z") == "2026-05-04T10:00:00.250000Z"
    assert norm_time("2026-05-04T10:00:00Z") == "2026-05-04T10:00:00Z"


def test_the_format_comes_from_the_extension_or_is_asked_for(tmp_path):
    with pytest.raises(ExportError, match="cannot tell the format"):
        export_ocel(iter(order_to_cash()), tmp_path / "log.txt")
    report = export_ocel(iter(order_to_cash()), tmp_path / "log.txt", fmt="sqlite")
    assert report.format == "sqlite"
    with pytest.raises(ExportError, match="unknown format 'xml'"):
        export_ocel(iter(()), tmp_path / "log.json", fmt="xml")


# --- the SQLite flavour, against the relational format of the standard (section 6) ---


def sqlite_export(tmp_path: Path, events: list[dict[str, Any]]) -> sqlite3.Connection:
    out = tmp_path / "log.sqlite"
    export_ocel(iter(events), out)
    return sqlite3.connect(out)


def columns(conn: sqlite3.Connection, table: str) -> dict[str, tuple[str, int]]:
    rows = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    return {row[1]: (row[2], row[5]) for row in rows}


def foreign_keys(conn: sqlite3.Connection, table: str) -> set[tuple[str, str, str]]:
    rows = conn.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()
    return {(row[3], row[2], row[4]) for row in rows}  # (from, table, to)


def test_the_sqlite_flavour_has_the_tables_keys_and_foreign_keys_of_the_standard(tmp_path):
    conn = sqlite_export(tmp_path, order_to_cash())
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    core = {"event", "object", "event_object", "object_object", "event_map_type",
            "object_map_type"}  # fmt: skip
    assert core <= tables
    event_maps = dict(conn.execute("SELECT ocel_type, ocel_type_map FROM event_map_type"))
    object_maps = dict(conn.execute("SELECT ocel_type, ocel_type_map FROM object_map_type"))
    assert event_maps["order.created"] == "OrderCreated"
    per_type = {f"event_{m}" for m in event_maps.values()} | {
        f"object_{m}" for m in object_maps.values()
    }
    assert tables == core | per_type  # one table per type, and nothing else
    assert columns(conn, "event_map_type")["ocel_type"][1] == 1
    assert columns(conn, "object_map_type")["ocel_type"][1] == 1
    assert columns(conn, "event")["ocel_id"][1] == 1 and columns(conn, "object")["ocel_id"][1] == 1
    pk = {name for name, (_, key) in columns(conn, "event_object").items() if key}
    assert pk == {"ocel_event_id", "ocel_object_id", "ocel_qualifier"}
    pk = {name for name, (_, key) in columns(conn, "object_object").items() if key}
    assert pk == {"ocel_source_id", "ocel_target_id", "ocel_qualifier"}
    assert foreign_keys(conn, "event") == {("ocel_type", "event_map_type", "ocel_type")}
    assert foreign_keys(conn, "object") == {("ocel_type", "object_map_type", "ocel_type")}
    assert foreign_keys(conn, "event_object") == {
        ("ocel_event_id", "event", "ocel_id"),
        ("ocel_object_id", "object", "ocel_id"),
    }
    assert foreign_keys(conn, "object_object") == {
        ("ocel_source_id", "object", "ocel_id"),
        ("ocel_target_id", "object", "ocel_id"),
    }
    for mapped in event_maps.values():
        cols = columns(conn, f"event_{mapped}")
        assert cols["ocel_id"][1] == 1 and cols["ocel_time"][0] == "TIMESTAMP"
        assert foreign_keys(conn, f"event_{mapped}") == {("ocel_id", "event", "ocel_id")}
    for mapped in object_maps.values():
        cols = columns(conn, f"object_{mapped}")
        assert cols["ocel_time"][0] == "TIMESTAMP" and "ocel_changed_field" in cols
        assert foreign_keys(conn, f"object_{mapped}") == {("ocel_id", "object", "ocel_id")}


def test_the_sqlite_flavour_is_referentially_whole(tmp_path):
    conn = sqlite_export(tmp_path, order_to_cash())
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("SELECT COUNT(*) FROM event").fetchone()[0] == len(order_to_cash())
    maps = conn.execute("SELECT ocel_type_map FROM event_map_type").fetchall()
    per_type = sum(conn.execute(f'SELECT COUNT(*) FROM "event_{m}"').fetchone()[0] for (m,) in maps)
    assert per_type == len(order_to_cash())


def test_sqlite_objects_start_at_the_epoch_and_then_change_field_by_field(tmp_path):
    conn = sqlite_export(tmp_path, order_to_cash())
    rows = conn.execute(
        "SELECT ocel_time, status, carrier, ocel_changed_field FROM object_Shipment"
        " WHERE ocel_id = 'SH-1' ORDER BY ocel_time"
    ).fetchall()
    assert rows == [
        ("1970-01-01 00:00:00", "created", "ups", None),
        ("2026-05-04 14:00:00", "dispatched", None, "status"),
        ("2026-05-05 14:00:00", "delivered", None, "status"),
    ]
    types = {name: kind for name, (kind, _) in columns(conn, "event_InvoiceIssued").items()}
    assert types["amount"] == "INTEGER" and types["due_date"] == "TEXT"


def test_mixed_attribute_types_are_declared_by_their_widest_type(tmp_path):
    events = [raw("payment.applied", {"invoice_id": "I1", "amount": 10}),
              raw("payment.applied", {"invoice_id": "I2", "amount": 10.5})]  # fmt: skip
    conn = sqlite_export(tmp_path, events)
    assert columns(conn, "event_PaymentApplied")["amount"][0] == "REAL"
    values = conn.execute("SELECT amount FROM event_PaymentApplied ORDER BY amount").fetchall()
    assert values == [(10.0,), (10.5,)]


def test_type_names_map_injectively_to_table_names():
    mapped = type_map(["order.created", "Order Created", "ordercreated", "pay order", "!!"])
    assert len(set(m.casefold() for m in mapped.values())) == 5
    assert mapped["pay order"] == "PayOrder" and mapped["!!"] == "Type"
