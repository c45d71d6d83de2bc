"""Slicing and filtering the KPIs, periods, and the generated KPI reference."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from test_kpi_support import at, case, frames, order

from unsnag.errors import ContractViolation
from unsnag.intel import kpi

ROOT = Path(__file__).resolve().parents[3]
WEEK = kpi.Period.days(date(2026, 5, 1), date(2026, 5, 7))

EVENTS = [
    order("SO-1", at(1), "C-1", [("SKU-A", 1), ("SKU-B", 1)]),
    order("SO-2", at(1), "C-1", [("SKU-A", 1)]),
    order("SO-3", at(2), "C-2", [("SKU-B", 1)], channel="portal"),
    order("SO-4", at(2), "C-2", [("SKU-B", 1)], channel="portal"),
]
CASES = [
    case("pick.short", "SO-1/1", at(2), subject="SO-1", customer="C-1",
         refs={"order_id": "SO-1", "sku": "SKU-A"}),
    case("pick.short", "SO-3/1", at(3), subject="SO-3", customer="C-2",
         refs={"order_id": "SO-3", "sku": "SKU-B"}),
    case("pricing.mismatch", "SO-4", at(3), subject="SO-4", team="pricing",
         refs={"order_id": "SO-4"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def data():
    return frames(CASES, EVENTS)


def rows(table, column):
    return {row[column]: row for row in table.iter_rows(named=True)}


def test_rates_by_customer_divide_by_that_customers_orders(data):
    by = rows(kpi.compute(data, WEEK, by="customer"), "customer")
    assert by["C-1"]["exceptions_per_1000_orders"] == 500.0  # 1 case / 2 orders
    assert by["C-2"]["exceptions_per_1000_orders"] == 1000.0  # 2 / 2 (customer via order)
    assert by["C-2"]["exceptions_per_1000_lines"] == 1000.0  # 2 / 2 lines


def test_rates_by_sku_divide_by_the_orders_and_lines_with_that_sku(data):
    by = rows(kpi.compute(data, WEEK, by="sku"), "sku")
    assert by["SKU-A"]["orders"] == 2
    assert by["SKU-A"]["exceptions_per_1000_orders"] == 500.0  # 1 / 2
    assert by["SKU-B"]["order_lines"] == 3
    assert by["SKU-B"]["exceptions_per_1000_lines"] == pytest.approx(1000 / 3, abs=0.01)


def test_rates_by_team_divide_by_all_orders_and_order_kpis_do_not_apply(data):
    by = rows(kpi.compute(data, WEEK, by="team"), "team")
    assert by["warehouse"]["exceptions_per_1000_orders"] == 500.0  # 2 / 4
    assert by["pricing"]["exceptions_per_1000_orders"] == 250.0  # 1 / 4
    assert by["pricing"]["orders"] is None
    assert by["pricing"]["perfect_order_rate"] is None


def test_by_channel_comes_from_the_order_of_the_case(data):
    by = rows(kpi.compute(data, WEEK, by="channel"), "channel")
    assert by["portal"]["cases_opened"] == 2
    assert by["edi"]["cases_opened"] == 1


def test_filters_narrow_the_cases_and_the_orders_that_have_the_dimension(data):
    only = kpi.summary(data, WEEK, [("customer", "C-1")])
    assert only["cases_opened"] == 1
    assert only["orders"] == 2
    typed = kpi.summary(data, WEEK, [("type", "pick.short")])
    assert typed["cases_opened"] == 2
    assert typed["orders"] == 4  # orders have no type: left whole


def test_groups_come_most_cases_first(data):
    table = kpi.compute(data, WEEK, by="type", selected=["cases_opened"])
    assert table.columns == ["type", "cases_opened"]
    assert table["type"].to_list() == ["pick.short", "pricing.mismatch"]


def test_an_unknown_dimension_or_kpi_is_refused(data):
    with pytest.raises(ContractViolation, match="unknown dimension"):
        kpi.compute(data, WEEK, by="colour")
    with pytest.raises(ContractViolation, match="unknown KPI"):
        kpi.compute(data, WEEK, selected=["happiness"])


def test_a_period_of_days_is_half_open_and_has_a_previous():
    period = kpi.Period.days(date(2026, 5, 1), date(2026, 5, 31))
    assert (period.start, period.end) == (at(1), at(1, month=6))
    assert period.previous() == kpi.Period(at(31, month=3), at(1))
    assert str(period) == "2026-05-01 to 2026-05-31"
    with pytest.raises(ContractViolation):
        kpi.Period(at(2), at(1))


def test_every_kpi_has_a_formula_unit_and_known_population():
    for item in kpi.REGISTRY.values():
        assert item.formula and item.unit and item.title
        assert item.population in kpi.POPULATIONS


def test_the_kpi_reference_in_the_docs_is_current():
    text = (ROOT / "docs" / "kpis.md").read_text("utf-8")
    assert kpi.render_reference(text) == text, "run: python -m unsnag.intel.kpi docs/kpis.md"


def test_slicing_several_ways_at_once_gives_the_same_tables(data):
    together = kpi.compute_slices(data, WEEK, [None, "customer", "team", "sku"])
    for by, table in together.items():
        assert table.equals(kpi.compute(data, WEEK, by))
