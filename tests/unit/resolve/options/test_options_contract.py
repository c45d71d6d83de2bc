"""Every option computer keeps the contract: valid actions with every parameter they need,
ranked best first, and a human option — never an exception — when data is missing."""

from datetime import UTC, datetime

import pytest
from options_support import options_for, scenario

from builders import default_policy
from unsnag.cases.desk import Case
from unsnag.cases.taxonomy import CASE_TYPES
from unsnag.resolve.facts import GROUPS, gather
from unsnag.resolve.model import ACTIONS
from unsnag.resolve.options import COMPUTERS, DEFAULT_COMPUTER, compute, valid
from unsnag.state.model import State

T = datetime(2026, 5, 4, 8, tzinfo=UTC)


def test_every_case_type_has_a_default_computer_that_exists():
    assert set(DEFAULT_COMPUTER) == set(CASE_TYPES)
    extra = {"conflict_greedy", "shortage_evidence"}
    assert set(DEFAULT_COMPUTER.values()) | extra == set(COMPUTERS)


@pytest.mark.parametrize("case_type", sorted(CASE_TYPES))
def test_every_option_names_a_known_action_with_all_its_params(case_type):
    computer, events, until = scenario(case_type)
    assert DEFAULT_COMPUTER[case_type] == computer
    options, case, _ = options_for(computer, events, case_type, until=until)
    assert options, f"{computer} proposed nothing for {case.summary}"
    for option in options:
        kind = ACTIONS[option.action]
        missing = [p for p in kind.params if option.params.get(p) is None]
        assert not missing, f"{computer}: {option.action} lacks {missing}"
        assert 0.0 <= option.confidence <= 1.0
        assert option.summary and option.facts
        assert option.amount >= 0.0


@pytest.mark.parametrize("case_type", sorted(CASE_TYPES))
def test_options_are_ranked_by_confidence(case_type):
    computer, events, until = scenario(case_type)
    options, _, _ = options_for(computer, events, case_type, until=until)
    confidences = [o.confidence for o in options]
    assert confidences == sorted(confidences, reverse=True)


@pytest.mark.parametrize("case_type", sorted(CASE_TYPES))
def test_a_case_whose_records_are_unknown_gets_a_human_option_saying_what_is_missing(case_type):
    case = Case(
        id="C-1",
        type=case_type,
        key="X-404/1",
        subject="X-404",
        opened_at=T,
        due_at=T,
        owner_team="planning",
        rule="test",
        policy_version="1",
        refs={"order_id": {"X-404"}, "line_id": {"1"}, "invoice_id": {"INV-404"}},
        summary="something went wrong",
    )
    options = compute(DEFAULT_COMPUTER[case_type], case, State(), default_policy(), top=3)
    assert options
    assert all(valid(o) for o in options)
    assert options[0].action in ("notify", "request_info", "retry_interface")
    if options[0].action != "retry_interface":  # an endpoint needs no record to be retried
        assert any("unknown" in fact or "no " in fact for fact in options[0].facts)


def test_compute_keeps_the_best_top_options():
    computer, events, _ = scenario("allocation.shortage")
    all_options, case, engine = options_for(computer, events, "allocation.shortage")
    kept = compute(computer, case, engine.state, default_policy(), top=2)
    assert kept == all_options[:2]


def test_an_unknown_computer_leaves_a_human_task_naming_it():
    computer, events, _ = scenario("allocation.shortage")
    _, case, engine = options_for(computer, events, "allocation.shortage")
    [option] = compute("crystal_ball", case, engine.state, default_policy(), top=3)
    assert option.action == "notify"
    assert option.params["to"] == "planning"
    assert "no option computer named 'crystal_ball'" in option.facts[0]


def test_a_computer_that_fails_leaves_a_human_task_instead_of_raising(monkeypatch):
    computer, events, _ = scenario("allocation.shortage")
    _, case, engine = options_for(computer, events, "allocation.shortage")

    def broken(case, state, policy):
        raise KeyError("boom")

    monkeypatch.setitem(COMPUTERS, "shortage", broken)
    [option] = compute("shortage", case, engine.state, default_policy(), top=3)
    assert option.action == "notify"
    assert "KeyError" in option.facts[0]


def test_options_serialise_for_the_audit_trail():
    computer, events, _ = scenario("allocation.shortage")
    options, _, _ = options_for(computer, events, "allocation.shortage")
    data = options[0].to_dict()
    assert set(data) >= {"action", "params", "summary", "effect", "facts", "confidence"}
    assert set(data["effect"]) == {"revenue_protected", "cost", "days_gained"}


class NoScan(dict):
    """A state table that refuses to be walked: computers must look records up by key."""

    def _refuse(self, *args, **kwargs):
        raise AssertionError("a computer scanned a whole state table")

    __iter__ = keys = values = items = _refuse


BIG_TABLES = (
    "orders",
    "shipments",
    "invoices",
    "remittances",
    "returns",
    "purchase_orders",
    "stock",
    "customers",
    "products",
    "contracts",
)


@pytest.mark.parametrize("case_type", sorted(CASE_TYPES))
def test_computers_and_facts_look_records_up_and_never_scan_a_table(case_type):
    computer, events, until = scenario(case_type)
    _, case, engine = options_for(computer, events, case_type, until=until)
    state = engine.state
    for name in BIG_TABLES:
        setattr(state, name, NoScan(getattr(state, name)))
    assert COMPUTERS[computer](case, state, default_policy())
    assert gather(list(GROUPS), case, state)
