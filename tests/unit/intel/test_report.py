"""The HTML report: every section, the KPI numbers, one embedded plotly.js, nothing
fetched from anywhere, and markup that parses.

The week of 2026-05-04 to 05-10: eight orders; SKU-1 short twice at dc-east (resolved in
2 h, touchless, SLA kept, 250 protected; and in 6 h after a touch, SLA breached — one
incident), a late ups shipment (open, 1,000 at risk) and a credit hold (open, 500 at
risk). So: 500 exceptions per 1,000 orders, touchless 50 %, SLA 50 %, time to resolve
4 h median and 6 h p90, backlog 2, revenue at risk 1,500, protected 250.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest
from plotly.offline import get_plotlyjs
from test_kpi_support import at, case, event, frames, order

from unsnag.intel.kpi import Period
from unsnag.intel.process_map import index_raw
from unsnag.intel.report import build_report, render_html, show, write_report

WEEK = Period.days(date(2026, 5, 4), date(2026, 5, 10))
GENERATED = datetime(2026, 5, 11, 7, 30, tzinfo=UTC)
SHORT = {"sku": "SKU-1", "node_id": "dc-east"}


def _fulfilled(n: int) -> list[dict]:
    """Order SO-n created on day 4 + n % 4 and, for the first four, shipped."""
    day = 4 + n % 4
    events = [order(f"SO-{n}", at(day, 8))]
    if n <= 4:
        ship = {"order_id": f"SO-{n}", "shipment_id": f"SH-{n}"}
        events += [
            event("allocation.reserved", at(day, 9), f"SO-{n}", "wms", order_id=f"SO-{n}"),
            event("shipment.created", at(day, 12), f"SH-{n}", "wms", **ship),
            event("shipment.dispatched", at(day, 15), f"SH-{n}", "tms", carrier="ups", **ship),
        ]
    return events


EVENTS = [event for n in range(1, 9) for event in _fulfilled(n)]
CASES = [
    case("pick.short", "SO-1/1", at(4, 9), closed=at(4, 11), subject="SO-1", protected=250,
         automatic=True, refs={"order_id": "SO-1", **SHORT}),
    case("pick.short", "SO-2/1", at(5, 10), closed=at(5, 16), subject="SO-2", touches=1,
         first_touch=at(5, 12), breached=True, refs={"order_id": "SO-2", **SHORT}),
    case("shipment.delay", "SH-3", at(6, 12), subject="SO-3", team="logistics", revenue=1000,
         refs={"order_id": "SO-3", "shipment_id": "SH-3", "carrier": "ups", "node_id": "dc-east"}),
    case("credit.hold", "SO-4", at(7, 8), team="finance", customer="C-7", revenue=500,
         refs={"order_id": "SO-4", "customer_id": "C-7"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def report():
    return build_report(frames(CASES, EVENTS), WEEK, source="hand-made log",
                        generated_at=GENERATED, index=index_raw(EVENTS))  # fmt: skip


@pytest.fixture(scope="module")
def html(report):
    return render_html(report)


class Checker(HTMLParser):
    """Every tag and attribute seen, and every close that does not match its open."""

    VOID = frozenset({"meta", "br", "link", "img", "input", "hr", "col", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()


def parsed(html: str) -> Checker:
    checker = Checker()
    checker.feed(html)
    checker.close()
    return checker


def tile(html: str, name: str) -> str:
    found = re.search(rf'data-kpi="{name}"[^>]*>\s*<span class="label">[^<]*</span>\s*'
                      r'<span class="value">([^<]*)</span>', html)  # fmt: skip
    assert found, name
    return found.group(1)


def test_the_page_has_every_section(html):
    for section in ("kpis", "trend", "backlog", "paretos", "incidents", "process-map",
                    "definitions"):  # fmt: skip
        assert f'<section id="{section}"' in html
    for chart in ("opened", "backlog", "sla", "ages", "pareto-sku", "pareto-customer",
                  "pareto-dc", "pareto-carrier"):  # fmt: skip
        assert f'id="chart-{chart}"' in html
    assert "No case opened in the period names an integration endpoint." in html


def test_the_header_names_the_period_the_source_and_when(html):
    assert "Mon 04 May 2026 to Sun 10 May 2026 (UTC)" in html
    assert "hand-made log" in html and "2026-05-11 07:30 UTC" in html


def test_the_tiles_show_the_kpis_of_the_period(html, report):
    assert tile(html, "exceptions_per_1000_orders") == "500.00"
    assert tile(html, "touchless_rate") == "50.0 %"
    assert tile(html, "sla_attainment") == "50.0 %"
    assert tile(html, "time_to_resolve_p50_h") == "4.0 h"
    assert tile(html, "time_to_resolve_p90_h") == "6.0 h"
    assert tile(html, "open_backlog") == "2"
    assert tile(html, "revenue_at_risk_open") == "1,500"
    assert tile(html, "revenue_protected") == "250"
    assert report.kpis["cases_opened"] == 4 and report.kpis["orders"] == 8


def test_the_trend_counts_each_day(report):
    opened = report.opened_by_day.sort("day")
    assert opened.select("type", "cases").rows() == [
        ("pick.short", 1), ("pick.short", 1), ("shipment.delay", 1), ("credit.hold", 1)
    ]  # fmt: skip
    assert report.backlog_by_day["open_backlog"].to_list() == [0, 0, 1, 2, 2, 2, 2]
    assert report.sla_by_week["sla_attainment"].to_list() == [0.5]


def test_paretos_incidents_and_the_process_map_are_shown(html, report):
    sku = dict((p.dimension, p) for _, p in report.paretos)["sku"]
    assert sku.rows["value"].to_list() == ["SKU-1"] and sku.recurring == 1
    assert '<td class="key">SKU-1</td>' in html
    [incident] = report.incidents.incidents
    assert incident.title in html and incident.id in html
    assert "<svg" in html and "order.created" in html
    assert "order.created → allocation.reserved → shipment.created → shipment.dispatched" in html


def test_the_appendix_defines_every_kpi(html):
    from unsnag.intel.kpi import REGISTRY

    for item in REGISTRY.values():
        assert f'id="kpi-{item.name}"' in html
    assert "median of closed_at − opened_at over cases resolved in the period" in html


def test_plotly_js_is_embedded_exactly_once(html):
    bundle = get_plotlyjs()
    assert html.count(bundle[:300]) == 1
    assert html.count("plotly.js v") == 1
    # 4 trend and backlog charts, 4 Paretos (no endpoint): each draws with the one copy
    assert html.count("Plotly.newPlot(") == html.count('class="plotly-graph-div"') == 8


def test_nothing_is_fetched_from_anywhere(html):
    checker = parsed(html)
    assert "<script src" not in html
    scripts = [attrs for tag, attrs in checker.tags if tag == "script"]
    assert scripts and not any("src" in attrs for attrs in scripts)
    assert not [attrs for tag, attrs in checker.tags if tag == "link"]  # no external stylesheet
    for tag, attrs in checker.tags:
        for name in ("src", "href"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, attrs)
    style = html[html.index("<style>") : html.index("</style>")]
    assert "@import" not in style and "url(" not in style


def test_the_html_parses_with_every_tag_closed(html):
    checker = parsed(html)
    assert checker.errors == []
    assert checker.open == []
    assert checker.tags[0][0] == "html" and ("main", {}) in checker.tags


def test_values_from_the_data_are_escaped():
    odd = case("pick.short", "SO-1/1", at(4, 9), subject="SO-1",
               refs={"order_id": "SO-1", "sku": "<b>x</b>", "node_id": "dc"})  # fmt: skip
    page = render_html(build_report(frames([odd], EVENTS), WEEK, source="<i>log</i>",
                                    generated_at=GENERATED))  # fmt: skip
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<i>log</i>" not in page
    assert "No process map" in page


def test_a_period_without_cases_still_renders():
    empty = Period.days(date(2026, 6, 1), date(2026, 6, 3))
    page = render_html(build_report(frames(CASES, EVENTS), empty, source="x",
                                    generated_at=GENERATED, index=index_raw(EVENTS)))  # fmt: skip
    assert "No case opened in the period names a SKU." in page
    assert "No incident started in the period" in page
    assert parsed(page).errors == []


def test_write_report_writes_the_page_and_its_numbers(report, tmp_path):
    html, data = write_report(report, tmp_path / "out")
    assert html.read_text("utf-8").startswith("<!doctype html>")
    document = json.loads(data.read_text("utf-8"))
    assert document["kpis"]["open_backlog"] == 2
    assert document["period"] == {"from": "2026-05-04T00:00:00+00:00",
                                  "to": "2026-05-11T00:00:00+00:00"}  # fmt: skip
    assert set(document["paretos"]) == {"sku", "customer", "dc", "carrier", "endpoint"}
    assert len(document["incidents"]["incidents"]) == 1
    assert document["process_map"]["graphs"]["order"]["objects"] == 8


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(None, "share", "–"), (0.1234, "share", "12.3 %"), (51.04, "hours", "51.0 h"),
     (1234.5, "money", "1,234"), (133.754, "cases per 1,000 orders", "133.75"),
     (3, "signed", "+3"), (-2, "signed", "-2"), (1500, "cases", "1,500")],
)  # fmt: skip
def test_numbers_print_by_their_unit(value, unit, text):
    assert show(value, unit) == text
