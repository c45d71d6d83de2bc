"""The API's key paths on a real PostgreSQL (a schema of its own per test): keys, events
with idempotency, dead-letter replay, case work with an approval, cursor pages."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from api_fixtures import Api, api_over, credit_scenario
from test_api_auth import assert_problem

pytestmark = pytest.mark.postgres


@pytest.fixture
def api(pg_url: str) -> Iterator[Api]:
    yield from api_over(pg_url)


def test_keys_events_and_idempotency_on_postgres(api: Api):
    assert_problem(api.client.get("/v1/cases"), 401)
    assert_problem(api.client.get("/v1/cases", headers={"X-API-Key": "usk_kx_nope"}), 401)
    events = credit_scenario()
    body = orjson.dumps([*events, events[1] | {"id": "e-bad", "source": "mainframe"}])
    headers = {"Content-Type": "application/json", "Idempotency-Key": "pg-1"}
    first = api.client.post("/v1/events", content=body, headers=headers | api.key("integrator"))
    assert first.status_code == 200, first.text
    assert (first.json()["accepted"], first.json()["refused"]) == (len(events), 1)
    again = api.client.post("/v1/events", content=body, headers=headers | api.key("integrator"))
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    other = api.client.post(
        "/v1/events", content=body[:-1] + b" ]", headers=headers | api.key("integrator")
    )
    assert_problem(other, 422)

    [letter] = api.client.get("/v1/dead-letters", headers=api.key("admin")).json()["items"]
    fixed = orjson.loads(letter["raw"]) | {"source": "erp"}
    replay = f"/v1/dead-letters/{letter['id']}/replay"
    done = api.client.post(replay, json={"raw": fixed}, headers=api.key("integrator"))
    assert done.status_code == 200, done.text
    assert_problem(api.client.post(replay, json={}, headers=api.key("integrator")), 409)


def test_case_work_and_pages_on_postgres(api: Api):
    api.send(credit_scenario())
    case = api.case_of_type("credit.hold")
    outsider = api.key("agent", team="logistics")
    assert_problem(
        api.client.post(f"/v1/cases/{case['id']}/approve", json={}, headers=outsider), 403
    )
    manager = api.key("finance_manager", name="fay")
    approved = api.client.post(f"/v1/cases/{case['id']}/approve", json={}, headers=manager)
    assert approved.status_code == 200, approved.text
    detail = api.client.get(f"/v1/cases/{case['id']}", headers=api.key("viewer")).json()
    assert [a["kind"] for a in detail["actions"]] == ["release_hold"]
    assert_problem(
        api.client.post(f"/v1/cases/{case['id']}/approve", json={}, headers=manager), 409
    )
    assert_problem(api.client.get("/v1/cases/C-none", headers=manager), 404)

    everything = {c["id"] for c in api.cases(limit=500)}
    for sort in ("-priority", "due_at", "-opened_at"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"sort": sort, "limit": 1} | ({"cursor": cursor} if cursor else {})
            page = api.client.get("/v1/cases", params=params, headers=manager).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(everything)
    assert api.client.get("/readyz").json()["status"] == "ready"
