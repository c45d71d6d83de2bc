"""OCEL mappings are validated on load, and a bad one says where and what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from unsnag.intel.ocel_model import (
    AttrOf,
    Const,
    ForEach,
    IdOf,
    MappingError,
    load_mapping,
    mapping_from_data,
    parse_path,
    shipped_mappings,
)


def mapping(**activities: Any) -> dict[str, Any]:
    return {"name": "test", "source": "erp", "activities": activities or {"a": [emit()]}}


def emit(**fields: Any) -> dict[str, Any]:
    return {"type": "order.created", "data": {"order_id": {"id": "orders"}}, **fields}


def error_of(data: Any) -> str:
    with pytest.raises(MappingError) as caught:
        mapping_from_data(data, "m.yaml")
    return str(caught.value)


def test_the_shipped_mappings_load():
    assert {"order-management", "unsnag"} <= set(shipped_mappings())
    for name in shipped_mappings():
        assert load_mapping(name).name == name


def test_a_mapping_file_loads_by_path(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nsource: erp\nactivities:\n  a:\n    - type: order.updated\n"
                    "      data: {order_id: {id: orders}}\n")  # fmt: skip
    loaded = load_mapping(path)
    assert loaded.activities["a"][0].data["order_id"] == IdOf(id="orders")


def test_values_take_their_kind_from_their_one_key():
    loaded = mapping_from_data(
        mapping(a=[emit(data={"qty": 1, "x": {"attr": "price", "of": "."},
                              "lines": {"for_each": "items", "fields": {"l": {"id": "."}}}})]),
        "m",
    )  # fmt: skip
    data = loaded.activities["a"][0].data
    assert data["qty"] == Const(const=1)
    assert data["x"] == AttrOf(attr="price", of=".")
    assert isinstance(data["lines"], ForEach)


def test_paths_parse_into_steps():
    assert parse_path("items<orders") == (("e2o", "items", None), ("<", "orders", None))
    assert parse_path("packages[shipped package]>items") == (
        ("e2o", "packages", "shipped package"),
        (">", "items", None),
    )
    assert parse_path(".") == ((".", "*", None),)


def test_an_unknown_shipped_name_lists_the_shipped_ones():
    with pytest.raises(MappingError, match=r"no such mapping file.*order-management, unsnag"):
        load_mapping("no-such-mapping")


def test_a_value_with_no_known_key_names_its_place():
    message = error_of(mapping(a=[emit(data={"order_id": {"objekt": "orders"}})]))
    assert "activities.a.0.data.order_id" in message
    assert "exactly one of {const: ...}, {id: ...}" in message
    assert "objekt" in message


def test_a_malformed_path_is_refused_on_load():
    message = error_of(mapping(a=[emit(data={"order_id": {"id": "items<<orders"}})]))
    assert "activities.a.0.data.order_id" in message and "bad path 'items<<orders'" in message


def test_an_event_type_must_look_like_one():
    assert "is not an event type like order.created" in error_of(mapping(a=[emit(type="Order")]))


def test_an_emission_needs_data():
    assert "give data fields (data) or a data_from value" in error_of(
        mapping(a=[{"type": "order.created"}])
    )


def test_unknown_keys_are_refused():
    assert "activities.a.0.dta: Extra inputs are not permitted" in error_of(
        mapping(a=[emit(dta={})])
    )


def test_paths_may_only_name_declared_object_types():
    data = mapping(a=[emit(data={"order_id": {"id": "items<ordrs"}})])
    data["object_types"] = {"items": "line", "orders": "order"}
    assert "names object type(s) ['ordrs'] not in object_types" in error_of(data)


def test_an_activity_cannot_be_both_ignored_and_mapped():
    data = mapping(a=[emit()])
    data["ignore"] = ["a"]
    assert "ignore: ['a'] are also mapped" in error_of(data)


def test_add_days_only_shifts_a_time():
    message = error_of(mapping(a=[emit(data={"x": {"ocel": "id", "add_days": 3}})]))
    assert "add_days only applies to {ocel: time}" in message


def test_not_yaml_and_not_a_mapping_are_clear(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(MappingError, match="a mapping is a YAML mapping at the top level"):
        load_mapping(listed)


def test_a_mapping_needs_a_source_and_activities():
    message = error_of({"name": "x"})
    assert "source: Field required" in message and "activities: Field required" in message
