"""The gather step's fact groups: what a person reads before deciding."""

from options_support import (
    both,
    case_of,
    delivered,
    invoice,
    lane_history,
    purchase_order,
    remittance,
    shipment,
)

from builders import at, customer, ev, master, order, product, run
from unsnag.resolve.facts import GROUPS, gather


def shortage_engine():
    listed = ev(
        "product.upserted",
        {"sku": "BRG-6204", "unit_cost": 6.0, "list_price": 10.0, "substitutes": ["BRG-6205"]},
        when=at(-47),
    )
    failed = ev(
        "allocation.failed",
        {
            "order_id": "SO-1",
            "line_id": "1",
            "node_id": "dc-east",
            "sku": "BRG-6204",
            "qty_requested": 10,
            "qty_available": 3,
        },
        when=at(hours=1),
    )
    return run(
        [
            customer(credit_limit=5000.0),
            listed,
            product("BRG-6205"),
            *both("dc-east", 3),
            *both("dc-west", 40),
            *both("dc-east", 8, "BRG-6205"),
            purchase_order("PO-7", "dc-east", 50, at(days=6)),
            order(),
            failed,
        ]
    )


def test_the_supply_groups_describe_the_line_the_stock_and_what_is_coming():
    engine = shortage_engine()
    case = case_of(engine, "allocation.shortage")
    facts = gather(["order", "customer", "stock", "inbound", "substitutes"], case, engine.state)
    assert facts == [
        "order SO-1 for C1: 1 line, 100.00, status open, channel edi, PO PO-SO-1, "
        "promise 2026-05-06",
        "customer C1: tier gold, credit limit 5,000.00, terms unknown, open orders 100.00, "
        "0 open invoices 0.00",
        "BRG-6204 at dc-east: ERP on hand 3, available 3 (2026-05-04 08:30Z); "
        "WMS on hand 3 (2026-05-04 08:30Z)",
        "BRG-6204 elsewhere: dc-west ERP 40 free, WMS 40 free",
        "PO-7 to dc-east: 50 of BRG-6204 open, no ASN yet, ETA 2026-05-10",
        "BRG-6205 substitutes BRG-6204: ERP 8 free, WMS 8 free at dc-east",
    ]


def test_an_unknown_group_is_a_fact_not_an_error():
    engine = shortage_engine()
    case = case_of(engine, "allocation.shortage")
    [fact] = gather(["weather"], case, engine.state)
    assert fact.startswith("no fact group named 'weather' (known: order, customer")


def test_a_group_with_nothing_on_file_says_so():
    engine = shortage_engine()
    case = case_of(engine, "allocation.shortage")
    assert gather(["shipment", "remittance"], case, engine.state) == [
        "shipment: nothing on file for SO-1",
        "remittance: nothing on file for SO-1",
    ]


def test_the_finance_and_logistics_groups():
    events = [
        *master(),
        *lane_history("dc-east", "fedex", 3, "2day"),
        order(),
        shipment("SH-1", "SO-1"),
        delivered("SH-1", [{"line_id": "1", "kind": "short", "qty": 2}]),
        invoice(amount=100.0, due=at(days=30)),
        ev("payment.applied", {"invoice_id": "INV-1", "amount": 40.0}, when=at(days=3)),
        remittance("R-9", 10.0, "SO-1"),
        ev(
            "return.requested",
            {
                "rma_id": "RMA-1",
                "order_id": "SO-1",
                "lines": [{"line_id": "1", "qty": 2, "reason": "damaged"}],
            },
            when=at(days=3),
        ),
    ]
    engine = run(events)
    case = case_of(engine, "delivery.discrepancy")
    facts = gather(
        ["shipment", "invoice", "payments", "returns", "carrier_lane", "interface"],
        case,
        engine.state,
    )
    assert facts == [
        "shipment SH-1 of SO-1 from dc-east: ups ground, delivered, promised no date",
        "invoice INV-1 of SO-1: 100.00, balance 60.00, issued 2026-05-05, due 2026-06-03",
        "INV-1: 40.00 on 2026-05-07",
        "return RMA-1 of SO-1: 20.00, reasons damaged, requested 2026-05-07, received "
        "no date, credited no date",
        "carriers shipping from dc-east: fedex 3 (2day), ups 1 (ground)",
        "interfaces failing now: none",
    ]


def test_every_documented_group_exists():
    assert list(GROUPS) == [
        "order",
        "customer",
        "stock",
        "inbound",
        "substitutes",
        "shipment",
        "invoice",
        "payments",
        "remittance",
        "returns",
        "interface",
        "carrier_lane",
    ]
