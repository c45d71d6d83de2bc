"""Paretos: order and cumulative shares, recurrence windows, weeks, trend and movers.

May 2026 (31 days; the previous period is 2026-03-31 to 2026-04-30), shortages by SKU:
A on 05-02, 05-12, 05-20, 05-27 (and 04-20); B on 05-05..05-08 (and six in early April);
C on 05-26 and 05-28; one shortage without a SKU; a pick.short of A that a type filter
leaves out. Weeks are counted back from 06-01: [05-01, 05-04) [05-04, 05-11)
[05-11, 05-18) [05-18, 05-25) [05-25, 06-01).
"""

from __future__ import annotations

from datetime import date

import pytest
from test_kpi_support import at, case, frames, order

from unsnag.intel.kpi import Period
from unsnag.intel.pareto import pareto, sparkline, weeks_of

MAY = Period.days(date(2026, 5, 1), date(2026, 5, 31))
SHORT = "allocation.shortage"

_n = iter(range(1, 1000))


def short(sku: str | None, when, type: str = SHORT):
    refs = {"sku": sku, "node_id": "dc-east"} if sku else {}
    return case(type, f"SO-{next(_n)}/1", when, team="planning", refs=refs, revenue=10)


CASES = [
    short("A", at(20, 9, month=4)),
    *(short("A", at(day, 9)) for day in (2, 12, 20, 27)),
    *(short("B", at(day, 9, month=4)) for day in range(2, 8)),
    *(short("B", at(day, 9)) for day in (5, 6, 7, 8)),
    short("C", at(26, 9)),
    short("C", at(28, 9)),
    short(None, at(15)),
    short("A", at(15), type="pick.short"),
]
EVENTS = [order("SO-0", at(1, month=3))]  # the data reach back before April


@pytest.fixture(scope="module")
def result():
    return pareto(frames(CASES, EVENTS), "sku", MAY, case_types=[SHORT], top=2)


def test_values_rank_by_cases_then_by_value_with_cumulative_shares(result):
    rows = result.table
    assert rows["value"].to_list() == ["A", "B", "C"]
    assert rows["cases"].to_list() == [4, 4, 2]
    assert rows["share"].to_list() == [0.4, 0.4, 0.2]
    assert rows["cumulative_share"].to_list() == [0.4, 0.8, 1.0]
    assert rows["revenue_at_risk"].to_list() == [40.0, 40.0, 20.0]
    assert result.rows["value"].to_list() == ["A", "B"]  # --top 2
    assert result.top_share == 0.8
    assert (result.total, result.without_value) == (10, 1)


def test_recurrence_counts_the_same_type_and_value_again_within_the_window(result):
    # A: every May case within 30 d of the one before (April's counts); B: 05-05 is
    # 28 d after 04-07; C: only the second
    assert result.table["recurring"].to_list() == [4, 4, 1]
    assert result.recurring == 9
    narrow = pareto(frames(CASES, EVENTS), "sku", MAY, [SHORT], window_days=10)
    # A: 05-02 is 12 d after 04-20 (no), then 10 (the boundary counts), 8, 7 d
    assert narrow.table.filter(narrow.table["value"] == "A")["recurring"].item() == 3


def test_a_pick_short_of_the_same_sku_is_not_a_recurrence_of_a_shortage():
    both = pareto(frames(CASES, EVENTS), "sku", MAY, [SHORT, "pick.short"])
    a = both.table.filter(both.table["value"] == "A")
    assert (a["cases"].item(), a["recurring"].item()) == (5, 4)


def test_weeks_count_back_from_the_period_end(result):
    assert [w.start for w in result.weeks] == [at(1), at(4), at(11), at(18), at(25)]
    assert result.weekly_total == [1, 4, 1, 1, 3]
    assert result.week_over_week == 2
    assert result.table["weekly"].to_list() == [[1, 0, 1, 1, 1], [0, 4, 0, 0, 0],
                                               [0, 0, 0, 0, 2]]  # fmt: skip
    assert result.table["week_over_week"].to_list() == [0, 0, 2]


def test_this_period_against_the_previous_one(result):
    assert result.previous_total == 7
    assert (result.change, result.change_pct, result.trend) == (3, 42.9, "worsening")
    assert result.table["previous"].to_list() == [1, 6, 0]
    assert result.table["change"].to_list() == [3, -2, 2]


def test_top_movers_both_ways(result):
    assert result.movers_up.select("value", "change").rows() == [("A", 3), ("C", 2)]
    assert result.movers_down.select("value", "change").rows() == [("B", -2)]


def test_fewer_cases_than_before_is_improving_and_no_earlier_data_is_unknown():
    april = Period.days(date(2026, 4, 1), date(2026, 4, 30))
    first = pareto(frames(CASES, EVENTS), "sku", april, [SHORT])
    assert (first.total, first.previous_total, first.trend) == (7, 0, "worsening")
    june = pareto(frames(CASES, EVENTS), "sku", Period.days(date(2026, 6, 1), date(2026, 6, 30)),
                  [SHORT])  # fmt: skip
    assert (june.total, june.previous_total, june.trend) == (0, 10, "improving")
    uncovered = pareto(frames(CASES), "sku", MAY, [SHORT])  # cases start on 04-02
    assert uncovered.trend == "unknown"
    assert uncovered.to_dict()["previous_cases"] is None
    assert uncovered.table["previous"].to_list() == [None, None, None]
    assert uncovered.movers_up.is_empty() and uncovered.movers_down.is_empty()


def test_the_json_names_the_dimension():
    document = pareto(frames(CASES, EVENTS), "sku", MAY, [SHORT], top=1).to_dict()
    assert document["rows"][0]["sku"] == "A"
    assert document["cases"] == 10
    assert document["trend"] == "worsening"


def test_weeks_and_sparklines():
    assert len(weeks_of(Period.days(date(2026, 5, 1), date(2026, 5, 7)))) == 1
    assert sparkline([0, 4, 2]) == "▁█▅"
    assert sparkline([0, 0]) == "▁▁"
