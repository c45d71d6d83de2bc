"""POST /v1/events and the dead letters: bodies, content types, limits, per-event results,
idempotency, webhook signatures, and fix-and-replay. Real SQLite, in-process HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from api_fixtures import PROBLEM, Api, api_over, credit_scenario, sign
from test_api_auth import assert_problem


@pytest.fixture
def api(tmp_path) -> Iterator[Api]:
    yield from api_over(f"sqlite:///{tmp_path / 'u.db'}")


def post(api: Api, body: Any, kind: str = "application/json", **headers: str) -> Any:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return api.client.post(
        "/v1/events",
        content=content,
        headers={"Content-Type": kind, **api.key("integrator"), **headers},
    )


def broken(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The scenario with an event missing its id and one from an unknown system."""
    no_id = {k: v for k, v in events[2].items() if k != "id"}
    unknown = events[1] | {"id": "e-mf", "source": "mainframe"}
    return [events[0], no_id, unknown, events[0]]


# --- bodies and per-event results ---------------------------------------------------------


def test_one_event_as_cloudevents_json(api: Api):
    [first, *_] = credit_scenario()
    response = post(api, first, "application/cloudevents+json; charset=utf-8")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "accepted": 1,
        "duplicates": 0,
        "refused": 0,
        "results": [
            {
                "index": 0,
                "status": "accepted",
                "source": "crm",
                "id": "e-c1",
                "type": "customer.upserted",
            }
        ],
    }
    assert api.store.event_count() >= 1


