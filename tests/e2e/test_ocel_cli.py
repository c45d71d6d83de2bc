"""`unsnag export ocel` and `unsnag import ocel` as a user runs them."""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from test_cli import SAMPLE, read_jsonl, unsnag

from unsnag.events import parse_event

ROOT = Path(__file__).resolve().parents[2]
ORDER_MANAGEMENT = ROOT.parent / "shared" / "data" / "ocel" / "order-management.xml.gz"


def canonical(raws: list[dict]) -> dict:
    out = {}
    for raw in raws:
        event = parse_event(raw)
        out.setdefault(event.key, (event.type, event.time, event.subject, event.data))
    return out


def sample_events() -> list[dict]:
    events = []
    for line in SAMPLE.read_text().splitlines():
        try:
            raw = json.loads(line)
            parse_event(raw)
        except Exception:
            continue
        events.append(raw)
    return events


def test_the_store_goes_out_as_ocel_and_comes_back_as_the_same_events(tmp_path):
    env = {"UNSNAG_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    assert unsnag("ingest", str(SAMPLE), env=env).returncode == 0
    for name in ("log.jsonocel", "log.sqlite"):
        out = tmp_path / name
        result = unsnag("export", "ocel", "--out", str(out), env=env)
        assert result.returncode == 0, result.stderr
        assert "as OCEL 2.0" in result.stdout and "events/s" in result.stdout
        back = tmp_path / f"{name}.events.jsonl"
        result = unsnag("import", "ocel", str(out), "--mapping", "unsnag", "--out", str(back))
        assert result.returncode == 0, result.stderr
        assert "0 dead letters" in result.stdout
        assert canonical(read_jsonl(back)) == canonical(sample_events())


def test_the_export_format_can_be_forced(tmp_path):
    env = {"UNSNAG_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    assert unsnag("ingest", str(SAMPLE), env=env).returncode == 0
    out = tmp_path / "log.ocel"
    result = unsnag(
        "export", "ocel", "--out", str(out), "--format", "sqlite", "--no-cases", env=env
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"SQLite format 3\x00")
    assert "0 cases" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello, not a log", "not an OCEL 2.0 log"),
        (b'<?xml version="1.0"?><log><object-types><object-type name="a">', "not well-formed XML"),
        (b'{"events": []}', "not an OCEL 2.0 JSON log (missing eventTypes"),
    ],
    ids=["not-ocel", "truncated-xml", "json-without-arrays"],
)
def test_a_bad_log_is_one_red_line_and_exit_1(tmp_path, content, message):
    path = tmp_path / "input.xml"
    path.write_bytes(content)
    result = unsnag("import", "ocel", str(path), "--mapping", "unsnag",
                    "--out", str(tmp_path / "out.jsonl"))  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error:") and message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_mapping_is_one_red_line_and_exit_1(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("name: m\nsource: erp\nactivities:\n  a:\n    - type: Order\n"
                       "      data: {order_id: 1}\n")  # fmt: skip
    result = unsnag("import", "ocel", str(SAMPLE), "--mapping", str(mapping),
                    "--out", str(tmp_path / "o.jsonl"))  # fmt: skip
    assert result.returncode == 1
    assert "activities.a.0" in result.stderr and "is not an event type" in result.stderr


