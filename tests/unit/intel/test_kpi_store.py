"""The frames of a store equal the frames of the same cases and events as files."""

from __future__ import annotations

from datetime import date

from test_kpi_cases import CASES, EVENTS
from test_kpi_support import frames

from unsnag.events import parse_event
from unsnag.intel import kpi
from unsnag.intel.frames import load_store
from unsnag.store.memory import MemoryStore


def test_kpis_from_a_store_equal_kpis_from_the_same_data():
    store = MemoryStore()
    store.append_events([parse_event(raw) for raw in EVENTS])
    store.upsert_cases(CASES)
    week = kpi.Period.days(date(2026, 5, 1), date(2026, 5, 7))
    from_store = kpi.summary(load_store(store), week)
    assert from_store == kpi.summary(frames(CASES, EVENTS), week)
    assert from_store["cases_opened"] == 4


def test_an_empty_store_gives_empty_frames():
    loaded = load_store(MemoryStore())
    assert loaded.cases.is_empty() and loaded.events.is_empty() and loaded.orders.is_empty()