def test_an_array_gives_accepted_duplicate_and_refused_per_event(api: Api):
    response = post(api, broken(credit_scenario()))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["refused"]) == (1, 1, 2)
    results = body["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert [r["status"] for r in results] == ["accepted", "refused", "refused", "duplicate"]
    assert results[1]["field"] == "id" and "required" in results[1]["reason"].lower()
    assert results[2]["field"] == "source" and "mainframe" in results[2]["reason"]
    assert results[3]["id"] == "e-c1"


def test_refused_events_become_dead_letters_with_their_raw_text(api: Api):
    events = broken(credit_scenario())
    post(api, events)
    listed = api.client.get("/v1/dead-letters", headers=api.key("integrator"))
    assert listed.status_code == 200
    page = listed.json()
    assert page["total"] == 2 and page["next_cursor"] is None
    by_field = {item["field"]: item for item in page["items"]}
    assert set(by_field) == {"id", "source"}
    assert orjson.loads(by_field["id"]["raw"]) == events[1]
    assert orjson.loads(by_field["source"]["raw"]) == events[2]
    assert by_field["source"]["origin"].startswith("api:key:")
    assert all(item["replayed_at"] is None for item in page["items"])
    one = api.client.get(f"/v1/dead-letters/{by_field['id']['id']}", headers=api.key("viewer"))
    assert one.status_code == 200 and one.json() == by_field["id"]


def test_the_cloudevents_batch_type_takes_an_array_only(api: Api):
    events = credit_scenario()
    response = post(api, events, "application/cloudevents-batch+json")
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(events)
    single = post(api, events[0], "application/cloudevents-batch+json")
    assert_problem(single, 400)


def test_a_body_that_is_not_json_is_400_and_kept_as_a_dead_letter(api: Api):
    response = post(api, b'{"specversion": "1.0", oops')
    problem = assert_problem(response, 400)
    assert "dead letter" in problem["detail"]
    [letter] = api.client.get("/v1/dead-letters", headers=api.key("admin")).json()["items"]
    assert letter["raw"] == '{"specversion": "1.0", oops' and "not JSON" in letter["reason"]
    scalar = post(api, b"42")
    assert_problem(scalar, 400)


def test_a_wrong_content_type_is_415(api: Api):
    for kind in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        response = post(api, credit_scenario(), kind)
        problem = assert_problem(response, 415)
        assert "Content-Type" in problem["detail"]
    assert api.store.event_count() == 0


# --- limits -------------------------------------------------------------------------------


def test_a_body_over_max_body_bytes_is_413(tmp_path):
    for api in api_over(f"sqlite:///{tmp_path / 'l.db'}", max_body_bytes=2048):
        big = [credit_scenario()[2] | {"id": f"e-{n}"} for n in range(20)]
        body = orjson.dumps(big)
        assert len(body) > 2048
        response = post(api, body)
        problem = assert_problem(response, 413)
        assert "2048" in problem["detail"]
        # the same without a Content-Length (chunked): counted as it streams in
        chunked = api.client.post(
            "/v1/events",
            content=iter([body[:1000], body[1000:2000], body[2000:]]),
            headers={"Content-Type": "application/json", **api.key("integrator")},
        )
        assert_problem(chunked, 413)
        assert "x-content-type-options" in chunked.headers
        assert api.store.event_count() == 0
        # a small one still goes through
        assert post(api, credit_scenario()[0]).status_code == 200


def test_more_events_than_max_batch_events_is_413(tmp_path):
    for api in api_over(f"sqlite:///{tmp_path / 'b.db'}", max_batch_events=3):
        events = credit_scenario()
        problem = assert_problem(post(api, events), 413)
        assert f"{len(events)} events" in problem["detail"]
        assert api.store.event_count() == 0
        assert post(api, events[:3]).status_code == 200


# --- idempotency --------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_replays_the_first_response(api: Api):
    events = credit_scenario()
    first = post(api, events, **{"Idempotency-Key": "batch-1"})
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    count = api.store.event_count()
    again = post(api, events, **{"Idempotency-Key": "batch-1"})
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()  # accepted, not duplicates: the first answer
    assert api.store.event_count() == count
    # without the key the same body is ingested again: all duplicates
    plain = post(api, events)
    assert plain.json()["duplicates"] == len(events)


def test_the_same_idempotency_key_with_another_body_is_422(api: Api):
    events = credit_scenario()
    assert post(api, events[:2], **{"Idempotency-Key": "k-7"}).status_code == 200
    reused = post(api, events[2:], **{"Idempotency-Key": "k-7"})
    problem = assert_problem(reused, 422)
    assert problem["type"].endswith("idempotency-key-reused")
    assert api.store.event_count() == 2


def test_idempotency_keys_belong_to_the_caller(api: Api):
    events = credit_scenario()
    post(api, events[:2], **{"Idempotency-Key": "shared"})
    other = api.client.post(
        "/v1/events",
        content=orjson.dumps(events[2:]),
        headers={"Content-Type": "application/json", "Idempotency-Key": "shared"}
        | api.key("admin"),
    )
    assert other.status_code == 200 and "idempotent-replayed" not in other.headers


def test_an_overlong_idempotency_key_is_422(api: Api):
    assert_problem(post(api, credit_scenario()[0], **{"Idempotency-Key": "x" * 201}), 422)


# --- webhook signatures -------------------------------------------------------------------

SECRET = "s3cret-erp"


@pytest.fixture
def signed(tmp_path) -> Iterator[Api]:
    yield from api_over(f"sqlite:///{tmp_path / 's.db'}", webhook_secrets={"erp": SECRET})


def test_events_from_a_source_with_a_secret_must_be_signed(signed: Api):
    body = orjson.dumps(credit_scenario()[1])  # source erp
    missing = post(signed, body)
    assert assert_problem(missing, 401)["type"].endswith("signature-missing")
    wrong = post(signed, body, **sign("not-the-secret", body))
    assert assert_problem(wrong, 401)["type"].endswith("signature-invalid")
    tampered = post(signed, body + b" ", **sign(SECRET, body))
    assert_problem(tampered, 401)
    expired = post(signed, body, **sign(SECRET, body, stamp=int(time.time()) - 3600))
    assert assert_problem(expired, 401)["type"].endswith("signature-expired")
    garbage = post(signed, body, **{"X-Unsnag-Timestamp": "soon", "X-Unsnag-Signature": "x"})
    assert_problem(garbage, 401)
    assert signed.store.event_count() == 0
    right = post(signed, body, **sign(SECRET, body))
    assert right.status_code == 200, right.text
    assert right.json()["accepted"] == 1


def test_a_sub_source_is_covered_by_its_systems_secret(signed: Api):
    event = credit_scenario()[1] | {"source": "erp/plant-2", "id": "e-sub"}
    body = orjson.dumps(event)
    assert_problem(post(signed, body), 401)
    assert post(signed, body, **sign(SECRET, body)).status_code == 200


def test_a_source_without_a_secret_needs_no_signature(signed: Api):
    crm = credit_scenario()[0]  # source crm: no secret configured
    response = post(signed, crm)
    assert response.status_code == 200 and response.json()["accepted"] == 1
    # a batch mixing erp and crm must be signed (for erp)
    mixed = orjson.dumps(credit_scenario()[:2])
    assert_problem(post(signed, mixed), 401)
    assert post(signed, mixed, **sign(SECRET, mixed)).status_code == 200


# --- dead letters: fix and replay -------------------------------------------------------


def test_a_dead_letter_is_fixed_and_replayed_once(api: Api):
    events = broken(credit_scenario())
    post(api, events)
    items = api.client.get("/v1/dead-letters", headers=api.key("admin")).json()["items"]
    letter = next(item for item in items if item["field"] == "id")
    path = f"/v1/dead-letters/{letter['id']}/replay"
    integrator = api.key("integrator")

    as_kept = api.client.post(path, json={}, headers=integrator)
    problem = assert_problem(as_kept, 422)
    assert problem["type"].endswith("still-refused") and problem["field"] == "id"

    still_bad = api.client.post(path, json={"raw": events[1] | {"time": "yesterday"}},
                                headers=integrator)  # fmt: skip
    assert_problem(still_bad, 422)
    unmarked = api.client.get(f"/v1/dead-letters/{letter['id']}", headers=integrator).json()
    assert unmarked["replayed_at"] is None

    fixed = events[1] | {"id": "e-SO-1"}
    done = api.client.post(path, json={"raw": fixed}, headers=integrator)
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["dead_letter"] == letter["id"]
    assert result["result"] | {"reason": None, "field": None} == {
        "index": 0,
        "status": "accepted",
        "source": "erp",
        "id": "e-SO-1",
        "type": "order.created",
        "reason": None,
        "field": None,
    }
    shown = api.client.get(f"/v1/dead-letters/{letter['id']}", headers=integrator).json()
    assert shown["replayed_at"] is not None
    assert api.client.get("/v1/dead-letters?replayed=true", headers=integrator).json()["items"] == [
        shown
    ]

    again = api.client.post(path, json={"raw": fixed}, headers=integrator)
    assert_problem(again, 409)
    assert api.store.dead_letter_count() == 2  # no new dead letter for the failed tries


def test_a_dead_letter_fixed_as_text_replays_too(api: Api):
    events = broken(credit_scenario())
    post(api, events)
    items = api.client.get("/v1/dead-letters", headers=api.key("admin")).json()["items"]
    letter = next(item for item in items if item["field"] == "source")
    fixed = letter["raw"].replace('"mainframe"', '"erp"')
    response = api.client.post(
        f"/v1/dead-letters/{letter['id']}/replay", json={"raw": fixed}, headers=api.key("admin")
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["status"] == "accepted"


def test_dead_letter_routes_404_and_422(api: Api):
    admin = api.key("admin")
    assert_problem(api.client.get("/v1/dead-letters/999", headers=admin), 404)
    assert_problem(api.client.post("/v1/dead-letters/999/replay", json={}, headers=admin), 404)
    bad_id = api.client.get("/v1/dead-letters/abc", headers=admin)
    assert assert_problem(bad_id, 422)["errors"][0]["field"] == "path:dead_letter_id"
    extra = api.client.post("/v1/dead-letters/1/replay", json={"fix": 1}, headers=admin)
    assert assert_problem(extra, 422)["errors"][0]["field"] == "fix"
    assert_problem(api.client.get("/v1/dead-letters?limit=0", headers=admin), 422)
    assert_problem(
        api.client.post("/v1/dead-letters/1/replay", json={}, headers=api.key("agent")), 403
    )


def test_dead_letters_page_by_cursor(api: Api):
    events = credit_scenario()
    post(api, [events[1] | {"id": f"x-{n}", "source": "mainframe"} for n in range(7)])
    admin = api.key("admin")
    seen: list[int] = []
    cursor: str | None = "0"
    while cursor is not None:
        page = api.client.get(
            "/v1/dead-letters", params={"limit": 3, "cursor": cursor}, headers=admin
        ).json()
        assert page["total"] == 7
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == sorted(set(seen)) and len(seen) == 7


def test_problem_json_is_the_content_type_of_every_error_here(api: Api):
    response = post(api, b"[", "application/json")
    assert response.headers["content-type"] == PROBLEM
