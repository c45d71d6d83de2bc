"""``verify_store`` on a real database names what was done to the audit table behind
unsnag's back, by raw SQL, as someone with database access would do it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from unsnag.audit_service import verify_store
from unsnag.resolve.audit import EDITED, UNLINKED
from unsnag.resolve.model import AuditEntry
from unsnag.store import Store, open_store

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def entry(n: int, case_id: str = "C-1") -> AuditEntry:
    at = T0 + timedelta(minutes=n)
    return AuditEntry(f"{case_id}:{n}", at, case_id, "comment", "ana", {"note": f"n{n}"})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    with open_store(url) as opened:
        opened.save_decisions([], [], [entry(n) for n in range(1, 6)])
        yield opened


def tamper(store: Store, sql: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(sql))


def bad(store: Store) -> tuple[str | None, str | None]:
    result = verify_store(store)
    assert not result.ok
    return result.first_bad_id, result.reason


def test_an_untouched_trail_verifies(store: Store) -> None:
    result = verify_store(store)
    assert (result.ok, result.checked) == (True, 5)


def test_an_edited_detail_is_named(store: Store) -> None:
    tamper(store, """UPDATE audit SET detail = '{"note": "nothing to see"}' WHERE id = 'C-1:3'""")
    assert bad(store) == ("C-1:3", EDITED)


def test_an_edited_actor_is_named(store: Store) -> None:
    tamper(store, "UPDATE audit SET actor = 'mallory' WHERE id = 'C-1:2'")
    assert bad(store) == ("C-1:2", EDITED)


def test_an_edited_hash_is_named(store: Store) -> None:
    tamper(store, f"UPDATE audit SET hash = '{'0' * 64}' WHERE id = 'C-1:4'")
    assert bad(store) == ("C-1:4", EDITED)


def test_a_deleted_row_is_named_at_the_row_after_it(store: Store) -> None:
    tamper(store, "DELETE FROM audit WHERE id = 'C-1:3'")
    assert bad(store) == ("C-1:4", UNLINKED)
    assert verify_store(store).checked == 2


def test_reordered_rows_are_named_where_the_order_breaks(store: Store) -> None:
    seq = {c.entry.id: c.seq for c in store.iter_audit()}
    tamper(store, "UPDATE audit SET seq = -1 WHERE id = 'C-1:2'")
    tamper(store, f"UPDATE audit SET seq = {seq['C-1:2']} WHERE id = 'C-1:3'")
    tamper(store, f"UPDATE audit SET seq = {seq['C-1:3']} WHERE id = 'C-1:2'")
    assert [c.entry.id for c in store.iter_audit()][:3] == ["C-1:1", "C-1:3", "C-1:2"]
    assert bad(store) == ("C-1:3", UNLINKED)


def test_deleting_the_newest_row_shows_once_the_next_is_appended(store: Store) -> None:
    tamper(store, "DELETE FROM audit WHERE id = 'C-1:5'")
    assert verify_store(store).ok  # nothing after it to tell
    store.save_decisions([], [], [entry(6)])
    assert bad(store) == ("C-1:6", UNLINKED)


def test_appends_after_verifying_keep_the_chain_whole(store: Store) -> None:
    store.save_decisions([], [], [entry(1, "C-2"), entry(6), entry(3)])  # C-1:3 is chained
    result = verify_store(store)
    assert (result.ok, result.checked) == (True, 7)