def test_an_export_to_an_unknown_extension_asks_for_a_format(tmp_path):
    env = {"UNSNAG_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    result = unsnag("export", "ocel", "--out", str(tmp_path / "log.txt"), env=env)
    assert result.returncode == 1 and "--format json|sqlite" in result.stderr


# --- the public "Order Management" log ----------------------------------------------------


def what_the_log_implies(path: Path) -> dict[str, set[str]]:
    """Read the log with plain ElementTree (independently of unsnag's reader) and derive
    the orders, packages and payments that should become cases."""
    with gzip.open(path) as handle:
        root = ET.parse(handle).getroot()
    types = {o.get("id"): o.get("type") for o in root.iter("object") if o.get("type")}
    order_of: dict[str, str] = {}
    packed: dict[str, set[str]] = defaultdict(set)
    for obj in root.find("objects"):
        for rel in obj.iter("relationship"):
            if obj.get("type") == "orders":
                order_of[rel.get("object-id")] = obj.get("id")
            if obj.get("type") == "packages" and types.get(rel.get("object-id")) == "items":
                packed[obj.get("id")].add(rel.get("object-id"))
    implied: dict[str, set[str]] = defaultdict(set)
    when: dict[tuple[str, str], datetime] = {}
    for event in root.find("events"):
        kind, time = event.get("type"), datetime.fromisoformat(event.get("time"))
        objects = [
            (r.get("object-id"), types.get(r.get("object-id"))) for r in event.iter("relationship")
        ]
        orders = {oid for oid, t in objects if t == "orders"}
        items = {oid for oid, t in objects if t == "items"}
        if kind == "item out of stock":
            implied["out of stock items"] |= items
            implied["orders with an item out of stock"] |= {order_of[i] for i in items}
        elif kind == "failed delivery":
            implied["packages with a failed delivery"] |= {o for o, t in objects if t == "packages"}
        elif kind == "payment reminder":
            implied["orders with a payment reminder"] |= orders
        elif kind in ("confirm order", "pay order"):
            when.update({(kind, order): time for order in orders})
    implied["orders in failed packages"] = {
        order_of[item] for p in implied["packages with a failed delivery"] for item in packed[p]
    }
    implied["orders paid over 20 days after confirmation"] = {
        order for (kind, order), time in when.items()
        if kind == "pay order" and time - when[("confirm order", order)] > timedelta(days=20)
    }  # fmt: skip
    return implied


def shipment_ids(case: dict) -> list[str]:
    value = case["refs"]["shipment_id"]
    return value if isinstance(value, list) else [value]


@pytest.mark.slow
@pytest.mark.skipif(not ORDER_MANAGEMENT.is_file(), reason="needs ../shared/data/ocel")
def test_unsnag_finds_the_order_management_logs_stock_outs_failed_deliveries_and_late_payments(
    tmp_path,
):
    events = tmp_path / "events.jsonl"
    result = unsnag("import", "ocel", str(ORDER_MANAGEMENT), "--mapping", "order-management",
                    "--out", str(events))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "21,008 OCEL events" in result.stdout and "0 dead letters" in result.stdout
    result = unsnag("replay", str(events), "--out", str(tmp_path / "replay"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "replay" / "summary.json").read_text())
    assert summary["refused"] == 0
    cases = defaultdict(list)
    for case in read_jsonl(tmp_path / "replay" / "cases.jsonl"):
        cases[case["type"]].append(case)
    log = what_the_log_implies(ORDER_MANAGEMENT)

    # Stock-outs: one allocation.shortage per line out of stock, in exactly the orders
    # that had an item out of stock.
    shortages = cases["allocation.shortage"]
    assert {c["subject"] for c in shortages} == log["orders with an item out of stock"]
    assert len(shortages) == len(log["out of stock items"])

    # Failed deliveries: a package carries several orders' items, and unsnag keeps one
    # shipment.failed case per order whose goods failed to arrive; every package with a
    # failed delivery is in a case, and no other.
    failed = cases["shipment.failed"]
    packages = {sid.split("/")[0] for c in failed for sid in shipment_ids(c)}
    assert packages == log["packages with a failed delivery"]
    assert {c["subject"] for c in failed} == log["orders in failed packages"]

    # Late payments: every order the log reminded is overdue; the others unsnag finds are
    # the orders paid more than 20 days after confirmation (the log's own reminder
    # threshold) that the log never reminded.
    overdue = {c["subject"] for c in cases["payment.overdue"]}
    reminded = log["orders with a payment reminder"]
    assert reminded <= overdue
    assert overdue - reminded == log["orders paid over 20 days after confirmation"] - reminded
    assert len(cases["payment.overdue"]) == len(overdue)
