"""`unsnag bench allocate` as a user runs it: one JSON object on stdout, nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys

KEYS = ["lines", "solve_s", "gap", "value", "greedy_fcfs_value", "greedy_priority_value"]


def unsnag(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "unsnag.cli", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "160"},
        timeout=300, check=False,
    )  # fmt: skip


def test_bench_allocate_prints_one_json_object_with_the_three_values():
    result = unsnag("bench", "allocate", "--lines", "100", "--dcs", "3", "--skus", "20",
                    "--seed", "1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    report = json.loads(line)
    assert list(report)[: len(KEYS)] == KEYS
    assert report["lines"] == 100
    assert 0 <= report["gap"] <= 1e-3 and report["solve_s"] >= 0
    assert report["value"] >= report["greedy_priority_value"]
    assert report["value"] >= report["greedy_fcfs_value"]
    assert report["status"] == "optimal" and report["components"] >= 1


def test_bench_allocate_is_reproducible_by_seed():
    args = ("bench", "allocate", "--lines", "60", "--dcs", "2", "--skus", "10", "--seed", "4")
    first, second = (json.loads(unsnag(*args).stdout) for _ in range(2))
    assert first["value"] == second["value"]
    assert first["greedy_fcfs_value"] == second["greedy_fcfs_value"]


def test_bench_allocate_refuses_a_nonsense_size_in_one_line():
    result = unsnag("bench", "allocate", "--lines", "-5")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "--lines" in result.stderr
