"""`unsnag eval` as a user runs it: generate a workload with its ground truth, replay it,
score the replay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TYPE_KEYS = {
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
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("eval")
    twin, replayed = base / "twin", base / "replay"
    made = run(
        "bench/workload.py",
        "--orders",
        "300",
        "--seed",
        "3",
        "--exception-rate",
        "0.3",
        "--out-dir",
        str(twin),
    )
    assert made.returncode == 0, made.stderr
    replay = run("-m", "unsnag.cli", "replay", str(twin / "events.jsonl"), "--out", str(replayed))
    assert replay.returncode == 0, replay.stderr
    result = run("-m", "unsnag.cli", "eval", str(twin), str(replayed))
    return {"twin": twin, "replay": replayed, "result": result}


def test_the_workload_writes_the_twin_layout(scored: dict[str, Any]) -> None:
    twin = scored["twin"]
    meta = json.loads((twin / "meta.json").read_text())
    events = (twin / "events.jsonl").read_text().splitlines()
    assert meta == {
        "orders": 300,
        "events": len(events),
        "seed": 3,
        "exception_rate": 0.3,
        "generator": "bench/workload.py",
    }
    assert len((twin / "truth.jsonl").read_text().splitlines()) == 90


def test_eval_prints_the_table_and_writes_eval_json(scored: dict[str, Any]) -> None:
    result = scored["result"]
    assert result.returncode == 0, result.stderr
    report = json.loads((scored["replay"] / "eval.json").read_text())
    assert set(report) == {"overall", "by_type"}
    overall = report["overall"]
    assert {"recall", "precision", "noise", "orders", "cases_per_1000_orders"} <= set(overall)
    assert overall["orders"] == 300
    assert overall["recall"] >= 0.9
    assert overall["faults"] == 90
    assert len(report["by_type"]) == 17
    for row in report["by_type"].values():
        assert set(row) >= TYPE_KEYS
    for column in ("type", "faults", "recall", "precision", "ttd p90", "goal"):
        assert column in result.stdout
    assert "pick.short" in result.stdout and "all types" in result.stdout
    assert f"recall {overall['recall']:.3f}" in result.stdout
    assert "eval.json" in result.stdout


def test_eval_is_deterministic(scored: dict[str, Any]) -> None:
    first = (scored["replay"] / "eval.json").read_bytes()
    again = run("-m", "unsnag.cli", "eval", str(scored["twin"]), str(scored["replay"]))
    assert again.returncode == 0
    assert (scored["replay"] / "eval.json").read_bytes() == first


def test_missing_or_malformed_inputs_are_one_red_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "twin").mkdir()
    missing = run("-m", "unsnag.cli", "eval", str(tmp_path / "twin"), str(tmp_path))
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("error:") and "truth.jsonl" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    (tmp_path / "twin" / "truth.jsonl").write_text("{not json\n")
    broken = run("-m", "unsnag.cli", "eval", str(tmp_path / "twin"), str(tmp_path))
    assert broken.returncode == 1 and "not JSON" in broken.stderr
