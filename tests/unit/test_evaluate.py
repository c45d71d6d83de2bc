"""Scoring a replay against ground truth (unsnag.evaluate) on tiny hand-built records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from unsnag.errors import ContractViolation, NotFound
from unsnag.evaluate import (
    COLUMNS,
    duration,
    evaluate,
    evaluate_dirs,
    parse_case,
    parse_fault,
    percentile,
    reasons,
    summary_line,
    table_rows,
)

DAY = "2026-05-04"


def at(clock: str) -> str:
    return f"{DAY}T{clock}Z"


def fault(case_type: str, subject: str, when: str, name: str = "", **keys: Any) -> dict[str, Any]:
    return {
        "fault": name or case_type,
        "case_type": case_type,
        "subject": subject,
        "keys": keys,
        "at": at(when),
    }


def case(
    id: str,
    case_type: str,
    subject: str,
    opened: str,
    closed: str | None = None,
    key: str | None = None,
    **refs: Any,
) -> dict[str, Any]:
    return {
        "id": id,
        "type": case_type,
        "status": "open" if closed is None else "resolved",
        "subject": subject,
        "key": key or subject,
        "refs": refs,
        "opened_at": at(opened),
        "closed_at": None if closed is None else at(closed),
    }


def score(
    faults: list[dict[str, Any]],
    cases: list[dict[str, Any]],
    orders: int = 1000,
    order_ids: tuple[str, ...] = (),
) -> dict[str, Any]:
    return evaluate(faults, cases, orders, order_ids)


# --- matching ------------------------------------------------------------------------------


def test_a_case_matches_a_fault_of_its_type_on_the_subject() -> None:
    report = score(
        [fault("pick.short", "SO-1", "10:00:00", order_id="SO-1", line_id="2")],
        [case("C-1", "pick.short", "SO-1", "10:00:00", key="SO-1/2", order_id="SO-1")],
    )
    row = report["by_type"]["pick.short"]
    assert (row["faults"], row["detected"], row["tp"], row["fp"]) == (1, 1, 1, 0)
    assert row["recall"] == row["precision"] == 1.0
    assert row["goal_met"] is True and row["reason"] == ""


def test_refs_lists_and_fault_key_lists_are_searched() -> None:
    conflict = fault(
        "allocation.conflict",
        "dc-east/BRG-1",
        "10:00:00",
        node_id="dc-east",
        sku="BRG-1",
        order_ids=["SO-1", "SO-2"],
    )
    found = case("C-1", "allocation.conflict", "elsewhere", "10:05:00", order_id=["SO-0", "SO-2"])
    assert score([conflict], [found])["by_type"]["allocation.conflict"]["tp"] == 1


def test_the_type_must_match() -> None:
    report = score(
        [fault("pricing.mismatch", "SO-1", "10:00:00", order_id="SO-1")],
        [case("C-1", "credit.hold", "SO-1", "10:00:00", order_id="SO-1")],
    )
    assert report["by_type"]["pricing.mismatch"]["recall"] == 0.0
    assert report["by_type"]["credit.hold"]["fp"] == 1


def test_attributes_such_as_customer_or_line_are_no_business_key() -> None:
    """Line "1", a customer or a DC is shared by thousands of unrelated cases."""
    report = score(
        [
            fault(
                "pick.short",
                "SO-1",
                "10:00:00",
                order_id="SO-1",
                line_id="1",
                customer_id="C-1",
                node_id="dc-east",
                sku="BRG-1",
            )
        ],
        [
            case(
                "C-9",
                "pick.short",
                "SO-9",
                "10:00:00",
                key="SO-9/1",
                order_id="SO-9",
                line_id="1",
                customer_id="C-1",
                node_id="dc-east",
                sku="BRG-1",
            )
        ],
    )
    row = report["by_type"]["pick.short"]
    assert (row["detected"], row["tp"], row["fp"]) == (0, 0, 1)


def test_one_fault_found_by_two_cases_counts_once_and_ttd_takes_the_earliest() -> None:
    report = score(
        [fault("shipment.delay", "SO-1", "10:00:00", order_id="SO-1", shipment_id="SH-1")],
        [
            case("C-2", "shipment.delay", "SO-1", "12:00:00", key="SH-1", shipment_id="SH-1"),
            case("C-1", "shipment.delay", "SO-1", "10:10:00", key="SH-1", shipment_id="SH-1"),
        ],
    )
    row = report["by_type"]["shipment.delay"]
    assert (row["faults"], row["detected"], row["cases"], row["tp"]) == (1, 1, 2, 2)
    assert row["ttd_p50_s"] == row["ttd_p90_s"] == 600


def test_a_case_already_open_when_the_fault_shows_is_early_and_clamps_to_zero() -> None:
    report = score(
        [fault("shipment.delay", "SO-1", "10:00:00", shipment_id="SH-1")],
        [case("C-1", "shipment.delay", "SO-1", "09:00:00", key="SH-1")],
    )
    row = report["by_type"]["shipment.delay"]
    assert (row["detected"], row["early"], row["ttd_p50_s"]) == (1, 1, 0)
    assert report["overall"]["early"] == 1


def test_a_case_closed_before_the_fault_does_not_detect_it() -> None:
    report = score(
        [fault("integration.failure", "erp/orders-api", "10:00:00", endpoint="erp/orders-api")],
        [case("C-1", "integration.failure", "erp/orders-api", "08:00:00", closed="09:00:00")],
    )
    row = report["by_type"]["integration.failure"]
    assert (row["detected"], row["tp"], row["fp"]) == (0, 0, 1)


def test_a_case_belongs_to_the_latest_fault_on_its_key_before_it_opened() -> None:
    """Two outages of one endpoint, one case after the second: the first was missed."""
    faults = [
        fault("integration.failure", "erp/orders-api", "08:00:00", endpoint="erp/orders-api"),
        fault("integration.failure", "erp/orders-api", "12:00:00", endpoint="erp/orders-api"),
    ]
    late = case("C-2", "integration.failure", "erp/orders-api", "12:10:00", closed="13:00:00")
    row = score(faults, [late])["by_type"]["integration.failure"]
    assert (row["detected"], row["misses"], row["ttd_p50_s"]) == (1, ["erp/orders-api"], 600)
    # a case still open from the first outage covers the second too (one problem, one case)
    long = case("C-1", "integration.failure", "erp/orders-api", "08:05:00", closed="13:00:00")
    row = score(faults, [long])["by_type"]["integration.failure"]
    assert (row["detected"], row["early"], row["tp"]) == (2, 1, 1)


def test_consequential_cases_are_neither_true_nor_false_positives() -> None:
    conflict = fault(
        "allocation.conflict",
        "dc-east/BRG-1",
        "10:00:00",
        node_id="dc-east",
        sku="BRG-1",
        order_ids=["SO-1", "SO-2"],
    )
    cases = [
        case("C-1", "allocation.conflict", "dc-east/BRG-1", "10:20:00", order_id=["SO-1", "SO-2"]),
        case("C-2", "allocation.shortage", "SO-1", "10:00:00", key="SO-1/3", order_id="SO-1"),
        case("C-3", "allocation.shortage", "SO-2", "10:20:00", key="SO-2/1", order_id="SO-2"),
        case("C-4", "allocation.shortage", "SO-7", "10:30:00", key="SO-7/1", order_id="SO-7"),
    ]
    report = score([conflict], cases, order_ids=("SO-1", "SO-2", "SO-7"))
    shortage = report["by_type"]["allocation.shortage"]
    counts = [shortage[name] for name in ("cases", "tp", "consequential", "fp")]
    assert counts == [3, 0, 2, 1]
    assert shortage["false_positives"] == ["C-4"]
    assert shortage["precision"] == 0.0 and shortage["recall"] is None
    overall = report["overall"]
    assert (overall["tp"], overall["fp"], overall["consequential"]) == (1, 1, 2)
    assert overall["precision"] == 0.5
    assert overall["noise"] == 1 and overall["noise_cases"] == ["C-4"]


def test_a_shortage_fault_is_still_a_true_positive_when_a_conflict_is_around() -> None:
    faults = [
        fault("allocation.conflict", "dc-east/BRG-1", "10:00:00", order_ids=["SO-1"]),
        fault("allocation.shortage", "SO-1", "10:00:00", order_id="SO-1", line_id="1"),
    ]
    cases = [case("C-1", "allocation.shortage", "SO-1", "10:00:00", key="SO-1/1", order_id="SO-1")]
    row = score(faults, cases)["by_type"]["allocation.shortage"]
    assert (row["tp"], row["consequential"]) == (1, 0)


# --- per-type figures ----------------------------------------------------------------------


def test_a_type_with_faults_but_no_cases_has_recall_zero_and_says_why() -> None:
    faults = [
        fault("cash.unapplied", f"RM-{n}", f"1{n}:00:00", "short_payment", remittance_id=f"RM-{n}")
        for n in range(5)
    ]
    row = score(faults, [])["by_type"]["cash.unapplied"]
    assert (row["faults"], row["detected"], row["cases"]) == (5, 0, 0)
    assert row["recall"] == 0.0 and row["precision"] is None
    assert row["ttd_p50_s"] is None and row["ttd_p90_s"] is None
    assert row["goal_met"] is False
    assert row["misses"] == ["RM-0", "RM-1", "RM-2"]
    assert row["reason"] == (
        f"5 of 5 faults undetected: first RM-0 (fault short_payment at {at('10:00:00')})"
    )


def test_a_type_with_cases_but_no_faults_has_precision_zero() -> None:
    cases = [case(f"C-{n}", "order.duplicate", f"SO-{n}", f"1{n}:00:00") for n in range(4)]
    row = score([], cases)["by_type"]["order.duplicate"]
    assert row["precision"] == 0.0 and row["recall"] is None
    assert (row["cases"], row["fp"], row["false_positives"]) == (4, 4, ["C-0", "C-1", "C-2"])
    assert row["goal_met"] is False
    assert row["reason"].startswith("no faults of this type in the truth; 4 false positives")


def test_goal_needs_recall_098_and_precision_095() -> None:
    faults = [fault("pick.short", f"SO-{n}", "10:00:00", order_id=f"SO-{n}") for n in range(50)]
    found = [case(f"C-{n}", "pick.short", f"SO-{n}", "10:00:00") for n in range(49)]
    assert score(faults, found)["by_type"]["pick.short"]["goal_met"] is True  # 0.98
    row = score(faults, found[:48])["by_type"]["pick.short"]
    assert row["recall"] == 0.96 and row["goal_met"] is False
    assert row["reason"].startswith("2 of 50 faults undetected: first SO-48")
    wrong = [case(f"X-{n}", "pick.short", f"SO-x{n}", "11:00:00") for n in range(3)]
    row = score(faults, found + wrong)["by_type"]["pick.short"]
    assert row["precision"] == round(49 / 52, 4) and row["goal_met"] is False
    assert "3 false positives: first X-0 (SO-x0, opened" in row["reason"]


def test_a_type_with_only_consequential_cases_is_not_judged() -> None:
    faults = [fault("allocation.conflict", "dc-east/BRG-1", "10:00:00", order_ids=["SO-1"])]
    cases = [
        case("C-1", "allocation.conflict", "dc-east/BRG-1", "10:00:00"),
        case("C-2", "allocation.shortage", "SO-1", "10:00:00", order_id="SO-1"),
    ]
    report = score(faults, cases)
    assert report["by_type"]["allocation.shortage"]["goal_met"] is None
    assert report["overall"]["types_judged"] == 1


def test_ttd_percentiles_are_nearest_rank_over_the_detected_faults() -> None:
    faults = [fault("pick.short", f"SO-{n}", "10:00:00", order_id=f"SO-{n}") for n in range(10)]
    cases = [case(f"C-{n}", "pick.short", f"SO-{n}", f"10:{n + 1:02d}:00") for n in range(10)]
    row = score(faults, cases)["by_type"]["pick.short"]
    assert (row["ttd_p50_s"], row["ttd_p90_s"]) == (300, 540)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 50) == 5
    assert percentile(values, 90) == 9
    assert percentile(values, 100) == 10
    assert percentile(values, 0) == 1
    assert percentile([7.0], 90) == 7
    assert percentile([], 50) is None


def test_rates_per_thousand_orders_and_overall_sums() -> None:
    faults = [
        fault("pick.short", "SO-1", "10:00:00", order_id="SO-1"),
        fault("pricing.mismatch", "SO-2", "10:00:00", order_id="SO-2"),
    ]
    cases = [
        case("C-1", "pick.short", "SO-1", "10:00:00"),
        case("C-2", "pick.short", "SO-3", "11:00:00"),
    ]
    report = score(faults, cases, orders=400, order_ids=("SO-1", "SO-2", "SO-3"))
    overall = report["overall"]
    assert overall["recall"] == 0.5 and overall["precision"] == 0.5
    assert overall["cases_per_1000_orders"] == 5.0 and overall["orders"] == 400
    assert report["by_type"]["pick.short"]["cases_per_1000_orders"] == 5.0
    assert overall["noise"] == 1 and overall["noise_per_1000_orders"] == 2.5
    assert score([], [], orders=0)["overall"]["cases_per_1000_orders"] is None


def test_noise_is_cases_on_orders_without_any_fault() -> None:
    faults = [
        fault("pricing.mismatch", "SO-1", "10:00:00", order_id="SO-1"),
        fault("order.duplicate", "SO-4", "10:00:00", order_id="SO-4", original_order_id="SO-3"),
        fault("inventory.mismatch", "dc-east/BRG-1", "10:00:00", node_id="dc-east", sku="BRG-1"),
    ]
    cases = [
        case("C-1", "credit.hold", "SO-1", "10:00:00"),  # false positive on a faulted order
        case("C-2", "pick.short", "SO-2", "10:00:00", key="SO-2/1"),  # noise
        case("C-3", "pick.short", "SO-2/1", "10:00:00"),  # noise, subject starts with the order
        case("C-4", "order.duplicate", "SO-3", "10:00:00"),  # on the duplicated original
        case("C-5", "inventory.mismatch", "dc-west/BRG-1", "10:00:00"),  # not an order
        case("C-6", "pick.short", "SO-2X", "10:00:00"),  # not an order of the stream
    ]
    report = score(faults, cases, order_ids=("SO-1", "SO-2", "SO-3", "SO-4"))
    assert report["overall"]["noise"] == 2
    assert report["overall"]["noise_cases"] == ["C-2", "C-3"]
    assert report["by_type"]["order.duplicate"]["tp"] == 1


def test_the_report_has_the_issue_shape_plus_the_extras() -> None:
    report = score(
        [fault("pick.short", "SO-1", "10:00:00", order_id="SO-1")],
        [case("C-1", "pick.short", "SO-1", "10:00:00")],
    )
    assert set(report) == {"overall", "by_type"}
    assert {"recall", "precision", "noise", "orders", "cases_per_1000_orders"} <= set(
        report["overall"]
    )
    row = report["by_type"]["pick.short"]
    assert {
        "recall",
        "precision",
        "ttd_p50_s",
        "ttd_p90_s",
        "faults",
        "cases",
        "tp",
        "fp",
        "consequential",
        "detected",
        "early",
        "cases_per_1000_orders",
        "misses",
        "false_positives",
    } <= set(row)


def test_types_are_reported_in_name_order() -> None:
    report = score(
        [fault("shipment.delay", "SO-1", "10:00:00"), fault("credit.hold", "SO-2", "10:00:00")],
        [case("C-1", "allocation.shortage", "SO-3", "10:00:00")],
    )
    assert list(report["by_type"]) == ["allocation.shortage", "credit.hold", "shipment.delay"]


# --- parsing -------------------------------------------------------------------------------


def test_malformed_records_are_contract_violations() -> None:
    with pytest.raises(ContractViolation, match="case_type"):
        parse_fault({"subject": "SO-1", "keys": {}, "at": at("10:00:00")})
    with pytest.raises(ContractViolation, match="at must be an RFC 3339 time"):
        parse_fault({"case_type": "pick.short", "subject": "SO-1", "at": "yesterday"})
    with pytest.raises(ContractViolation, match="keys must be an object"):
        parse_fault(
            {"case_type": "pick.short", "subject": "SO-1", "keys": [], "at": at("10:00:00")}
        )
    with pytest.raises(ContractViolation, match="opened_at"):
        parse_case({"id": "C-1", "type": "pick.short", "subject": "SO-1"})
    with pytest.raises(ContractViolation, match="JSON object"):
        parse_case(["C-1"], "cases.jsonl:3")


def test_key_values_may_be_numbers_lists_or_null() -> None:
    parsed = parse_fault(
        {
            "case_type": "order.duplicate",
            "subject": "SO-2",
            "at": at("10:00:00"),
            "keys": {"po_number": None, "order_ids": ["SO-1", 45]},
        }
    )
    assert parsed.ids == {"SO-2", "SO-1", "45"}
    assert parsed.order_ids == {"SO-1", "45"}
    assert parsed.fault == "order.duplicate"


# --- rendering -----------------------------------------------------------------------------


def test_duration_is_short_and_human() -> None:
    assert [duration(s) for s in (None, 0, 59, 600, 5400, 432_000)] == [
        "—",
        "0s",
        "59s",
        "10m",
        "1.5h",
        "5.0d",
    ]


def test_table_rows_reasons_and_summary() -> None:
    report = score(
        [fault("pick.short", "SO-1", "10:00:00"), fault("credit.hold", "SO-2", "10:00:00")],
        [case("C-1", "pick.short", "SO-1", "10:00:00")],
        orders=100,
    )
    rows = table_rows(report)
    assert all(len(row) == len(COLUMNS) for row in rows)
    assert [row[0] for row in rows] == ["credit.hold", "pick.short", "all types"]
    assert rows[0][-1] == "✗" and rows[1][-1] == "✓" and rows[2][-1] == "1/2"
    assert reasons(report) == [
        f"credit.hold: 1 of 1 fault undetected: first SO-2 (fault credit.hold at {at('10:00:00')})"
    ]
    line = summary_line(report)
    assert line.startswith("recall 0.500 (1 of 2 faults), precision 1.000")
    assert "1 of 2 types meet the goal" in line


# --- files ---------------------------------------------------------------------------------


def _jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


def _dirs(tmp_path: Path, meta: dict[str, Any] | None = None) -> tuple[Path, Path]:
    twin, replayed = tmp_path / "twin", tmp_path / "replay"
    twin.mkdir()
    replayed.mkdir()
    _jsonl(twin / "truth.jsonl", [fault("pick.short", "SO-1", "10:00:00", order_id="SO-1")])
    created = [
        {"type": "order.created", "subject": f"SO-{n}", "data": {"order_id": f"SO-{n}"}}
        for n in (1, 2, 2, 3)
    ]
    _jsonl(twin / "events.jsonl", [*created, {"type": "order.cancelled", "subject": "SO-9"}])
    with (twin / "events.jsonl").open("ab") as handle:
        handle.write(b'{"broken": "order.created"\n\n')
    if meta is not None:
        (twin / "meta.json").write_bytes(orjson.dumps(meta))
    _jsonl(
        replayed / "cases.jsonl",
        [
            case("C-1", "pick.short", "SO-1", "10:01:00"),
            case("C-2", "pick.short", "SO-3", "11:00:00"),
        ],
    )
    return twin, replayed


def test_evaluate_dirs_writes_a_sorted_deterministic_eval_json(tmp_path: Path) -> None:
    twin, replayed = _dirs(tmp_path)
    report = evaluate_dirs(twin, replayed)
    first = (replayed / "eval.json").read_bytes()
    assert orjson.loads(first) == report
    evaluate_dirs(twin, replayed)
    assert (replayed / "eval.json").read_bytes() == first
    assert first.index(b'"by_type"') < first.index(b'"overall"')
    assert report["overall"]["orders"] == 3  # distinct order ids of order.created events
    assert report["overall"]["noise"] == 1


def test_evaluate_dirs_takes_the_order_count_from_meta(tmp_path: Path) -> None:
    twin, replayed = _dirs(tmp_path, {"orders": 2000, "seed": 3})
    assert evaluate_dirs(twin, replayed)["overall"]["cases_per_1000_orders"] == 1.0


def test_evaluate_dirs_refuses_missing_or_malformed_inputs(tmp_path: Path) -> None:
    twin, replayed = _dirs(tmp_path)
    with pytest.raises(NotFound, match="nowhere"):
        evaluate_dirs(tmp_path / "nowhere", replayed)
    (replayed / "cases.jsonl").write_text('{"id": "C-1"}\nnot json\n')
    with pytest.raises(ContractViolation, match=r"cases.jsonl:1: subject"):
        evaluate_dirs(twin, replayed)
    (replayed / "cases.jsonl").write_text("not json\n")
    with pytest.raises(ContractViolation, match=r"cases.jsonl:1: not JSON"):
        evaluate_dirs(twin, replayed)
    (replayed / "cases.jsonl").unlink()
    with pytest.raises(NotFound, match=r"cases\.jsonl: no such file"):
        evaluate_dirs(twin, replayed)
    _jsonl(replayed / "cases.jsonl", [])
    (twin / "meta.json").write_text('{"orders": "many"}')
    with pytest.raises(ContractViolation, match="orders must be a count"):
        evaluate_dirs(twin, replayed)
    (twin / "events.jsonl").unlink()
    with pytest.raises(NotFound, match=r"events\.jsonl"):
        evaluate_dirs(twin, replayed)
