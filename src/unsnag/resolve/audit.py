"""The audit trail's hash chain: how an entry is hashed, and how a chain is verified.

Each chained entry carries ``prev``, the hash of the entry before it (:data:`GENESIS` for
the first), and ``hash`` = SHA-256 over ``prev`` followed by the entry's canonical JSON
(``AuditEntry.to_dict()`` with sorted keys, no whitespace). Editing an entry breaks its
own hash; removing or reordering entries breaks the link from the next one. Anyone with
read access to the chain can run :func:`verify`; no key is involved.

Pure: the store chains entries with :func:`entry_hash` when it appends them, and
:func:`unsnag.audit_service.verify_store` feeds the stored chain to :func:`verify`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Protocol

import orjson

from unsnag.resolve.model import AuditEntry

GENESIS = "0" * 64
"""The ``prev`` of the first entry in a chain."""

EDITED = "hash mismatch: entry edited"
UNLINKED = "prev does not match the previous hash: an entry was removed or reordered"


class Chained(Protocol):
    """What :func:`verify` reads of a chained entry (``store.port.ChainedEntry`` has it)."""

    @property
    def seq(self) -> int: ...

    @property
    def entry(self) -> AuditEntry: ...

    @property
    def prev(self) -> str: ...

    @property
    def hash(self) -> str: ...


def canonical(entry: AuditEntry) -> bytes:
    """The entry as canonical JSON: sorted keys, compact, times in UTC with a ``Z``."""
    return orjson.dumps(entry.to_dict(), option=orjson.OPT_SORT_KEYS)


def entry_hash(prev: str, entry: AuditEntry) -> str:
    """SHA-256 hex of ``prev`` followed by the entry's canonical JSON."""
    return hashlib.sha256(prev.encode() + canonical(entry)).hexdigest()


def normalise(entry: AuditEntry) -> AuditEntry:
    """The entry as a store gives it back: ``at`` in UTC, ``detail`` through JSON.

    Stores hash this form, so the hash recomputed from what they read back matches.
    A naive ``at`` is refused (``ValueError``) rather than guessed.
    """
    if entry.at.tzinfo is None:
        raise ValueError(f"audit entry {entry.id!r}: naive time {entry.at.isoformat()}")
    detail = orjson.loads(orjson.dumps(entry.detail))
    return replace(entry, at=entry.at.astimezone(UTC), detail=detail)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The verdict on a chain: intact, or where it first breaks and why."""

    ok: bool
    checked: int
    """Entries found intact (before the first bad one, when there is one)."""
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        """One line for a person: the verdict and, if broken, the first bad entry."""
        if self.ok:
            return f"audit chain intact: {self.checked} entries verified"
        return (
            f"audit chain broken at seq {self.first_bad_seq} (entry {self.first_bad_id}): "
            f"{self.reason}; {self.checked} entries before it verified"
        )


def verify(chain: Iterable[Chained]) -> VerifyResult:
    """Recompute the chain in order and name the first entry that does not hold.

    An entry whose stored hash is not the hash of its own content and ``prev`` was edited
    (its ``detail``, its ``prev`` or its ``hash``). An entry that hashes correctly but
    whose ``prev`` is not the previous entry's hash follows a gap or a swap: something
    before it was removed or reordered (or rewritten together with its hash).
    """
    expected, checked = GENESIS, 0
    for chained in chain:
        if entry_hash(chained.prev, chained.entry) != chained.hash:
            return _broken(checked, chained, EDITED)
        if chained.prev != expected:
            return _broken(checked, chained, UNLINKED)
        expected, checked = chained.hash, checked + 1
    return VerifyResult(ok=True, checked=checked)


def _broken(checked: int, chained: Chained, reason: str) -> VerifyResult:
    return VerifyResult(False, checked, chained.seq, chained.entry.id, reason)
