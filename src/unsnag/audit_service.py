"""Service functions over the audit trail: what ``unsnag audit verify`` runs.

The chain's rules live in the pure core (:mod:`unsnag.resolve.audit`); this module only
feeds it what the store holds, streaming, so a trail of millions of entries is verified
in constant memory.
"""

from __future__ import annotations

from unsnag.resolve.audit import VerifyResult, verify
from unsnag.store.port import StorePort


def verify_store(store: StorePort) -> VerifyResult:
    """Recompute the store's whole audit chain; name the first tampered entry if any."""
    return verify(store.iter_audit())
