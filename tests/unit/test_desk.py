"""The case desk: one case per problem, kept open while any rule still sees it."""

from __future__ import annotations

from builders import at, cases_of, ev, master, order, run
from unsnag.cases.desk import case_id

SHIP_TO = {"line1": "1 Main St", "city": "Springfield", "postal_code": "62701", "country": "US"}


def test_case_ids_depend_on_the_problem_not_on_arrival():
    assert case_id("pick.short", "SO-1/1", 1) == case_id("pick.short", "SO-1/1", 1)
    assert case_id("pick.short", "SO-1/1", 1) != case_id("pick.short", "SO-1/1", 2)
    assert case_id("pick.short", "SO-1/1", 1).startswith("C-")


def test_a_case_two_rules_see_stays_open_until_both_are_satisfied():
    no_po = order("SO-1", po_number="")
    tax = ev(
        "order.validation_failed",
        {"order_id": "SO-1", "check": "tax", "reason": "no jurisdiction"},
        when=at(hours=1),
    )
    po_fixed = ev("order.updated", {"order_id": "SO-1", "po_number": "PO-9"}, when=at(hours=2))
    engine = run([*master(), no_po, tax, po_fixed])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "open"
    assert case["open_reasons"] == ["master-data-invalid"]
    address_fixed = ev("order.updated", {"order_id": "SO-1", "ship_to": SHIP_TO}, when=at(hours=3))
    engine = run([*master(), no_po, tax, po_fixed, address_fixed])
    [case] = cases_of(engine, "master_data.invalid")
    assert case["status"] == "resolved"
    assert case["closed_at"] == "2026-05-04T11:00:00Z"


def test_a_problem_that_returns_after_closing_opens_a_new_case():
    def short(hours):
        return ev(
            "pick.short",
            {
                "order_id": "SO-1",
                "line_id": "1",
                "node_id": "dc-east",
                "qty_picked": 5,
                "qty_short": 5,
            },
            when=at(hours=hours),
        )

    rest = ev(
        "pick.confirmed",
        {"order_id": "SO-1", "line_id": "1", "node_id": "dc-east", "qty_picked": 5},
        when=at(hours=2),
    )
    engine = run([*master(), order(), short(1), rest, short(3)])
    first, second = cases_of(engine, "pick.short")
    assert (first["status"], second["status"]) == ("resolved", "open")
    assert first["id"] != second["id"]


def test_the_sla_clock_follows_the_customer_tier():
    engine = run(
        [
            *master(),
            order(),
            ev(
                "pick.short",
                {
                    "order_id": "SO-1",
                    "line_id": "1",
                    "node_id": "dc-east",
                    "qty_picked": 5,
                    "qty_short": 5,
                },
                when=at(hours=1),
            ),
        ]
    )
    [case] = cases_of(engine, "pick.short")
    assert case["opened_at"] == "2026-05-04T09:00:00Z"
    # warehouse: 4 business hours for gold (default) on the DC calendar, which opens at
    # 06:00 Chicago (11:00Z): opened at 04:00 local, due four working hours after opening
    assert case["due_at"] == "2026-05-04T15:00:00Z"
