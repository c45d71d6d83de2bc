"""Cases over the API: list (filters, sorts, cursor pages), detail, and the work —
assign, comment, approve, reject, act, resolve — with the CLI's rules. Real SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from api_fixtures import Api, api_over, credit_scenario, twin_api
from test_api_auth import assert_problem

from unsnag.store.port import SORTS, case_refs


@pytest.fixture(scope="module")
def twin(tmp_path_factory) -> Iterator[Api]:
    """Three simulated days of a distributor: a few dozen cases of many types and teams."""
    path = tmp_path_factory.mktemp("twin") / "twin.db"
    yield from twin_api(f"sqlite:///{path}", days=3, orders_per_day=120, seed=7)


@pytest.fixture(scope="module")
def everything(twin: Api) -> list[dict[str, Any]]:
    cases = twin.cases(limit=500)
    assert len(cases) > 30
    return cases


@pytest.fixture
def api(tmp_path) -> Iterator[Api]:
    yield from api_over(f"sqlite:///{tmp_path / 'u.db'}")


@pytest.fixture
def credit(api: Api) -> tuple[Api, str]:
    """The credit scenario; the id of its credit.hold case (awaiting a finance_manager)."""
    api.send(credit_scenario())
    case = api.case_of_type("credit.hold")
    assert case["work"]["state"] == "awaiting_approval"
    assert case["work"]["pending_approval"]["role"] == "finance_manager"
    return api, case["id"]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- list: cursor pages ---------------------------------------------------------------


def walk(api: Api, limit: int, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every page of a listing; the items in order and the number of pages."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {**params, "limit": limit} | ({"cursor": cursor} if cursor else {})
        response = api.client.get("/v1/cases", params=query, headers=api.key("viewer"))
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 1000


def sort_key(case: dict[str, Any], sort: str) -> tuple[Any, ...]:
    name = sort.lstrip("-")
    value = case.get(name)
    if value is None:
        return (True, 0, case["id"])
    number = value if name == "priority" else instant(value).timestamp()
    return (False, -number if sort.startswith("-") else number, case["id"])


@pytest.mark.parametrize("sort", [s for name in SORTS for s in (name, f"-{name}")])
def test_cursor_pages_walk_every_case_exactly_once(twin: Api, everything, sort: str):
    items, pages = walk(twin, 7, sort=sort)
    ids = [case["id"] for case in items]
    assert len(ids) == len(set(ids)) == len(everything)
    assert set(ids) == {case["id"] for case in everything}
    assert pages == -(-len(everything) // 7)
    assert ids == [case["id"] for case in sorted(items, key=lambda c: sort_key(c, sort))]


def test_cursor_pages_with_a_filter_and_totals(twin: Api, everything):
    open_ids = {c["id"] for c in everything if c["status"] == "open"}
    items, _ = walk(twin, 4, status="open", sort="due_at")
    assert [c["id"] for c in items if c["id"] in open_ids] == [c["id"] for c in items]
    assert len(items) == len(open_ids)
    page = twin.client.get(
        "/v1/cases", params={"status": "open", "limit": 2}, headers=twin.key("viewer")
    ).json()
    assert page["total"] == len(open_ids) and len(page["items"]) == 2


def test_the_default_order_is_highest_priority_first(twin: Api, everything):
    priorities = [case["priority"] for case in twin.cases(limit=500)]
    assert priorities == sorted(priorities, reverse=True)


def test_list_items_carry_the_state_of_work_but_no_timeline(everything):
    case = everything[0]
    assert "timeline" not in case
    assert set(case["work"]) == {"state", "assignee", "sla", "pending_approval", "touchless"}


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "size"},
        {"cursor": "not-a-cursor"},
        {"limit": 0},
        {"limit": 501},
        {"priority_min": -1},
        {"priority_max": "high"},
        {"due_before": "next tuesday"},
    ],
)
def test_bad_list_parameters_are_422_with_the_field(twin: Api, params: dict[str, Any]):
    response = twin.client.get("/v1/cases", params=params, headers=twin.key("viewer"))
    problem = assert_problem(response, 422)
    [name] = params
    fields = [e["field"] for e in problem.get("errors", [])] + [problem.get("field")]
    assert any(f and f.endswith(name) for f in fields), problem


def test_a_cursor_of_one_sort_is_refused_for_another(twin: Api):
    page = twin.client.get(
        "/v1/cases", params={"sort": "priority", "limit": 2}, headers=twin.key("viewer")
    ).json()
    response = twin.client.get(
        "/v1/cases",
        params={"sort": "-due_at", "cursor": page["next_cursor"]},
        headers=twin.key("viewer"),
    )
    assert assert_problem(response, 422)["field"] == "cursor"


# --- list: filters --------------------------------------------------------------------


def refs_have(case: dict[str, Any], name: str, value: str) -> bool:
    return (name, value) in case_refs(case)


def most_common(values: list[Any]) -> Any:
    return max(sorted(set(values), key=str), key=values.count)


FILTERS = ["type", "team", "status", "customer", "sku", "node", "priority", "due_before", "mix"]


@pytest.mark.parametrize("which", FILTERS)
def test_filters_select_exactly_the_matching_cases(twin: Api, everything, which: str):
    def refs(name: str) -> list[str]:
        return [v for c in everything for n, v in case_refs(c) if n == name]

    priorities = sorted(c["priority"] for c in everything)
    dues = sorted(c["due_at"] for c in everything if c["due_at"])
    low, high = priorities[len(priorities) // 4], priorities[3 * len(priorities) // 4]
    due = dues[len(dues) // 2]
    types = sorted({c["type"] for c in everything})
    match which:
        case "type":
            params: dict[str, Any] = {"type": types[:2]}
            expected = [c for c in everything if c["type"] in types[:2]]
        case "team":
            team = most_common([c["owner_team"] for c in everything])
            params = {"team": team}
            expected = [c for c in everything if c["owner_team"] == team]
        case "status":
            params = {"status": ["resolved", "cancelled"]}
            expected = [c for c in everything if c["status"] in ("resolved", "cancelled")]
        case "customer" | "sku" | "node":
            ref = {"customer": "customer_id", "sku": "sku", "node": "node_id"}[which]
            value = most_common(refs(ref))
            params = {which: value}
            expected = [c for c in everything if refs_have(c, ref, value)]
        case "priority":
            params = {"priority_min": low, "priority_max": high}
            expected = [c for c in everything if low <= c["priority"] <= high]
        case "due_before":
            params = {"due_before": due}
            expected = [
                c for c in everything if c["due_at"] and instant(c["due_at"]) < instant(due)
            ]
        case _:
            team = most_common([c["owner_team"] for c in everything])
            params = {"team": team, "status": "open", "priority_min": low}
            expected = [
                c
                for c in everything
                if c["owner_team"] == team and c["status"] == "open" and c["priority"] >= low
            ]
    assert expected, f"the twin made no case to test {which} with"
    assert len(expected) < len(everything) or which == "mix"
    got = twin.cases(limit=500, **params)
    assert sorted(c["id"] for c in got) == sorted(c["id"] for c in expected)
    total = twin.client.get("/v1/cases", params=params, headers=twin.key("viewer")).json()["total"]
    assert total == len(expected)


def test_a_filter_matching_nothing_is_an_empty_page(twin: Api):
    response = twin.client.get(
        "/v1/cases", params={"customer": "C-nobody"}, headers=twin.key("viewer")
    )
    assert response.json() == {"items": [], "total": 0, "next_cursor": None}


# --- detail ---------------------------------------------------------------------------


def test_case_detail_has_the_cross_system_timeline_actions_and_audit(twin: Api, everything):
    busiest = max(everything, key=lambda c: (len(c["refs"]), c["id"]))
    response = twin.client.get(f"/v1/cases/{busiest['id']}", headers=twin.key("viewer"))
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["case"]["id"] == busiest["id"] and "work" in detail["case"]
    assert detail["timeline"], "a case has the events it came from"
    assert {"time", "source", "type", "id", "data"} <= set(detail["timeline"][0])
    times = [e["time"] for e in detail["timeline"]]
    assert times == sorted(times)
    assert detail["audit"][0]["kind"] == "detected"
    assert all(len(entry["hash"]) == 64 for entry in detail["audit"])
    assert isinstance(detail["actions"], list)


def test_an_unknown_case_is_404_on_every_route(api: Api):
    admin = api.key("admin")
    assert_problem(api.client.get("/v1/cases/C-nothing", headers=admin), 404)
    for action, body in [
        ("assign", {"assignee": "x"}),
        ("comment", {"text": "x"}),
        ("approve", {}),
        ("reject", {"note": "x"}),
        ("act", {"option": 0}),
        ("resolve", {"resolution": "x"}),
    ]:
        response = api.client.post(f"/v1/cases/C-nothing/{action}", json=body, headers=admin)
        problem = assert_problem(response, 404)
        assert "C-nothing" in problem["detail"], action


# --- work -----------------------------------------------------------------------------


def detail(api: Api, case_id: str) -> dict[str, Any]:
    response = api.client.get(f"/v1/cases/{case_id}", headers=api.key("viewer"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_approve_moves_the_work_on_and_puts_the_action_in_the_outbox(credit):
    api, case_id = credit
    assert detail(api, case_id)["actions"] == []
    manager = api.key("finance_manager", name="fay")
    response = api.client.post(
        f"/v1/cases/{case_id}/approve", json={"note": "pays on time"}, headers=manager
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["id"] == case_id
    assert after["work"]["state"] != "awaiting_approval"
    [approval] = after["work"]["approvals"]
    assert approval["status"] == "approved" and approval["decided_by"] == "fay"
    shown = detail(api, case_id)
    [release] = shown["actions"]
    assert release["kind"] == "release_hold" and release["status"] == "pending"
    assert release["params"] == {"order_id": "SO-1"}
    approved = [e for e in shown["audit"] if e["kind"] == "approved"]
    assert approved and approved[0]["actor"] == "fay"
    # nothing is pending any more: a second approval is a conflict
    again = api.client.post(f"/v1/cases/{case_id}/approve", json={}, headers=manager)
    assert assert_problem(again, 409)["detail"].endswith("has no pending approval")
    # the dispatcher delivers it; its outcome shows on the case
    api.runtime.dispatch()
    [delivered] = detail(api, case_id)["actions"]
    assert delivered["status"] == "delivered"


def test_the_requester_of_an_action_cannot_approve_it(credit):
    api, case_id = credit
    fay = api.key("finance_manager", name="fay")
    asked = api.client.post(f"/v1/cases/{case_id}/act", json={"option": 0}, headers=fay)
    assert asked.status_code == 200, asked.text
    pending = asked.json()["work"]["approvals"][-1]
    assert pending["status"] == "pending" and pending["requested_by"] == "fay"
    own = api.client.post(f"/v1/cases/{case_id}/approve", json={}, headers=fay)
    assert "segregation of duties" in assert_problem(own, 403)["detail"]
    other = api.key("finance_manager", name="fred")
    ok = api.client.post(f"/v1/cases/{case_id}/approve", json={}, headers=other)
    assert ok.status_code == 200, ok.text
    assert [a["kind"] for a in detail(api, case_id)["actions"]] == ["release_hold"]


def test_reject_needs_a_note_and_records_the_decision(credit):
    api, case_id = credit
    manager = api.key("finance_manager", name="fay")
    missing = api.client.post(f"/v1/cases/{case_id}/reject", json={}, headers=manager)
    assert [e["field"] for e in assert_problem(missing, 422)["errors"]] == ["note"]
    response = api.client.post(
        f"/v1/cases/{case_id}/reject", json={"note": "exposure too high"}, headers=manager
    )
    assert response.status_code == 200, response.text
    approval = response.json()["work"]["approvals"][0]
    assert approval["status"] == "rejected" and approval["note"] == "exposure too high"
    assert detail(api, case_id)["actions"] == []
    again = api.client.post(f"/v1/cases/{case_id}/reject", json={"note": "x"}, headers=manager)
    assert_problem(again, 409)


def test_approve_a_named_approval_that_does_not_exist(credit):
    api, case_id = credit
    response = api.client.post(
        f"/v1/cases/{case_id}/approve",
        json={"approval_id": "C-none.a9"},
        headers=api.key("admin"),
    )
    assert response.status_code in (404, 409), response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_assign_comment_and_resolve(credit):
    api, case_id = credit
    agent = api.key("agent", team="finance", name="dana")
    assigned = api.client.post(
        f"/v1/cases/{case_id}/assign", json={"assignee": "dana", "note": "mine"}, headers=agent
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["work"]["assignee"] == "dana"
    listed = api.cases(type="credit.hold")[0]
    assert listed["work"]["assignee"] == "dana"
    commented = api.client.post(
        f"/v1/cases/{case_id}/comment", json={"text": "called the customer"}, headers=agent
    )
    assert commented.status_code == 200, commented.text
    resolved = api.client.post(
        f"/v1/cases/{case_id}/resolve", json={"resolution": "paid by wire"}, headers=agent
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    kinds = [entry["kind"] for entry in detail(api, case_id)["audit"]]
    assert {"assigned", "comment", "resolved"} <= set(kinds), kinds
    assert api.cases(status="resolved", type="credit.hold")[0]["id"] == case_id
    actors = {e["actor"] for e in detail(api, case_id)["audit"] if e["kind"] == "comment"}
    assert actors == {"dana"}


def test_an_admin_acts_at_once(credit):
    api, case_id = credit
    response = api.client.post(
        f"/v1/cases/{case_id}/act", json={"option": 0}, headers=api.key("admin", name="root")
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == case_id


@pytest.mark.parametrize(
    ("action", "body", "fields"),
    [
        ("assign", {}, ["assignee"]),
        ("assign", {"assignee": ""}, ["assignee"]),
        ("comment", {"text": "x" * 10_001}, ["text"]),
        ("comment", {"text": "ok", "extra": 1}, ["extra"]),
        ("act", {"option": -1}, ["option"]),
        ("act", {"params": "not an object"}, ["params"]),
        ("resolve", {}, ["resolution"]),
        ("approve", {"note": 5}, ["note"]),
    ],
)
def test_bad_bodies_are_422_with_field_paths(credit, action, body, fields):
    api, case_id = credit
    response = api.client.post(f"/v1/cases/{case_id}/{action}", json=body, headers=api.key("admin"))
    problem = assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == fields
    assert all(e["message"] for e in problem["errors"])


def test_a_body_that_is_not_json_is_422(credit):
    api, case_id = credit
    response = api.client.post(
        f"/v1/cases/{case_id}/comment",
        content=b"text=hi",
        headers={"Content-Type": "application/json", **api.key("admin")},
    )
    assert_problem(response, 422)
