"""`unsnag intel kpis|pareto|incidents` as a user runs them, on a small twin run replayed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import twin_and_replay


def unsnag(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unsnag.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "PYTHONHASHSEED": "0"},
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return twin_and_replay(tmp_path_factory.mktemp("intel"), 3, 200, 3)


def files(run: tuple[Path, Path]) -> list[str]:
    return ["--cases", str(run[0]), "--events", str(run[1])]


def test_kpis_json_matches_the_replay_and_the_twin(run):
    done = unsnag("intel", "kpis", *files(run), "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    [row] = document["rows"]
    cases = run[0].read_text("utf-8").splitlines()
    meta = json.loads((run[1].parent / "meta.json").read_text("utf-8"))
    assert row["cases_opened"] == len(cases)
    assert row["orders"] == meta["orders"]
    assert 0 < row["perfect_order_rate"] < 1
    assert row["open_backlog"] == sum('"status":"open"' in line for line in cases)
    assert {k["name"] for k in document["kpis"]} == set(row) - {"scope"}


def test_kpis_table_by_type_for_a_period(run):
    done = unsnag("intel", "kpis", *files(run), "--by", "type", "--from", "2026-05-04",
                  "--to", "2026-05-06")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "KPIs by type, 2026-05-04 to 2026-05-06" in done.stdout
    assert "pick.short" in done.stdout


def test_pareto_answers_which_skus_and_whether_it_is_getting_better(run):
    done = unsnag("intel", "pareto", "--by", "sku", "--type", "pick.short", "--top", "5",
                  *files(run), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["case_types"] == ["pick.short"]
    assert 0 < len(document["rows"]) <= 5
    assert document["trend"] in {"improving", "worsening", "steady", "unknown"}
    table = unsnag("intel", "pareto", "--by", "sku", "--type", "pick.short", "--top", "5",
                   *files(run))  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "pick.short by sku" in table.stdout and "cases with a sku" in table.stdout


def test_incidents_link_cases(run):
    done = unsnag("intel", "incidents", *files(run), "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    linked = {case for incident in document["incidents"] for case in incident["cases"]}
    assert set(document["links"]) == linked


def test_half_a_source_and_a_bad_date_are_one_red_line(run):
    half = unsnag("intel", "kpis", "--cases", str(run[0]))
    assert half.returncode == 1 and "give both --cases and --events" in half.stderr
    bad = unsnag("intel", "kpis", *files(run), "--from", "May 1st")
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr


def test_kpis_list_names_every_kpi():
    done = unsnag("intel", "kpis", "--list", "--json")
    assert done.returncode == 0, done.stderr
    assert "perfect_order_rate" in {k["name"] for k in json.loads(done.stdout)}


def test_kpis_read_the_store_the_settings_name(run, tmp_path):
    env = {"UNSNAG_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    ingested = subprocess.run(
        [sys.executable, "-m", "unsnag.cli", "ingest", str(run[1])],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=300, check=False,
    )  # fmt: skip
    assert ingested.returncode == 0, ingested.stderr
    done = subprocess.run(
        [sys.executable, "-m", "unsnag.cli", "intel", "kpis", "--json"],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    from_store = json.loads(done.stdout)["rows"][0]
    from_files = json.loads(unsnag("intel", "kpis", *files(run), "--json").stdout)["rows"][0]
    assert from_store["orders"] == from_files["orders"]
    assert from_store["cases_opened"] == from_files["cases_opened"]
