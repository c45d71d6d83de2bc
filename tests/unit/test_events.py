"""The event contract: valid events accepted, violations refused with a precise reason."""

from __future__ import annotations

import pytest

from builders import raw
from unsnag.errors import ContractViolation
from unsnag.events import CATALOG, parse_event, parse_line


def order_data(**overrides):
    data = {
        "order_id": "SO-1",
        "customer_id": "C1",
        "lines": [{"line_id": "1", "sku": "A", "qty": 2, "unit_price": 3.5}],
    }
    data.update(overrides)
    return data


def refusal(envelope) -> ContractViolation:
    with pytest.raises(ContractViolation) as caught:
        parse_event(envelope)
    return caught.value


def test_a_valid_order_is_typed():
    event = parse_event(raw("order.created", order_data()))
    assert event.data.lines[0].qty == 2.0
    assert event.system == "erp"
    assert event.key == (event.source, event.id)


def test_integer_ids_are_accepted_as_text():
    event = parse_event(
        raw(
            "pick.short",
            {"order_id": 100234, "line_id": 2, "node_id": "dc", "qty_picked": 1, "qty_short": 1},
        )
    )
    assert event.data.order_id == "100234"
    assert event.data.line_id == "2"


def test_text_where_a_number_belongs_is_refused_with_the_field():
    bad = order_data(lines=[{"line_id": "1", "sku": "A", "qty": "five", "unit_price": 1}])
    error = refusal(raw("order.created", bad))
    assert error.field == "data.lines.0.qty"
    assert "valid number" in error.reason


def test_numeric_looking_text_is_still_text():
    bad = order_data(lines=[{"line_id": "1", "sku": "A", "qty": "5", "unit_price": 1}])
    assert refusal(raw("order.created", bad)).field == "data.lines.0.qty"


def test_a_missing_required_field_is_named():
    data = {"order_id": "SO-1", "line_id": "1", "node_id": "dc", "qty_picked": 1}
    error = refusal(raw("pick.short", data))
    assert error.field == "data.qty_short"
    assert "required" in error.reason.lower()


def test_a_bad_date_is_refused():
    error = refusal(raw("order.created", order_data(promised_ship_date="next tuesday")))
    assert error.field == "data.promised_ship_date"


def test_an_envelope_without_specversion_is_not_a_cloudevent():
    envelope = raw("order.created", order_data())
    del envelope["specversion"]
    assert refusal(envelope).field == "specversion"


def test_a_wrong_specversion_is_refused():
    envelope = raw("order.created", order_data())
    envelope["specversion"] = "0.3"
    assert refusal(envelope).field == "specversion"


def test_an_unknown_source_system_is_refused():
    error = refusal(raw("order.created", order_data(), source="sap/prod"))
    assert error.field == "source"
    assert "sap" in error.reason


def test_a_source_system_the_policy_declares_is_accepted():
    envelope = raw("order.created", order_data(), source="sap/prod")
    assert parse_event(envelope, frozenset({"sap"})).system == "sap"


def test_an_unknown_type_is_accepted_with_its_data_as_a_dict():
    event = parse_event(raw("forecast.published", {"anything": [1, 2]}))
    assert event.data == {"anything": [1, 2]}
    assert not event.known


def test_fields_outside_the_contract_are_kept():
    event = parse_event(raw("order.created", order_data(sales_rep="Ann")))
    assert event.data.model_extra == {"sales_rep": "Ann"}


def test_an_order_without_lines_is_refused():
    assert refusal(raw("order.created", order_data(lines=[]))).field == "data.lines"


def test_a_negative_quantity_is_refused():
    bad = order_data(lines=[{"line_id": "1", "sku": "A", "qty": -1, "unit_price": 1}])
    assert refusal(raw("order.created", bad)).field == "data.lines.0.qty"


def test_a_carrier_rejection_needs_an_order_or_a_shipment():
    assert "order_id or shipment_id" in refusal(raw("carrier.rejected", {"carrier": "x"})).reason


def test_a_known_type_needs_object_data():
    envelope = raw("order.created", order_data())
    envelope["data"] = "SO-1"
    assert refusal(envelope).field == "data"


def test_a_date_only_promise_means_the_end_of_that_day():
    event = parse_event(raw("order.created", order_data(promised_ship_date="2026-05-06")))
    assert event.data.promised_ship_date.isoformat() == "2026-05-06T23:59:59+00:00"


def test_offsets_are_normalised_to_utc():
    envelope = raw("order.created", order_data())
    envelope["time"] = "2026-05-04T16:03:11+02:00"
    assert parse_event(envelope).time.isoformat() == "2026-05-04T14:03:11+00:00"


def test_a_line_that_is_not_json_is_refused():
    with pytest.raises(ContractViolation, match="not JSON"):
        parse_line(b"{oops")


def test_a_non_object_is_refused():
    with pytest.raises(ContractViolation, match="JSON object"):
        parse_event([1, 2])


def test_the_catalog_covers_every_type_of_the_contract():
    assert len(CATALOG) == 37


def test_a_contract_valid_from_a_date_applies_from_the_start_of_that_day():
    data = {"customer_id": "C1", "sku": "A", "unit_price": 9.0,
            "valid_from": "2026-05-04", "valid_to": "2026-05-31"}  # fmt: skip
    event = parse_event(raw("price.agreed", data))
    assert event.data.valid_from.isoformat() == "2026-05-04T00:00:00+00:00"
    assert event.data.valid_to.isoformat() == "2026-05-31T23:59:59+00:00"
