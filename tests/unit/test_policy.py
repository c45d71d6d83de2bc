"""Policy as data: validated on load, CEL compiled up front, schema published."""

from __future__ import annotations

import json

import pytest
import yaml

from builders import at, cases_of, ev, master, order, run
from unsnag.cases.taxonomy import CASE_TYPES
from unsnag.errors import PolicyError
from unsnag.policy import json_schema, load_policy, policy_from_mapping


def default_data():
    return load_policy().model_dump(mode="json")


def test_the_default_policy_routes_every_case_type():
    policy = load_policy()
    assert set(policy.types) == set(CASE_TYPES)
    assert all(cfg.owner_team in policy.teams for cfg in policy.types.values())


def test_a_missing_case_type_is_reported():
    data = default_data()
    del data["types"]["pick.short"]
    with pytest.raises(PolicyError, match=r"no routing for \['pick.short'\]"):
        policy_from_mapping(data)


def test_an_unknown_team_is_reported_with_its_path():
    data = default_data()
    data["types"]["pick.short"]["owner_team"] = "night_shift"
    with pytest.raises(PolicyError, match=r"types\.pick\.short\.owner_team"):
        policy_from_mapping(data)


def test_an_sla_needs_a_default():
    data = default_data()
    data["types"]["pick.short"]["sla_hours"] = {"gold": 4}
    with pytest.raises(PolicyError, match="default"):
        policy_from_mapping(data)


def test_a_typo_in_a_tolerance_name_is_refused():
    data = default_data()
    data["detectors"]["pick_short"]["min_qtty"] = 2
    with pytest.raises(PolicyError, match="min_qtty"):
        policy_from_mapping(data)


def test_a_rule_whose_cel_does_not_compile_is_refused_with_its_id():
    data = default_data()
    data["rules"].append(
        {
            "id": "broken",
            "events": ["order.created"],
            "when": "event.data.(",
            "case_type": "pricing.mismatch",
        }
    )
    with pytest.raises(PolicyError, match=r"broken\)\.when: CEL does not compile"):
        policy_from_mapping(data)


def test_a_rule_for_an_unknown_case_type_is_refused():
    data = default_data()
    data["rules"].append(
        {"id": "x", "events": ["order.created"], "when": "true", "case_type": "order.late"}
    )
    with pytest.raises(PolicyError, match="unknown case type"):
        policy_from_mapping(data)


def test_duplicate_rule_ids_are_refused():
    data = default_data()
    data["rules"].append(dict(data["rules"][0]))
    with pytest.raises(PolicyError, match="duplicate rule ids"):
        policy_from_mapping(data)


def test_a_file_that_is_not_yaml_is_reported(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("version: [1\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(path)


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.yaml")


def test_the_json_schema_describes_the_policy():
    schema = json.loads(json_schema())
    assert schema["title"] == "unsnag policy"
    assert {"version", "teams", "types"} <= set(schema["required"])
    assert "detectors" in schema["properties"]


def test_a_policy_rule_opens_a_case_from_cel_over_event_and_state():
    data = default_data()
    data["rules"].append(
        {
            "id": "big-gold-order",
            "description": "large order from a gold customer",
            "events": ["order.created"],
            "when": 'customer.tier == "gold" && order.value > 500.0',
            "case_type": "credit.hold",
            "resolve_on": ["order.released"],
            "resolve_when": "true",
        }
    )
    policy = policy_from_mapping(data)
    small = order("SO-1", lines=[("1", "BRG-6204", 10, 10.0)])
    big = order("SO-2", lines=[("1", "BRG-6204", 100, 10.0)])
    release = ev("order.released", {"order_id": "SO-2", "hold_code": "credit"}, when=at(hours=3))
    engine = run([*master(), small, big, release], policy)
    [case] = [c for c in cases_of(engine, "credit.hold") if c["rule"] == "big-gold-order"]
    assert case["subject"] == "SO-2"
    assert case["status"] == "resolved"
    assert case["policy_version"] == "1"


def test_a_disabled_rule_does_not_fire(tmp_path):
    data = default_data()
    for rule in data["rules"]:
        rule["enabled"] = False
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    no_ship_to = order("SO-1", ship_to={})
    engine = run([*master(), no_ship_to], load_policy(path))
    assert [
        c for c in cases_of(engine, "master_data.invalid") if c["rule"].startswith("ship")
    ] == []


def test_a_rule_can_iterate_the_order_lines_it_names():
    data = default_data()
    data["rules"].append(
        {
            "id": "bulk-line",
            "events": ["order.created"],
            "when": "event.data.lines.exists(l, l.qty >= 100.0)",
            "case_type": "allocation.shortage",
        }
    )
    policy = policy_from_mapping(data)
    small = order("SO-1", lines=[("1", "BRG-6204", 10, 10.0)])
    bulk = order("SO-2", lines=[("1", "BRG-6204", 5, 10.0), ("2", "BRG-6204", 150, 10.0)])
    engine = run([*master(), small, bulk], policy)
    assert [c["subject"] for c in cases_of(engine, "allocation.shortage")] == ["SO-2"]


def test_the_rule_context_carries_only_the_names_rules_mention():
    from unsnag.detect.rules import build_context, vocabulary

    names = vocabulary(['event.data.ship_to.postal_code == "x"'])
    engine = run([*master()])
    context = build_context(order("SO-1"), engine.state, names)
    assert set(context) == {"event"}
    assert context["event"] == {"data": {"ship_to": {"postal_code": "62701"}}}
