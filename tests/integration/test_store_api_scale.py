"""Case queries on a queue of 10,000+ open cases agree with the in-memory twin.

The pages, deep cursor pages and counts of the dashboard's queries are checked against
:class:`MemoryStore` on the same data. Their speed is measured in bench/bench_queue.py,
not asserted here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from unsnag.store import CaseQuery, MemoryStore, Store, cursor_of, open_store

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
TEAMS = ("warehouse", "finance", "logistics", "support")
TYPES = ("pick.short", "credit.hold", "late.shipment")
COUNT = 12_000


def big_queue() -> list[dict[str, Any]]:
    cases = []
    for n in range(COUNT):
        opened = T0 + timedelta(minutes=n % 997)
        cases.append(
            {
                "id": f"C-{n:05}",
                "type": TYPES[n % 3],
                "status": "closed" if n % 6 == 5 else "open",
                "subject": f"SO-{n % 1500}",
                "refs": {"order_id": f"SO-{n % 1500}", "customer_id": f"CU-{n % 300}"},
                "priority": float((n * 37) % 101),
                "owner_team": TEAMS[n % 4],
                "opened_at": opened.isoformat(),
                "due_at": None if n % 5 == 0 else (opened + timedelta(hours=n % 48)).isoformat(),
                "updated_at": (opened + timedelta(seconds=n % 13)).isoformat(),
                "closed_at": None,
                "timeline": [{"at": opened.isoformat(), "what": "opened", "note": "x" * 200}],
            }
        )
    return cases


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    return big_queue()


@pytest.fixture(scope="module")
def twin(cases: list[dict[str, Any]]) -> MemoryStore:
    memory = MemoryStore()
    memory.upsert_cases(cases)
    return memory


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, cases: list[dict[str, Any]]) -> Iterator[Store]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    with open_store(url) as opened:
        for start in range(0, len(cases), 2000):
            opened.upsert_cases(cases[start : start + 2000])
        yield opened


QUERIES = [
    CaseQuery(statuses=("open",)),
    CaseQuery(statuses=("open",), teams=("warehouse",), sort="-priority"),
    CaseQuery(statuses=("open",), sort="due_at", limit=100),
    CaseQuery(statuses=("open",), sort="-due_at", limit=100),
    CaseQuery(types=("credit.hold",), refs=(("customer_id", "CU-7"),), sort="-updated_at"),
    CaseQuery(due_before=T0 + timedelta(hours=3), min_priority=50.0, sort="opened_at"),
]


@pytest.mark.slow
def test_queue_queries_agree_with_the_twin(store: Store, twin: MemoryStore) -> None:
    for query in QUERIES:
        rows = store.query_cases(query)
        assert [c["id"] for c in rows] == [c["id"] for c in twin.query_cases(query)], query
        if len(rows) == query.limit:  # the page after this one, by its cursor
            deep = replace(query, after=cursor_of(rows[-1], query.sort))
            page = store.query_cases(deep)
            assert [c["id"] for c in page] == [c["id"] for c in twin.query_cases(deep)]
        assert store.count_cases(query) == twin.count_cases(query)


@pytest.mark.slow
def test_queue_counts_agree_with_the_twin(store: Store, twin: MemoryStore) -> None:
    open_ = ("open",)
    assert store.count_cases(CaseQuery(statuses=open_)) == 10_000
    for by in ("type", "owner_team", "status"):
        assert store.case_counts(by, open_) == twin.case_counts(by, open_)
