"""`unsnag backtest`, `unsnag shadow ...` and `unsnag intel map` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from unsnag.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-events.jsonl"


def unsnag(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "unsnag.cli", *args]
    merged = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, env=merged, timeout=300,
                          check=False)  # fmt: skip


def policy_file(path: Path, version: str, **team_of: str) -> Path:
    data = load_policy().model_dump(mode="json")
    data["version"] = version
    for case_type, team in team_of.items():
        data["types"][case_type.replace("_", ".")]["owner_team"] = team
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_backtest_of_the_policy_in_force_shows_no_difference(tmp_path):
    same = policy_file(tmp_path / "same.yaml", "1")
    result = unsnag("backtest", str(SAMPLE), "--policy", str(same))
    assert result.returncode == 0, result.stderr
    assert "no difference" in result.stdout and "Summary" in result.stdout
    report = json.loads(unsnag("backtest", str(SAMPLE), "--policy", str(same), "--json").stdout)
    assert report["identical"] and report["matched"] > 0


def test_a_backtest_reports_a_routing_change_in_a_table_json_and_files(tmp_path):
    moved = policy_file(tmp_path / "moved.yaml", "2", pick_short="logistics")
    out = tmp_path / "out"
    result = unsnag("backtest", str(SAMPLE), "--policy", str(moved), "--json", "--out", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["policies"]["b"]["version"] == "2"
    [move] = report["teams"]["moves"]
    assert (move["from"], move["to"]) == ("warehouse", "logistics") and move["cases"] > 0
    assert json.loads((out / "backtest.json").read_text())["differences"] == report["differences"]
    current = (out / "cases-current.jsonl").read_text().splitlines()
    assert len(current) == report["totals"]["a"]["cases"]
    table = unsnag("backtest", str(SAMPLE), "--policy", str(moved), "--against", str(moved))
    assert "no difference" in table.stdout


def test_a_backtest_of_a_missing_file_is_one_red_line(tmp_path):
    result = unsnag("backtest", str(tmp_path / "nope.jsonl"), "--policy", str(SAMPLE))
    assert result.returncode == 1 and "no such file" in result.stderr


def test_a_shadow_policy_watches_the_ingest_until_stopped(tmp_path):
    env = {"UNSNAG_DATABASE_URL": f"sqlite:///{tmp_path / 'u.db'}"}
    lines = SAMPLE.read_text().splitlines(keepends=True)
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_text("".join(lines[:400]))
    rest.write_text("".join(lines[400:]))
    moved = policy_file(tmp_path / "moved.yaml", "shadow-1", pick_short="logistics")
    assert unsnag("ingest", str(first), env=env).returncode == 0
    started = unsnag("shadow", "start", "--policy", str(moved), env=env)
    assert started.returncode == 0, started.stderr
    assert unsnag("ingest", str(rest), env=env).returncode == 0
    diff = json.loads(unsnag("shadow", "diff", "--json", env=env).stdout)
    assert diff["labels"] == {"a": "live", "b": "shadow"}
    assert diff["shadow"]["policy_version"] == "shadow-1" and diff["matched"] > 0
    assert diff["teams"]["moves"][0]["to"] == "logistics"
    cases = [json.loads(line) for line in unsnag("cases", "--json", env=env).stdout.splitlines()]
    assert {case["policy_version"] for case in cases} == {"1"}  # no shadow case leaked
    assert "Workload" in unsnag("shadow", "diff", env=env).stdout
    assert unsnag("shadow", "stop", env=env).returncode == 0
    assert "stopped" in unsnag("shadow", "status", env=env).stdout
    assert unsnag("shadow", "diff", env=env).returncode == 1


def test_intel_map_writes_the_json_and_one_svg_per_object_type(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_bytes(SAMPLE.read_bytes())
    out = tmp_path / "map"
    result = unsnag("intel", "map", "--events", str(events), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "variants of" in result.stdout
    document = json.loads((out / "process-map.json").read_text())
    assert set(document["graphs"]) == {"order", "line", "shipment", "invoice"}
    for name in ("map-order", "map-line", "map-shipment", "map-invoice", "variants"):
        ET.parse(out / f"{name}.svg")
    again = unsnag("intel", "map", "--events", str(events), "--out", str(out), "--json",
                   "--object-type", "shipment")  # fmt: skip
    assert json.loads(again.stdout)["seconds"]["from_cache"] is True
    bad = unsnag("intel", "map", "--events", str(events), "--object-type", "pallet")
    assert bad.returncode == 1 and "unknown object type" in bad.stderr
