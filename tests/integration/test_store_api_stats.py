"""Hour buckets of the event stats, computed by the database itself, on exact edges.

The contract cannot choose ``received_at`` (the store stamps it), so these tests write
rows with chosen times straight into the tables, on SQLite and on PostgreSQL, the
latter also in a session whose time zone is not UTC (nor a whole hour away from it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from unsnag.store import DeadLetter, Store, open_store
from unsnag.store import tables as t

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)


def in_zone(url: str, zone: str) -> str:
    """The URL with the session time zone set as well as its search_path."""
    parsed = make_url(url)
    options = f"{parsed.query.get('options', '')} -ctimezone={zone}".strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("postgres-kolkata", marks=pytest.mark.postgres),
    ]
)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("pg_url")
        if request.param == "postgres-kolkata":
            url = in_zone(url, "Asia/Kolkata")
    with open_store(url) as opened:
        if request.param == "postgres-kolkata":
            with opened.engine.connect() as connection:
                zone = connection.execute(text("SHOW timezone")).scalar_one()
            assert zone == "Asia/Kolkata"  # date_trunc here would cut at :30 past UTC hours
        yield opened


def put_events(store: Store, rows: list[tuple[str, datetime]]) -> None:
    values = [
        {
            "source": source,
            "event_id": f"e{n}",
            "type": "customer.upserted",
            "subject": "C1",
            "time": T0,
            "raw": "{}",
            "received_at": received,
        }
        for n, (source, received) in enumerate(rows)
    ]
    with store.engine.begin() as connection:
        connection.execute(t.events.insert(), values)


def test_events_fall_in_the_utc_hour_they_were_received(store: Store) -> None:
    put_events(
        store,
        [
            ("crm", T0 - TICK),
            ("crm", T0),
            ("erp", T0 + 30 * timedelta(minutes=1)),
            ("crm", T0 + HOUR - TICK),
            ("erp", (T0 + HOUR).astimezone(timezone(timedelta(hours=5, minutes=30)))),
            ("crm", T0 + 2 * HOUR + timedelta(minutes=45)),
            ("crm", T0 + 3 * HOUR),
        ],
    )
    assert store.event_counts(T0, T0 + 3 * HOUR) == [
        ("crm", T0, 2),
        ("erp", T0, 1),
        ("erp", T0 + HOUR, 1),
        ("crm", T0 + 2 * HOUR, 1),
    ]
    assert store.event_counts(T0 - HOUR) == [
        ("crm", T0 - HOUR, 1),
        ("crm", T0, 2),
        ("erp", T0, 1),
        ("erp", T0 + HOUR, 1),
        ("crm", T0 + 2 * HOUR, 1),
        ("crm", T0 + 3 * HOUR, 1),
    ]
    for _, bucket, _ in store.event_counts(T0 - HOUR):
        assert bucket.tzinfo is not None and bucket.utcoffset() == timedelta(0)


def test_dead_letters_fall_in_the_utc_hour_they_were_received(store: Store) -> None:
    def letter(origin: str | None, when: datetime) -> DeadLetter:
        return DeadLetter("x", "bad", None, origin, when)

    store.add_dead_letters(
        [
            letter("a", T0 + HOUR - TICK),
            letter(None, T0 + HOUR),
            letter("a", T0 + HOUR + timedelta(minutes=29)),
            letter("b", T0 + HOUR + timedelta(minutes=31)),
        ]
    )
    assert store.dead_letter_counts(T0 + HOUR) == [(None, T0 + HOUR, 1), ("a", T0 + HOUR, 1),
                                                   ("b", T0 + HOUR, 1)]  # fmt: skip
    assert store.dead_letter_counts(T0)[0] == ("a", T0, 1)
