"""The behaviour every store must show, as one abstract test class.

Each implementation (memory, SQLite, PostgreSQL) subclasses :class:`StoreContract` and
only says how to open a store; a new backend is done when it passes these tests. Stores
that keep data across processes also subclass :class:`DurableStoreContract`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from unsnag.errors import NotFound, StoreError
from unsnag.events import Event, parse_event
from unsnag.store import DeadLetter, StorePort

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


# --- the contract -----------------------------------------------------------------------


class StoreContract:
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

    # lifecycle

    def test_a_store_is_a_context_manager(self, store: StorePort) -> None:
        with store as entered:
            assert entered is store


class DurableStoreContract(StoreContract, ABC):
    """Stores whose data outlives the object: reopening the same URL finds it again."""

    @abstractmethod
    def reopen(self, store: StorePort) -> StorePort:
        """Close ``store`` and open the same database afresh."""

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
