"""`unsnag report` as a user runs it: a small twin run, replayed, reported on."""

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
    return twin_and_replay(tmp_path_factory.mktemp("report"), 3, 150, 5)


def test_report_writes_a_self_contained_page_and_its_numbers(run, tmp_path):
    out = tmp_path / "report"
    done = unsnag("report", "--cases", str(run[0]), "--events", str(run[1]), "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = out / "report.html"
    assert page.is_file() and page.stat().st_size < 10_000_000
    html = page.read_text("utf-8")
    assert "<script src" not in html and html.count("plotly.js v") == 1
    document = json.loads((out / "report.json").read_text("utf-8"))
    cases = run[0].read_text("utf-8").splitlines()
    assert document["kpis"]["cases_opened"] == len(cases)
    assert document["process_map"]["graphs"]["order"]["objects"] > 0
    assert "report.html" in done.stderr


def test_report_for_some_days_names_them(run, tmp_path):
    out = tmp_path / "days"
    done = unsnag("report", "--cases", str(run[0]), "--events", str(run[1]), "--out", str(out),
                  "--from", "2026-05-05", "--to", "2026-05-06")  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads((out / "report.json").read_text("utf-8"))
    assert document["period"]["from"] == "2026-05-05T00:00:00+00:00"
    assert [row["day"] for row in document["backlog_by_day"]] == ["2026-05-05", "2026-05-06"]
    assert "Tue 05 May 2026 to Wed 06 May 2026" in (out / "report.html").read_text("utf-8")


def test_half_a_source_is_one_red_line(run, tmp_path):
    done = unsnag("report", "--cases", str(run[0]), "--out", str(tmp_path / "x"))
    assert done.returncode == 1 and "give both --cases and --events" in done.stderr
    assert not (tmp_path / "x").exists()
