"""The audit hash chain: how entries are hashed, and how verify names what was done."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from unsnag.resolve.audit import (
    EDITED,
    GENESIS,
    UNLINKED,
    VerifyResult,
    entry_hash,
    normalise,
    verify,
)
from unsnag.resolve.model import AuditEntry
from unsnag.store.port import ChainedEntry

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def entry(n: int, **detail: object) -> AuditEntry:
    return AuditEntry(
        f"C-1:{n}", T0 + timedelta(minutes=n), "C-1", "comment", "ana", detail or {"n": n}
    )


def chained(count: int) -> list[ChainedEntry]:
    """A correct chain of ``count`` entries, seq 1..count."""
    chain: list[ChainedEntry] = []
    prev = GENESIS
    for n in range(1, count + 1):
        digest = entry_hash(prev, entry(n))
        chain.append(ChainedEntry(n, entry(n), prev, digest))
        prev = digest
    return chain


def test_the_hash_is_sha256_of_prev_and_the_entry_as_sorted_compact_json() -> None:
    given = entry(1, note="Zoë", amount=12.5, lines=[1, 2])
    document = {
        "id": "C-1:1",
        "at": "2026-05-04T08:01:00Z",
        "case_id": "C-1",
        "kind": "comment",
        "actor": "ana",
        "detail": {"note": "Zoë", "amount": 12.5, "lines": [1, 2]},
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hashlib.sha256((GENESIS + text).encode()).hexdigest()
    assert entry_hash(GENESIS, given) == expected


def test_the_hash_depends_on_prev() -> None:
    assert entry_hash(GENESIS, entry(1)) != entry_hash("f" * 64, entry(1))


def test_an_intact_chain_verifies() -> None:
    assert verify(chained(5)) == VerifyResult(ok=True, checked=5)


def test_an_empty_chain_verifies() -> None:
    assert verify([]) == VerifyResult(ok=True, checked=0)


def test_an_edited_detail_is_named_as_an_edited_entry() -> None:
    chain = chained(5)
    chain[2] = replace(chain[2], entry=replace(chain[2].entry, detail={"n": 999}))
    assert verify(chain) == VerifyResult(False, 2, 3, "C-1:3", EDITED)


@pytest.mark.parametrize("field", ["hash", "prev"])
def test_an_edited_hash_or_prev_is_named_as_an_edited_entry(field: str) -> None:
    chain = chained(4)
    chain[1] = replace(chain[1], **{field: "a" * 64})
    assert verify(chain) == VerifyResult(False, 1, 2, "C-1:2", EDITED)


def test_a_removed_entry_is_named_at_the_entry_after_it() -> None:
    chain = chained(5)
    del chain[2]
    assert verify(chain) == VerifyResult(False, 2, 4, "C-1:4", UNLINKED)


def test_a_removed_first_entry_is_named_at_the_new_first() -> None:
    result = verify(chained(3)[1:])
    assert (result.ok, result.checked, result.first_bad_id, result.reason) == (
        False,
        0,
        "C-1:2",
        UNLINKED,
    )


def test_reordered_entries_are_named_where_the_order_breaks() -> None:
    chain = chained(5)
    chain[1], chain[2] = chain[2], chain[1]
    assert verify(chain) == VerifyResult(False, 1, 3, "C-1:3", UNLINKED)


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_link_after_it() -> None:
    chain = chained(4)
    forged = replace(chain[1].entry, actor="mallory")
    chain[1] = replace(chain[1], entry=forged, hash=entry_hash(chain[1].prev, forged))
    assert verify(chain) == VerifyResult(False, 2, 3, "C-1:3", UNLINKED)


def test_the_verdict_reads_as_a_sentence() -> None:
    assert VerifyResult(True, 5).describe() == "audit chain intact: 5 entries verified"
    broken = VerifyResult(False, 2, 3, "C-1:3", EDITED).describe()
    assert broken == (
        "audit chain broken at seq 3 (entry C-1:3): hash mismatch: entry edited; "
        "2 entries before it verified"
    )


def test_normalising_puts_the_time_in_utc_and_the_detail_through_json() -> None:
    local = T0.astimezone(timezone(timedelta(hours=-5)))
    given = AuditEntry("C-1:1", local, "C-1", "comment", "ana", {"lines": (1, 2)})
    assert normalise(given) == AuditEntry("C-1:1", T0, "C-1", "comment", "ana", {"lines": [1, 2]})
    assert entry_hash(GENESIS, normalise(given)) == entry_hash(GENESIS, normalise(normalise(given)))


def test_a_naive_time_cannot_be_chained() -> None:
    with pytest.raises(ValueError, match="naive"):
        normalise(AuditEntry("C-1:1", datetime(2026, 5, 4), "C-1", "comment", "ana"))
