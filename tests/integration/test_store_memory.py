"""The in-memory store passes the store contract, so core tests can rely on it."""

from __future__ import annotations

import pytest
from store_contract import StoreContract

from unsnag.store import MemoryStore, StorePort


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> StorePort:
        return MemoryStore()
