"""The small state indexes the option computers read instead of scanning."""

from options_support import purchase_order, shipment, snapshot

from builders import at, run


def test_carriers_are_counted_per_node_once_per_shipment():
    engine = run(
        [
            shipment("SH-1", "SO-1", "dc-east", "ups", "ground"),
            shipment("SH-2", "SO-2", "dc-east", "ups", "ground"),
            shipment("SH-1", "SO-1", "dc-east", "ups", "ground", when=at(hours=3)),  # re-sent
            shipment("SH-3", "SO-3", "dc-east", "fedex", "2day"),
            shipment("SH-4", "SO-4", "dc-west", "xpo", "ltl"),
        ]
    )
    assert engine.state.carriers_by_node == {
        "dc-east": {"ups": 2, "fedex": 1},
        "dc-west": {"xpo": 1},
    }
    assert engine.state.carrier_services == {"ups": "ground", "fedex": "2day", "xpo": "ltl"}


def test_nodes_are_indexed_by_sku_when_first_reported():
    engine = run(
        [
            snapshot("erp", "dc-east", 10),
            snapshot("wms", "dc-east", 10),
            snapshot("erp", "dc-west", 5),
            snapshot("erp", "dc-west", 5, sku="BRG-6205"),
        ]
    )
    assert engine.state.nodes_by_sku == {
        "BRG-6204": ["dc-east", "dc-west"],
        "BRG-6205": ["dc-west"],
    }


def test_purchase_orders_are_indexed_by_sku_once():
    engine = run(
        [
            purchase_order("PO-1", "dc-east", 10, at(days=3)),
            purchase_order("PO-1", "dc-east", 12, at(days=4)),  # re-sent
            purchase_order("PO-2", "dc-west", 5, at(days=3)),
        ]
    )
    assert engine.state.purchase_orders_by_sku == {"BRG-6204": ["PO-1", "PO-2"]}
