"""The behaviour every store must show, as one abstract test class.

Each implementation (memory, SQLite, PostgreSQL) subclasses :class:`StoreContract` and
only says how to open a store; a new backend is done when it passes these tests. Stores
that keep data across processes also subclass :class:`DurableStoreContract`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from unsnag.errors import Conflict, NotFound, StoreError
from unsnag.events import Event, parse_event, parse_instant
from unsnag.resolve.audit import GENESIS, entry_hash, verify
from unsnag.resolve.model import AuditEntry, OutboxItem
from unsnag.store import (
    SORTS,
    ApiKey,
    CaseQuery,
    DeadLetter,
    IdempotentResponse,
    Store,
    StorePort,
    cursor_of,
    open_store,
)

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)

# --- builders ---------------------------------------------------------------------------


def envelope(event_id: str, source: str = "crm", **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": "customer.upserted",
        "time": "2026-05-04T08:00:00Z",
        "subject": data.get("customer_id", "C1"),
        "data": {"customer_id": "C1", "tier": "gold", **data},
    }


def event(event_id: str, source: str = "crm", **data: Any) -> Event:
    return parse_event(envelope(event_id, source, **data))


def events(count: int, prefix: str = "e") -> list[Event]:
    return [event(f"{prefix}{n}") for n in range(1, count + 1)]


def dead_letter(raw: str, reason: str = "not JSON", when: datetime = T0) -> DeadLetter:
    return DeadLetter(raw=raw, reason=reason, field=None, origin="in.jsonl:3", received_at=when)


def case(case_id: str, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": case_id,
        "type": "pick.short",
        "status": "open",
        "subject": "SO-1",
        "refs": {"order_id": "SO-1", "line_id": "1"},
        "priority": 50.0,
        "priority_explained": ["revenue at risk 100.00"],
        "owner_team": "warehouse",
        "opened_at": "2026-05-04T08:00:00Z",
        "due_at": "2026-05-04T12:00:00Z",
        "updated_at": "2026-05-04T08:00:00Z",
        "closed_at": None,
        "timeline": [{"at": "2026-05-04T08:00:00Z", "what": "opened", "note": ""}],
    }
    doc.update(changes)
    return doc


def ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in cases]


def action(key: str, case_id: str = "C-1", created: datetime = T0, **params: Any) -> OutboxItem:
    return OutboxItem(
        key=key,
        case_id=case_id,
        kind="release_hold",
        connector="erp-hook",
        params=params or {"order_id": "SO-1"},
        created_at=created,
        requested_by="ana",
    )


def entry(entry_id: str, case_id: str = "C-1", at: datetime = T0, **detail: Any) -> AuditEntry:
    return AuditEntry(entry_id, at, case_id, "comment", "ana", detail or {"note": entry_id})


def keys(actions: list[Any]) -> list[str]:
    return [a.key for a in actions]


def chain_ids(store: StorePort) -> list[str]:
    return [chained.entry.id for chained in store.iter_audit()]


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def api_key(key_id: str, created: datetime = T0, **changes: Any) -> ApiKey:
    fields: dict[str, Any] = {
        "id": key_id,
        "hash": "ab" * 32,
        "role": "operator",
        "team": "warehouse",
        "name": f"key {key_id}",
        "created_at": created,
    }
    return ApiKey(**(fields | changes))


def response(
    key: str, scope: str = "k1", created: datetime = T0, body: str = '{"accepted": 1}'
) -> IdempotentResponse:
    return IdempotentResponse(scope, key, "cd" * 32, 202, body, created)


def at(hour: int, minute: int = 0) -> str:
    return f"2026-05-04T{hour:02d}:{minute:02d}:00Z"


def queue() -> list[dict[str, Any]]:
    """Four cases that differ in every queried column."""
    return [
        case(
            "C-1",
            priority=10.0,
            refs={"order_id": "SO-1", "sku": "A"},
            opened_at=at(8),
            due_at=at(12),
        ),
        case(
            "C-2",
            type="credit.hold",
            owner_team="finance",
            priority=50.0,
            refs={"customer_id": "CU-1", "order_id": "SO-2"},
            opened_at="2026-05-04T11:00:00+02:00",  # 09:00 UTC
            due_at=None,
        ),
        case(
            "C-3",
            status="closed",
            priority=90.0,
            refs={"order_id": "SO-1", "sku": ["B", "C"]},
            opened_at=at(7),
            due_at=at(10),
            closed_at=at(9),
        ),
        case(
            "C-4",
            type="late.shipment",
            owner_team="logistics",
            status="snoozed",
            priority=30.0,
            refs={"customer_id": "CU-1", "order_id": "SO-1"},
            opened_at=at(10),
            due_at=at(9),
        ),
    ]


def paging_cases() -> list[dict[str, Any]]:
    """57 cases with tied priorities and times, missing due dates, mixed-case ids and
    times given in several zones: every corner of the keyset order."""
    names = [f"C-{n:02}" for n in range(50)] + ["c-01", "C_9", "a", "B", "Z-1", "C-1", "~"]
    zones = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
    cases = []
    for n, name in enumerate(names):
        opened = T0 + timedelta(hours=n % 7, microseconds=n % 2)
        due = None if n % 4 == 0 else T0 + timedelta(hours=(n * 5) % 9)
        cases.append(
            case(
                name,
                priority=[10.0, 20.0, 20.0, 33.25, 0.0][n % 5],
                status=["open", "open", "snoozed"][n % 3],
                opened_at=opened.astimezone(zones[n % 3]).isoformat(),
                due_at=None if due is None else due.astimezone(zones[(n + 1) % 3]).isoformat(),
                updated_at=(T0 + timedelta(minutes=n % 3)).isoformat(),
            )
        )
    return cases


def expected_order(cases: list[dict[str, Any]], sort: str) -> list[str]:
    """The ids in ``sort`` order worked out independently: value, then id, nulls last."""
    name = sort.lstrip("-")

    def value(c: dict[str, Any]) -> Any:
        raw = c[name]
        return raw if name == "priority" or raw is None else parse_instant(raw)

    by_id = sorted(cases, key=lambda c: c["id"])
    present = [c for c in by_id if value(c) is not None]
    present.sort(key=value, reverse=sort.startswith("-"))  # stable: ties stay by id
    return ids(present) + [c["id"] for c in by_id if value(c) is None]


def page_through(store: StorePort, query: CaseQuery) -> list[list[str]]:
    """Every page of ``query``, each cursor sent through JSON as an API client would."""
    pages: list[list[str]] = []
    after: tuple[Any, str] | None = None
    while True:
        rows = store.query_cases(CaseQuery(**{**_fields(query), "after": after}))
        pages.append(ids(rows))
        if len(rows) < query.limit:
            return pages
        value, last = orjson.loads(orjson.dumps(cursor_of(rows[-1], query.sort)))
        after = (value, last)


def _fields(query: CaseQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in CaseQuery.__dataclass_fields__}


# --- the contract -----------------------------------------------------------------------


class ApiStoreContract:
    """What the HTTP API and dashboard need: keys, idempotency, case queries, stats."""

    # API keys

    def test_an_api_key_round_trips_in_utc(self, store: StorePort) -> None:
        local = T0.astimezone(timezone(timedelta(hours=3)))
        store.add_api_key(api_key("k3f9a1c2d", created=local, team=None, name=None))
        stored = store.get_api_key("k3f9a1c2d")
        assert stored == api_key("k3f9a1c2d", team=None, name=None)
        assert stored.created_at.utcoffset() == timedelta(0) and stored.revoked_at is None

    def test_an_api_key_id_is_taken_once(self, store: StorePort) -> None:
        store.add_api_key(api_key("k1"))
        with pytest.raises(Conflict, match="k1"):
            store.add_api_key(api_key("k1", role="admin"))
        assert store.get_api_key("k1").role == "operator"
        assert len(store.list_api_keys()) == 1

    def test_an_unknown_api_key_is_not_found(self, store: StorePort) -> None:
        with pytest.raises(NotFound):
            store.get_api_key("k-missing")
        with pytest.raises(NotFound):
            store.revoke_api_key("k-missing", T0)

    def test_api_keys_are_listed_by_creation_then_id(self, store: StorePort) -> None:
        for key in (api_key("kb", later(1)), api_key("kz"), api_key("ka", later(1))):
            store.add_api_key(key)
        assert [key.id for key in store.list_api_keys()] == ["kz", "ka", "kb"]

    def test_revoking_twice_keeps_the_first_time(self, store: StorePort) -> None:
        store.add_api_key(api_key("k1"))
        store.add_api_key(api_key("k2"))
        store.revoke_api_key("k1", later(5).astimezone(timezone(timedelta(hours=-7))))
        store.revoke_api_key("k1", later(9))
        assert store.get_api_key("k1").revoked_at == later(5)
        assert [key.revoked_at for key in store.list_api_keys()] == [later(5), None]

    def test_a_naive_revocation_time_is_refused(self, store: StorePort) -> None:
        store.add_api_key(api_key("k1"))
        with pytest.raises(StoreError):
            store.revoke_api_key("k1", datetime(2026, 5, 4))
        assert store.get_api_key("k1").revoked_at is None

    # idempotency

    def test_the_first_idempotent_response_wins(self, store: StorePort) -> None:
        assert store.get_idempotent("k1", "req-1") is None
        assert store.put_idempotent(response("req-1")) is True
        second = response("req-1", body='{"other": 2}', created=later(1))
        assert store.put_idempotent(second) is False
        assert store.get_idempotent("k1", "req-1") == response("req-1")

    def test_idempotency_keys_are_scoped_to_their_sender(self, store: StorePort) -> None:
        assert store.put_idempotent(response("req-1", scope="k1"))
        assert store.put_idempotent(response("req-1", scope="k2", body="{}"))
        record = store.get_idempotent("k2", "req-1")
        assert record is not None and record.body == "{}"
        assert store.get_idempotent("k3", "req-1") is None

    def test_old_idempotency_records_are_pruned(self, store: StorePort) -> None:
        for n, created in enumerate((T0, later(10), later(20))):
            store.put_idempotent(response(f"req-{n}", created=created))
        assert store.prune_idempotent(later(10)) == 1
        assert store.get_idempotent("k1", "req-0") is None
        assert store.get_idempotent("k1", "req-1") is not None
        assert store.prune_idempotent(later(10)) == 0
        assert store.prune_idempotent(later(3600)) == 2

    def test_an_idempotent_response_comes_back_as_given(self, store: StorePort) -> None:
        local = later(0.5).astimezone(timezone(timedelta(hours=2)))
        given = IdempotentResponse("sub:ana", "Zoë-Ω", "ef" * 32, 409, '{"t": "Zoë"}', local)
        store.put_idempotent(given)
        stored = store.get_idempotent("sub:ana", "Zoë-Ω")
        assert stored == given and stored.created_at.utcoffset() == timedelta(0)

    # dead letters: fix and replay

    def test_a_dead_letter_is_read_by_id(self, store: StorePort) -> None:
        store.add_dead_letters([dead_letter("1"), dead_letter("2\x00")])
        first, second = store.list_dead_letters()
        assert store.get_dead_letter(second.id) == second
        assert store.get_dead_letter(first.id).raw == "1"
        with pytest.raises(NotFound):
            store.get_dead_letter(second.id + 100)

    def test_replayed_dead_letters_are_marked_and_filtered(self, store: StorePort) -> None:
        store.add_dead_letters([dead_letter("1"), dead_letter("2"), dead_letter("3")])
        one, two, three = store.list_dead_letters()
        store.mark_dead_letter_replayed(two.id, later(5).astimezone(timezone(timedelta(hours=1))))
        store.mark_dead_letter_replayed(two.id, later(9))  # again: the first time stays
        assert store.get_dead_letter(two.id).replayed_at == later(5)
        assert [d.raw for d in store.list_dead_letters(replayed=True)] == ["2"]
        assert [d.raw for d in store.list_dead_letters(replayed=False)] == ["1", "3"]
        assert [d.raw for d in store.list_dead_letters(replayed=None)] == ["1", "2", "3"]
        assert [d.raw for d in store.list_dead_letters(1, one.id, replayed=False)] == ["3"]
        assert store.list_dead_letters(10, three.id) == []

    def test_marking_an_unknown_dead_letter_is_not_found(self, store: StorePort) -> None:
        with pytest.raises(NotFound):
            store.mark_dead_letter_replayed(12345, T0)

    def test_dead_letters_are_counted_by_origin_and_hour(self, store: StorePort) -> None:
        def letter(origin: str | None, when: datetime) -> DeadLetter:
            return DeadLetter("x", "bad", None, origin, when)

        hour = timedelta(hours=1)
        store.add_dead_letters(
            [
                letter("a.jsonl", T0 - timedelta(microseconds=1)),  # before the window
                letter("b.jsonl", T0),
                letter("a.jsonl", T0 + timedelta(minutes=59, seconds=59, microseconds=999999)),
                letter(None, T0 + timedelta(minutes=1)),
                letter("a.jsonl", (T0 + hour).astimezone(timezone(timedelta(hours=-3)))),
                letter("a.jsonl", T0 + 2 * hour + timedelta(seconds=1)),
                letter("a.jsonl", T0 + 2 * hour + timedelta(seconds=2)),
            ]
        )
        counts = store.dead_letter_counts(T0)
        assert counts == [
            (None, T0, 1),
            ("a.jsonl", T0, 1),
            ("b.jsonl", T0, 1),
            ("a.jsonl", T0 + hour, 1),
            ("a.jsonl", T0 + 2 * hour, 2),
        ]
        assert all(bucket.utcoffset() == timedelta(0) for _, bucket, _ in counts)
        assert store.dead_letter_counts(T0 + 3 * hour) == []

    # event stats

    def test_events_are_counted_by_source_and_hour_received(self, store: StorePort) -> None:
        before = datetime.now(UTC)
        store.append_events([event("a", "crm"), event("b", "erp"), event("c", "crm")])
        store.append_events([event("a", "crm")])  # a duplicate is not counted again
        after = datetime.now(UTC)
        counts = store.event_counts(before - timedelta(seconds=1))
        totals: dict[str, int] = {}
        for source, bucket, n in counts:
            assert bucket.utcoffset() == timedelta(0) and bucket == bucket.replace(minute=0)
            assert (bucket.second, bucket.microsecond) == (0, 0)
            assert before - timedelta(hours=1) < bucket <= after
            totals[source] = totals.get(source, 0) + n
        assert totals == {"crm": 2, "erp": 1}
        assert counts == sorted(counts, key=lambda row: (row[1], row[0]))
        if len(counts) == 2:  # the append did not straddle an hour
            assert [source for source, _, _ in counts] == ["crm", "erp"]
        assert store.event_counts(after + timedelta(seconds=1)) == []
        assert store.event_counts(before - timedelta(hours=2), before - timedelta(hours=1)) == []
        assert store.event_counts(before - timedelta(seconds=1), after + timedelta(seconds=1))

    def test_events_can_be_counted_by_the_hour_they_say_they_happened(
        self, store: StorePort
    ) -> None:
        def at(event_id: str, source: str, when: str) -> Event:
            return parse_event({**envelope(event_id, source), "time": when})

        store.append_events([
            at("a", "crm", "2026-05-04T08:10:00Z"),
            at("b", "erp", "2026-05-04T08:59:59Z"),
            at("c", "crm", "2026-05-04T10:00:00+02:00"),  # 08:00 UTC
            at("d", "crm", "2026-05-04T09:30:00Z"),
            at("e", "erp", "2026-05-05T09:30:00Z"),  # outside the window below
        ])  # fmt: skip
        counts = store.event_counts(T0, T0 + timedelta(hours=2), by="time")
        assert counts == [("crm", T0, 2), ("erp", T0, 1), ("crm", T0 + timedelta(hours=1), 1)]
        assert all(bucket.utcoffset() == timedelta(0) for _, bucket, _ in counts)
        assert store.event_counts(T0 + timedelta(hours=1), by="time") == [
            ("crm", T0 + timedelta(hours=1), 1),
            ("erp", T0 + timedelta(days=1, hours=1), 1),
        ]
        # the default clock is still when the store took them (now, not 2026-05-04)
        assert store.event_counts(T0, T0 + timedelta(hours=2)) == []
        assert sum(n for _, _, n in store.event_counts(datetime.now(UTC) - timedelta(hours=1))) == 5
        with pytest.raises(ValueError, match="by"):
            store.event_counts(T0, by="subject")

    # case queries

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({}, ["C-3", "C-2", "C-4", "C-1"]),
            ({"types": ("pick.short",)}, ["C-3", "C-1"]),
            ({"types": ("pick.short", "credit.hold")}, ["C-3", "C-2", "C-1"]),
            ({"teams": ("finance", "logistics")}, ["C-2", "C-4"]),
            ({"statuses": ("open",)}, ["C-2", "C-1"]),
            ({"statuses": ("open", "snoozed")}, ["C-2", "C-4", "C-1"]),
            ({"refs": (("order_id", "SO-1"),)}, ["C-3", "C-4", "C-1"]),
            ({"refs": (("order_id", "SO-1"), ("customer_id", "CU-1"))}, ["C-4"]),
            ({"refs": (("sku", "B"), ("sku", "C"))}, ["C-3"]),
            ({"refs": (("sku", "A"), ("sku", "B"))}, []),
            ({"refs": (("customer_id", "SO-1"),)}, []),
            ({"min_priority": 30}, ["C-3", "C-2", "C-4"]),
            ({"max_priority": 30.0}, ["C-4", "C-1"]),
            ({"min_priority": 30.0, "max_priority": 50.0}, ["C-2", "C-4"]),
            ({"due_before": T0 + timedelta(hours=2)}, ["C-4"]),
            ({"due_before": T0 + timedelta(hours=2, seconds=1)}, ["C-3", "C-4"]),
            ({"opened_from": T0}, ["C-2", "C-4", "C-1"]),
            ({"opened_to": T0 + timedelta(hours=1)}, ["C-3", "C-1"]),
            ({"opened_from": T0, "opened_to": T0 + timedelta(hours=2)}, ["C-2", "C-1"]),
            (
                {
                    "types": ("pick.short", "late.shipment"),
                    "statuses": ("closed", "snoozed"),
                    "refs": (("order_id", "SO-1"),),
                    "min_priority": 20.0,
                    "opened_from": T0 - timedelta(hours=1),
                },
                ["C-3", "C-4"],
            ),
            ({"teams": ("nobody",)}, []),
        ],
    )
    def test_cases_are_queried_by_each_filter(
        self, store: StorePort, filters: dict[str, Any], expected: list[str]
    ) -> None:
        store.upsert_cases(queue())
        assert ids(store.query_cases(CaseQuery(**filters))) == expected
        query = CaseQuery(**filters, limit=1, sort="due_at", after=(at(23), "~"))
        assert store.count_cases(query) == len(expected)  # paging is no filter

    def test_query_filter_times_may_be_in_any_zone(self, store: StorePort) -> None:
        store.upsert_cases(queue())
        local = (T0 + timedelta(hours=1)).astimezone(timezone(timedelta(hours=5, minutes=30)))
        assert ids(store.query_cases(CaseQuery(opened_to=local))) == ["C-3", "C-1"]
        with pytest.raises(StoreError):
            store.query_cases(CaseQuery(opened_to=datetime(2026, 5, 4)))

    @pytest.mark.parametrize("sort", [*SORTS, *(f"-{s}" for s in SORTS)])
    def test_paging_gives_every_case_once_in_order(self, store: StorePort, sort: str) -> None:
        cases = paging_cases()
        store.upsert_cases(cases)
        pages = page_through(store, CaseQuery(sort=sort, limit=10))
        assert [len(page) for page in pages] == [10, 10, 10, 10, 10, 7]
        assert [i for page in pages for i in page] == expected_order(cases, sort)

    @pytest.mark.parametrize("sort", ["due_at", "-due_at", "-priority", "updated_at"])
    def test_paging_a_filtered_query(self, store: StorePort, sort: str) -> None:
        cases = paging_cases()
        store.upsert_cases(cases)
        query = CaseQuery(statuses=("open",), min_priority=10.0, sort=sort, limit=7)
        got = [i for page in page_through(store, query) for i in page]
        wanted = [c for c in cases if c["status"] == "open" and c["priority"] >= 10.0]
        assert got == expected_order(wanted, sort)
        assert store.count_cases(query) == len(wanted)

    def test_a_cursor_is_json_and_a_page_starts_after_it(self, store: StorePort) -> None:
        store.upsert_cases(queue())
        c2 = store.get_case("C-2")
        assert cursor_of(c2, "-priority") == (50.0, "C-2")
        assert cursor_of(c2, "due_at") == (None, "C-2")
        assert cursor_of(c2, "opened_at") == ("2026-05-04T09:00:00+00:00", "C-2")
        after = cursor_of(store.get_case("C-4"), "-due_at")
        assert ids(store.query_cases(CaseQuery(sort="-due_at", after=after))) == ["C-2"]
        after = cursor_of(store.get_case("C-1"), "opened_at")
        assert ids(store.query_cases(CaseQuery(sort="opened_at", after=after))) == ["C-2", "C-4"]
        tied = CaseQuery(sort="priority", after=(30.0, "C-3"), limit=2)
        assert ids(store.query_cases(tied)) == ["C-4", "C-2"]  # C-4 ties at 30 after C-3
        assert store.query_cases(CaseQuery(limit=0)) == []

    @pytest.mark.parametrize(
        "query",
        [
            CaseQuery(sort="name"),
            CaseQuery(sort="--priority"),
            CaseQuery(sort="priority", after=(None, "C-1")),
            CaseQuery(sort="priority", after=("high", "C-1")),
            CaseQuery(sort="due_at", after=("not a time", "C-1")),
            CaseQuery(sort="opened_at", after=(None, "C-1")),
            CaseQuery(sort="due_at", after=("C-1",)),  # type: ignore[arg-type]
        ],
    )
    def test_a_bad_sort_or_cursor_is_a_value_error(
        self, store: StorePort, query: CaseQuery
    ) -> None:
        store.upsert_cases(queue())
        with pytest.raises(ValueError):
            store.query_cases(query)

    def test_a_bad_sort_names_the_allowed_ones(self, store: StorePort) -> None:
        with pytest.raises(ValueError, match=r"priority.*due_at.*opened_at.*updated_at"):
            store.query_cases(CaseQuery(sort="age"))
        with pytest.raises(ValueError, match="-due_at"):
            cursor_of(case("C-1"), "age")

    def test_cases_are_counted_by_a_column(self, store: StorePort) -> None:
        store.upsert_cases(queue())
        assert store.case_counts("type") == {"pick.short": 2, "credit.hold": 1, "late.shipment": 1}
        assert store.case_counts("owner_team", ("open",)) == {"warehouse": 1, "finance": 1}
        assert store.case_counts("status", ("open", "snoozed", "gone")) == {"open": 2, "snoozed": 1}
        assert store.case_counts("status") == {"open": 2, "closed": 1, "snoozed": 1}
        assert store.case_counts("type", ("gone",)) == {}
        with pytest.raises(ValueError, match="owner_team"):
            store.case_counts("priority")

    def test_counts_follow_upserts(self, store: StorePort) -> None:
        store.upsert_cases(queue())
        store.upsert_cases([case("C-1", status="closed", refs={"order_id": "SO-9"})])
        assert store.count_cases(CaseQuery(statuses=("open",))) == 1
        assert store.count_cases(CaseQuery(refs=(("order_id", "SO-1"),))) == 2
        assert store.count_cases(CaseQuery(refs=(("order_id", "SO-9"),))) == 1


class StoreContract(ApiStoreContract):
    """Subclasses provide a ``store`` fixture yielding an empty store to test."""

    # event log

    def test_new_events_are_reported_new(self, store: StorePort) -> None:
        assert store.append_events(events(3)) == [True, True, True]
        assert store.event_count() == 3

    def test_a_duplicate_within_one_batch_is_stored_once(self, store: StorePort) -> None:
        a, b = event("a"), event("b")
        assert store.append_events([a, b, event("a"), b]) == [True, True, False, False]
        assert [raw["id"] for _, raw in store.iter_events()] == ["a", "b"]

    def test_a_duplicate_across_batches_is_not_stored_again(self, store: StorePort) -> None:
        store.append_events([event("a"), event("b")])
        assert store.append_events([event("b", tier="silver"), event("c")]) == [False, True]
        stored = {raw["id"]: raw["data"]["tier"] for _, raw in store.iter_events()}
        assert stored == {"a": "gold", "b": "gold", "c": "gold"}

    def test_the_same_id_from_another_source_is_another_event(self, store: StorePort) -> None:
        assert store.append_events([event("a", "crm"), event("a", "erp")]) == [True, True]

    def test_events_come_back_in_append_order_with_rising_seq(self, store: StorePort) -> None:
        store.append_events([event("z"), event("m")])
        store.append_events([event("a")])
        stored = list(store.iter_events())
        assert [raw["id"] for _, raw in stored] == ["z", "m", "a"]
        seqs = [seq for seq, _ in stored]
        assert seqs == sorted(seqs) and len(set(seqs)) == 3
        assert store.last_seq() == seqs[-1]

    def test_iter_events_resumes_after_a_seq_across_pages(self, store: StorePort) -> None:
        store.append_events(events(7))
        seqs = [seq for seq, _ in store.iter_events()]
        resumed = list(store.iter_events(after_seq=seqs[2], batch_size=2))
        assert [raw["id"] for _, raw in resumed] == ["e4", "e5", "e6", "e7"]

    def test_a_cases_events_come_by_subject_in_event_time_order(self, store: StorePort) -> None:
        def about(event_id: str, subject: str, hour: int) -> Event:
            raw = envelope(event_id, customer_id="C1")
            raw.update(subject=subject, time=f"2026-05-04T{hour:02d}:00:00Z")
            return parse_event(raw)

        store.append_events(
            [
                about("a", "SO-1", 9),
                about("b", "SO-2", 8),
                about("c", "SH-1", 7),
                about("d", "SO-1", 6),
            ]
        )
        found = store.events_about(["SO-1", "SH-1"])
        assert [raw["id"] for raw in found] == ["d", "c", "a"]
        assert [raw["id"] for raw in store.events_about(["SO-1", "SH-1"], limit=2)] == ["d", "c"]
        assert store.events_about([]) == []

    def test_the_envelope_comes_back_as_received(self, store: StorePort) -> None:
        raw = envelope("x", name='Zoë "Ω" \\ \u0000', note=[1, 2.5, None, True])
        raw["traceparent"] = "00-abc-01"  # a CloudEvents extension attribute
        store.append_events([parse_event(raw)])
        assert [doc for _, doc in store.iter_events()] == [raw]

    def test_an_empty_log_starts_at_seq_zero(self, store: StorePort) -> None:
        assert store.append_events([]) == []
        assert (store.last_seq(), store.event_count(), list(store.iter_events())) == (0, 0, [])

    # dead letters

    @pytest.mark.parametrize(
        "raw",
        [
            "{not json",
            '  {"id": 1}\t \r\n',
            "nul \x00 inside",
            "\ufffe starts with the escape mark \\0 \\\\",
            "caf\u00e9 \U0001f4e6 \ufffd",
            "",
        ],
    )
    def test_dead_letters_keep_the_raw_input_exactly(self, store: StorePort, raw: str) -> None:
        store.add_dead_letters([dead_letter(raw)])
        [stored] = store.list_dead_letters()
        assert stored.raw == raw
        assert (stored.reason, stored.field, stored.origin) == ("not JSON", None, "in.jsonl:3")

    def test_dead_letters_are_listed_in_arrival_order(self, store: StorePort) -> None:
        store.add_dead_letters([dead_letter("1"), dead_letter("2")])
        store.add_dead_letters([dead_letter("3")])
        first = store.list_dead_letters(limit=2)
        assert [d.raw for d in first] == ["1", "2"]
        assert [d.raw for d in store.list_dead_letters(after_id=first[-1].id)] == ["3"]
        assert store.dead_letter_count() == 3

    def test_dead_letter_times_come_back_in_utc(self, store: StorePort) -> None:
        local = T0.astimezone(timezone(timedelta(hours=-5)))
        store.add_dead_letters([dead_letter("x", when=local)])
        [stored] = store.list_dead_letters()
        assert stored.received_at == T0 and stored.received_at.utcoffset() == timedelta(0)
        assert stored.replayed_at is None

    def test_a_naive_time_is_refused(self, store: StorePort) -> None:
        with pytest.raises(StoreError):
            store.add_dead_letters([dead_letter("x", when=datetime(2026, 5, 4))])
        assert store.dead_letter_count() == 0

    # cases

    def test_a_case_comes_back_whole(self, store: StorePort) -> None:
        stored = case("C-1", refs={"order_id": "SO-1", "sku": ["A", "B"]}, extra={"k": [1]})
        store.upsert_cases([stored])
        assert store.get_case("C-1") == stored

    def test_an_unknown_case_is_not_found(self, store: StorePort) -> None:
        with pytest.raises(NotFound):
            store.get_case("C-missing")

    def test_upserting_again_replaces_the_case_and_its_refs(self, store: StorePort) -> None:
        store.upsert_cases([case("C-1", refs={"order_id": "SO-1"})])
        store.upsert_cases([case("C-1", status="closed", refs={"order_id": "SO-2"})])
        assert store.get_case("C-1")["status"] == "closed"
        assert store.list_cases(ref=("order_id", "SO-1")) == []
        assert ids(store.list_cases(ref=("order_id", "SO-2"))) == ["C-1"]
        assert ids(store.list_cases()) == ["C-1"]

    def test_the_last_of_two_versions_in_one_batch_wins(self, store: StorePort) -> None:
        store.upsert_cases([case("C-1", priority=1.0), case("C-1", priority=2.0)])
        assert store.get_case("C-1")["priority"] == 2.0

    def test_cases_are_listed_by_priority_then_age_then_id(self, store: StorePort) -> None:
        store.upsert_cases(
            [
                case("C-b", priority=10.0),
                case("C-a", priority=10.0),
                case("C-old", priority=10.0, opened_at="2026-05-03T08:00:00+02:00"),
                case("C-top", priority=90.5),
                case("C-low", priority=0.0),
            ]
        )
        assert ids(store.list_cases()) == ["C-top", "C-old", "C-a", "C-b", "C-low"]
        assert ids(store.list_cases(limit=2)) == ["C-top", "C-old"]

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({"type": "credit.hold"}, ["C-2"]),
            ({"team": "warehouse"}, ["C-1", "C-3"]),
            ({"status": "closed"}, ["C-3"]),
            ({"team": "warehouse", "status": "open"}, ["C-1"]),
            ({"type": "pick.short", "team": "finance"}, []),
        ],
    )
    def test_cases_filter_by_type_team_and_status(
        self, store: StorePort, filters: dict[str, str], expected: list[str]
    ) -> None:
        store.upsert_cases(
            [
                case("C-1", priority=3.0),
                case("C-2", priority=2.0, type="credit.hold", owner_team="finance"),
                case("C-3", priority=1.0, status="closed", closed_at="2026-05-05T08:00:00Z"),
            ]
        )
        assert ids(store.list_cases(**filters)) == expected  # type: ignore[arg-type]

    def test_a_case_is_found_from_any_of_its_refs(self, store: StorePort) -> None:
        store.upsert_cases(
            [
                case("C-1", refs={"order_id": "SO-1", "sku": ["A", "B"]}),
                case("C-2", refs={"order_id": "SO-2", "sku": "B"}, priority=60.0),
            ]
        )
        assert ids(store.list_cases(ref=("sku", "A"))) == ["C-1"]
        assert ids(store.list_cases(ref=("sku", "B"))) == ["C-2", "C-1"]
        assert ids(store.list_cases(ref=("order_id", "SO-2"), status="open")) == ["C-2"]
        assert store.list_cases(ref=("order_id", "B")) == []

    def test_a_case_without_its_keys_is_refused(self, store: StorePort) -> None:
        incomplete = case("C-1")
        del incomplete["owner_team"]
        with pytest.raises(StoreError, match="owner_team"):
            store.upsert_cases([case("C-0"), incomplete])
        assert store.list_cases() == []

    # checkpoints

    def test_a_checkpoint_round_trips_and_is_overwritten(self, store: StorePort) -> None:
        assert store.load_checkpoint("engine") is None
        store.save_checkpoint("engine", 7, "1", b"\x00\xffstate")
        store.save_checkpoint("engine", 9, "2", b"newer")
        store.save_checkpoint("other", 1, "1", b"")
        assert store.load_checkpoint("engine") == (9, "2", b"newer")
        assert store.load_checkpoint("other") == (1, "1", b"")

    # decisions: cases, outbox and audit in one transaction

    def test_a_decision_lands_with_its_actions_and_audit_entries(self, store: StorePort) -> None:
        store.save_decisions([case("C-1")], [action("k1")], [entry("C-1:1")])
        assert store.get_case("C-1") == case("C-1")
        [stored] = store.list_actions()
        assert (stored.key, stored.case_id, stored.kind, stored.connector) == (
            "k1",
            "C-1",
            "release_hold",
            "erp-hook",
        )
        assert (stored.params, stored.created_at, stored.requested_by) == (
            {"order_id": "SO-1"},
            T0,
            "ana",
        )
        assert (stored.status, stored.attempts, stored.next_attempt_at) == ("pending", 0, T0)
        assert (stored.last_error, stored.delivered_at, stored.response) == (None, None, None)
        assert chain_ids(store) == ["C-1:1"]

    def test_a_refused_case_leaves_no_action_and_no_audit_entry(self, store: StorePort) -> None:
        incomplete = case("C-2")
        del incomplete["owner_team"]
        with pytest.raises(StoreError, match="owner_team"):
            store.save_decisions(
                [case("C-1"), incomplete], [action("k1")], [entry("C-1:1"), entry("C-2:1")]
            )
        assert (store.list_cases(), store.list_actions(), chain_ids(store)) == ([], [], [])

    @pytest.mark.parametrize(
        "spoiled",
        [
            {"actions": [action("k1"), action("k2", order_id=object())]},
            {"actions": [action("k1", created=datetime(2026, 5, 4))]},
            {"audit": [entry("C-1:1"), entry("C-1:2", at=datetime(2026, 5, 4))]},
            {"audit": [entry("C-1:1", bad={1, 2})]},
        ],
        ids=["params not JSON", "naive created_at", "naive audit time", "detail not JSON"],
    )
    def test_an_action_or_entry_that_cannot_be_stored_leaves_nothing(
        self, store: StorePort, spoiled: dict[str, Any]
    ) -> None:
        batch: dict[str, Any] = {"cases": [case("C-1")], "actions": [action("k0")], "audit": []}
        with pytest.raises(StoreError):
            store.save_decisions(**(batch | spoiled))
        assert (store.list_cases(), store.list_actions(), chain_ids(store)) == ([], [], [])

    def test_an_empty_decision_changes_nothing(self, store: StorePort) -> None:
        store.save_decisions([], [], [])
        assert (store.list_actions(), chain_ids(store)) == ([], [])

    # outbox

    def test_the_outbox_keeps_the_first_action_of_a_key(self, store: StorePort) -> None:
        store.save_decisions([], [action("k1"), action("k1", order_id="SO-2")], [])
        store.save_decisions([case("C-1")], [action("k1", order_id="SO-3"), action("k2")], [])
        assert keys(store.list_actions()) == ["k1", "k2"]
        assert store.list_actions()[0].params == {"order_id": "SO-1"}

    def test_a_replayed_action_does_not_revive_a_delivered_one(self, store: StorePort) -> None:
        store.save_decisions([], [action("k1")], [])
        assert keys(store.claim_actions(T0, 10, 60)) == ["k1"]
        store.mark_delivered("k1", later(1), "ok")
        store.save_decisions([], [action("k1")], [])
        [stored] = store.list_actions()
        assert (stored.status, stored.attempts) == ("delivered", 1)

    def test_due_actions_are_claimed_oldest_first_up_to_the_limit(self, store: StorePort) -> None:
        store.save_decisions(
            [], [action("k3", created=later(2)), action("k1"), action("k2", created=later(1))], []
        )
        claimed = store.claim_actions(later(10), limit=2, lease_s=60)
        assert keys(claimed) == ["k1", "k2"]
        assert {(a.attempts, a.next_attempt_at) for a in claimed} == {(1, later(70))}
        assert keys(store.claim_actions(later(10), limit=5, lease_s=60)) == ["k3"]

    def test_an_action_is_not_claimed_before_it_is_due(self, store: StorePort) -> None:
        store.save_decisions([], [action("k1", created=later(60))], [])
        assert store.claim_actions(later(59), 10, 60) == []
        assert keys(store.claim_actions(later(60), 10, 60)) == ["k1"]

    def test_a_claimed_action_is_claimed_again_only_when_its_lease_ends(
        self, store: StorePort
    ) -> None:
        store.save_decisions([], [action("k1")], [])
        assert keys(store.claim_actions(T0, 10, lease_s=30)) == ["k1"]
        assert store.claim_actions(later(29.999), 10, lease_s=30) == []
        [again] = store.claim_actions(later(30), 10, lease_s=30)
        assert (again.key, again.attempts, again.status) == ("k1", 2, "pending")
        assert again.next_attempt_at == later(60)

    def test_a_retry_is_due_again_at_its_time_with_its_error(self, store: StorePort) -> None:
        store.save_decisions([], [action("k1")], [])
        store.claim_actions(T0, 10, 60)
        store.mark_retry("k1", later(5), "HTTP 503")
        [waiting] = store.list_actions()
        assert (waiting.status, waiting.last_error, waiting.next_attempt_at) == (
            "pending",
            "HTTP 503",
            later(5),
        )
        assert store.claim_actions(later(4), 10, 60) == []
        assert [a.attempts for a in store.claim_actions(later(5), 10, 60)] == [2]

    def test_a_delivered_action_is_final(self, store: StorePort) -> None:
        store.save_decisions([], [action("k1")], [])
        store.claim_actions(T0, 10, 60)
        store.mark_delivered("k1", later(1), response='{"ok": true}')
        store.mark_retry("k1", later(2), "late retry")  # a dispatcher whose lease ran out
        store.mark_failed("k1", later(2), "late failure")
        [done] = store.list_actions()
        assert (done.status, done.delivered_at, done.response) == (
            "delivered",
            later(1),
            '{"ok": true}',
        )
        assert done.last_error is None
        assert store.claim_actions(later(3600), 10, 60) == []

    def test_a_failed_action_is_final_and_keeps_its_error(self, store: StorePort) -> None:
        store.save_decisions([], [action("k1")], [])
        store.claim_actions(T0, 10, 60)
        store.mark_failed("k1", later(1), "HTTP 400: unknown order")
        store.mark_delivered("k1", later(2))
        [failed] = store.list_actions(status="failed")
        assert (failed.status, failed.last_error, failed.delivered_at) == (
            "failed",
            "HTTP 400: unknown order",
            None,
        )
        assert store.claim_actions(later(3600), 10, 60) == []

    @pytest.mark.parametrize(
        "mark",
        [
            lambda s: s.mark_delivered("nope", T0),
            lambda s: s.mark_retry("nope", T0, "x"),
            lambda s: s.mark_failed("nope", T0, "x"),
        ],
        ids=["delivered", "retry", "failed"],
    )
    def test_marking_an_unknown_action_is_not_found(
        self, store: StorePort, mark: Callable[[StorePort], None]
    ) -> None:
        with pytest.raises(NotFound):
            mark(store)

    def test_actions_are_listed_by_case_status_and_due_time(self, store: StorePort) -> None:
        store.save_decisions(
            [],
            [action("b", "C-1"), action("a", "C-2"), action("c", "C-1", created=later(1))],
            [],
        )
        store.claim_actions(T0, 1, 60)  # "a": leased until T0 + 60 s
        store.mark_retry("a", later(90), "busy")
        store.claim_actions(T0, 1, 60)  # "b"
        store.mark_delivered("b", later(2))
        assert keys(store.list_actions()) == ["a", "b", "c"]
        assert keys(store.list_actions(case_id="C-1")) == ["b", "c"]
        assert keys(store.list_actions(status="pending")) == ["a", "c"]
        assert keys(store.list_actions(status="pending", by_due=True)) == ["c", "a"]
        assert keys(store.list_actions(case_id="C-1", status="pending", limit=1)) == ["c"]

    # audit chain

    def test_audit_entries_are_chained_in_append_order(self, store: StorePort) -> None:
        store.save_decisions([], [], [entry("C-1:1"), entry("C-2:1", "C-2")])
        store.save_decisions([], [], [entry("C-1:2", at=later(1))])
        chain = list(store.iter_audit())
        assert [c.entry.id for c in chain] == ["C-1:1", "C-2:1", "C-1:2"]
        assert [c.seq for c in chain] == sorted({c.seq for c in chain})
        assert chain[0].prev == GENESIS
        assert [c.prev for c in chain[1:]] == [c.hash for c in chain[:-1]]
        assert all(c.hash == entry_hash(c.prev, c.entry) for c in chain)
        assert verify(chain).ok and verify(chain).checked == 3

    def test_an_entry_already_chained_is_skipped(self, store: StorePort) -> None:
        store.save_decisions([], [], [entry("C-1:1"), entry("C-1:1", note="again")])
        store.save_decisions([], [], [entry("C-1:1", note="replayed"), entry("C-1:2")])
        chain = list(store.iter_audit())
        assert [c.entry.id for c in chain] == ["C-1:1", "C-1:2"]
        assert chain[0].entry.detail == {"note": "C-1:1"}
        assert chain[1].prev == chain[0].hash and verify(chain).ok

    def test_an_entry_comes_back_as_given_in_utc(self, store: StorePort) -> None:
        local = later(0.25).astimezone(timezone(timedelta(hours=-5)))
        given = entry("C-1:1", at=local, note='Zoë "Ω"', amounts=[1, 2.5, None], nested={"a": {}})
        store.save_decisions([], [], [given])
        [chained] = store.iter_audit()
        assert chained.entry == AuditEntry(
            "C-1:1", later(0.25), "C-1", "comment", "ana", given.detail
        )
        assert chained.entry.at.utcoffset() == timedelta(0)
        assert chained.hash == entry_hash(GENESIS, chained.entry)

    def test_a_case_audit_trail_holds_only_its_entries(self, store: StorePort) -> None:
        store.save_decisions(
            [], [], [entry("C-1:1"), entry("C-2:1", "C-2"), entry("C-1:2"), entry("C-3:1", "C-3")]
        )
        assert [c.entry.id for c in store.audit_for_case("C-1")] == ["C-1:1", "C-1:2"]
        assert store.audit_for_case("C-9") == []

    def test_the_audit_trail_resumes_after_a_seq(self, store: StorePort) -> None:
        store.save_decisions([], [], [entry(f"C-1:{n}") for n in range(1, 5)])
        seqs = [c.seq for c in store.iter_audit()]
        assert [c.entry.id for c in store.iter_audit(after_seq=seqs[1])] == ["C-1:3", "C-1:4"]

    # lifecycle

    def test_a_store_is_a_context_manager(self, store: StorePort) -> None:
        with store as entered:
            assert entered is store


class DurableStoreContract(StoreContract, ABC):
    """Stores whose data outlives the object: reopening the same URL finds it again.

    Subclasses set ``self.url`` in their ``store`` fixture; the concurrency tests open
    more stores on it, as several processes would.
    """

    url: str

    @abstractmethod
    def reopen(self, store: StorePort) -> StorePort:
        """Close ``store`` and open the same database afresh."""

    def test_outbox_and_audit_are_still_there_after_reopening(self, store: StorePort) -> None:
        store.save_decisions([case("C-1")], [action("k1")], [entry("C-1:1"), entry("C-1:2")])
        with self.reopen(store) as again:
            again.save_decisions([], [action("k1"), action("k2")], [entry("C-1:3")])
            assert keys(again.list_actions()) == ["k1", "k2"]
            chain = list(again.iter_audit())
            assert [c.entry.id for c in chain] == ["C-1:1", "C-1:2", "C-1:3"]
            assert verify(chain).ok

    def test_concurrent_claims_never_take_the_same_action(self, store: StorePort) -> None:
        store.save_decisions([], [action(f"k{n:03}") for n in range(120)], [])
        taken = in_parallel(self.url, 4, lambda other, _: drain(other))
        every = [key for keys_ in taken for key in keys_]
        assert sorted(every) == [f"k{n:03}" for n in range(120)]  # each once, none lost

    def test_concurrent_writers_extend_one_unbroken_chain(self, store: StorePort) -> None:
        def write(other: StorePort, worker: int) -> list[str]:
            for n in range(15):
                other.save_decisions([], [], [entry(f"W{worker}:{n}", f"C-{worker}")])
            return []

        in_parallel(self.url, 4, write)
        chain = list(store.iter_audit())
        assert len(chain) == 60 and verify(chain).ok

    def test_a_claim_skips_rows_another_transaction_holds(self, store: StorePort) -> None:
        if not (isinstance(store, Store) and store.engine.dialect.name == "postgresql"):
            pytest.skip("row locks are a PostgreSQL matter; SQLite has one writer")
        store.save_decisions([], [action("k1"), action("k2"), action("k3")], [])
        claimed: list[str] = []
        with store.engine.connect() as holder, holder.begin():
            holder.execute(text("SELECT key FROM outbox WHERE key = 'k1' FOR UPDATE"))
            worker = threading.Thread(
                target=lambda: claimed.extend(keys(store.claim_actions(T0, 10, 60)))
            )
            worker.start()
            worker.join(timeout=10)
            assert not worker.is_alive(), "the claim waited for the locked row"
        assert claimed == ["k2", "k3"]
        assert keys(store.claim_actions(T0, 10, 60)) == ["k1"]

    def test_racing_idempotent_writers_store_one_response(self, store: StorePort) -> None:
        def put(other: StorePort, worker: int) -> list[str]:
            won = other.put_idempotent(response("req-1", body=f'{{"worker": {worker}}}'))
            return [f'{{"worker": {worker}}}'] if won else []

        winners = [body for bodies in in_parallel(self.url, 4, put) for body in bodies]
        record = store.get_idempotent("k1", "req-1")
        assert len(winners) == 1 and record is not None and record.body == winners[0]

    def test_api_keys_and_replays_are_still_there_after_reopening(self, store: StorePort) -> None:
        store.add_api_key(api_key("k1"))
        store.put_idempotent(response("req-1"))
        store.add_dead_letters([dead_letter("{bad")])
        [letter] = store.list_dead_letters()
        store.mark_dead_letter_replayed(letter.id, later(1))
        with self.reopen(store) as again:
            assert again.get_api_key("k1") == api_key("k1")
            assert again.get_idempotent("k1", "req-1") == response("req-1")
            assert again.get_dead_letter(letter.id).replayed_at == later(1)

    def test_data_is_still_there_after_reopening(self, store: StorePort) -> None:
        store.append_events(events(3))
        store.add_dead_letters([dead_letter("{bad")])
        store.upsert_cases([case("C-1")])
        store.save_checkpoint("engine", 3, "1", b"blob")
        with self.reopen(store) as again:
            assert again.append_events([event("e3"), event("e4")]) == [False, True]
            assert [raw["id"] for _, raw in again.iter_events()] == ["e1", "e2", "e3", "e4"]
            assert [d.raw for d in again.list_dead_letters()] == ["{bad"]
            assert again.get_case("C-1") == case("C-1")
            assert again.load_checkpoint("engine") == (3, "1", b"blob")


def drain(store: StorePort) -> list[str]:
    """Claim a few at a time until nothing is due; the keys this store took."""
    taken: list[str] = []
    while claimed := store.claim_actions(T0, 3, 600):
        taken.extend(keys(claimed))
    return taken


def in_parallel(
    url: str, workers: int, work: Callable[[StorePort, int], list[str]]
) -> list[list[str]]:
    """Run ``work(store, worker)`` in threads, each on a store of its own, all at once."""
    start = threading.Barrier(workers)
    results: list[list[str]] = [[] for _ in range(workers)]
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            with open_store(url, migrate=False) as own:
                start.wait()
                results[worker] = work(own, worker)
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results
