"""Working a case from the terminal: show, approve (and be refused), act, dispatch the
outbox, verify the audit chain — and catch a tampered entry. Real SQLite, subprocesses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from test_cli import unsnag

T = "2026-05-04T{}Z"


def event(event_id: str, type_: str, when: str, data: dict, source: str = "erp") -> str:
    envelope = {"specversion": "1.0", "id": event_id, "source": source, "type": type_,
                "time": T.format(when), "subject": data.get("order_id"), "data": data}  # fmt: skip
    return json.dumps(envelope)


def order(oid: str, when: str, qty: int) -> str:
    line = {"line_id": "1", "sku": "BRG-6204", "qty": qty, "unit_price": 10.0}
    data = {"order_id": oid, "customer_id": "C1", "po_number": f"PO-{oid}", "lines": [line],
            "promised_ship_date": "2026-05-08"}  # fmt: skip
    return event(f"e-{oid}", "order.created", when, data)


def scenario(path: Path) -> None:
    lines = [
        event("e-c1", "customer.upserted", "06:00:00",
              {"customer_id": "C1", "tier": "gold", "credit_limit": 1e6}, source="crm"),
        event("e-p1", "product.upserted", "06:00:00",
              {"sku": "BRG-6204", "unit_cost": 6.0, "list_price": 10.0}),
        order("SO-1", "13:00:00", 3000),  # 30,000: a large credit release
        event("e-h1", "order.held", "13:01:00",
              {"order_id": "SO-1", "hold_code": "credit", "reason": "limit"}),
        event("e-x", "order.created", "16:00:00", {"order_id": "SO-9", "customer_id": "C1",
              "lines": [{"line_id": "1", "sku": "BRG-6204", "qty": 1, "unit_price": 10.0}]}),
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


def test_a_large_credit_release_is_approved_by_the_right_role_and_dispatched(tmp_path):
    db = tmp_path / "u.db"
    env = {"UNSNAG_DATABASE_URL": f"sqlite:///{db}"}
    events = tmp_path / "events.jsonl"
    scenario(events)
    assert unsnag("ingest", str(events), env=env).returncode == 0

    listed = unsnag("cases", "--type", "credit.hold", "--json", env=env)
    [case] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert case["work"]["state"] == "awaiting_approval"
    [approval] = case["work"]["approvals"]
    assert approval["role"] == "finance_manager" and approval["rule"] == "large-credit-release"

    shown = unsnag("case", "show", case["id"], env=env)
    assert shown.returncode == 0, shown.stderr
    assert "release_hold" in shown.stdout and "Audit trail" in shown.stdout
    assert "order.held" in shown.stdout  # the cross-system timeline

    refused = unsnag("case", "approve", case["id"], "--role", "agent", "--user", "dana", env=env)
    assert refused.returncode == 1
    assert "needs the role finance_manager; dana is agent" in refused.stderr

    ok = unsnag("case", "approve", case["id"], "--role", "finance_manager", "--user", "fay",
                "--note", "paid on time for years", env=env)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    after = json.loads(unsnag("case", "show", case["id"], "--json", env=env).stdout)
    [release] = [a for a in after["actions"] if a["kind"] == "release_hold"]
    assert release["status"] == "pending" and release["connector"] == "log"
    assert after["case"]["work"]["touches"] == 1

    sent = unsnag("outbox", "dispatch", env=env)
    assert sent.returncode == 0, sent.stderr
    assert "1 delivered" in sent.stdout or "delivered" in sent.stdout
    again = json.loads(unsnag("case", "show", case["id"], "--json", env=env).stdout)
    assert {a["status"] for a in again["actions"]} == {"delivered"}
    kinds = [entry["kind"] for entry in again["audit"]]
    assert kinds[:3] == ["detected", "recommended", "approval_requested"]
    assert "approved" in kinds and "action_delivered" in kinds

    verified = unsnag("audit", "verify", env=env)
    assert verified.returncode == 0 and "intact" in verified.stdout

    with sqlite3.connect(db) as connection:
        connection.execute('UPDATE audit SET detail = \'{"note": "edited"}\' WHERE seq = 2')
    broken = unsnag("audit", "verify", env=env)
    assert broken.returncode == 1
    assert "seq 2" in broken.stderr


def test_the_requester_of_an_action_cannot_approve_it(tmp_path):
    env = {"UNSNAG_DATABASE_URL": f"sqlite:///{tmp_path / 'u.db'}"}
    events = tmp_path / "events.jsonl"
    scenario(events)
    unsnag("ingest", str(events), env=env)
    listed = unsnag("cases", "--type", "credit.hold", "--json", env=env)
    case_id = json.loads(listed.stdout.splitlines()[0])["id"]
    asked = unsnag("case", "act", case_id, "--option", "0", "--role", "finance_manager",
                   "--user", "fay", env=env)  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    own = unsnag("case", "approve", case_id, "--role", "finance_manager", "--user", "fay", env=env)
    assert own.returncode == 1 and "segregation of duties" in own.stderr
    unknown = unsnag("case", "comment", "C-nothing", "hello", "--role", "agent", env=env)
    assert unknown.returncode == 1 and "no case C-nothing" in unknown.stderr
