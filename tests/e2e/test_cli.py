"""The `unsnag` command as a user runs it: a subprocess on real files and databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-events.jsonl"
CASE_KEYS = {
    "id",
    "type",
    "status",
    "subject",
    "refs",
    "priority",
    "priority_explained",
    "owner_team",
    "opened_at",
    "due_at",
    "rule",
    "policy_version",
}
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def unsnag(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: str = ""):
    command = [sys.executable, "-m", "unsnag.cli", *args]
    merged = {**os.environ, "COLUMNS": "160", **(env or {})}
    return subprocess.run(
        command, capture_output=True, text=True, env=merged, cwd=cwd, timeout=300, check=False,
        input=stdin,
    )  # fmt: skip


def twin_and_replay(base: Path, days: int, orders: int, seed: int) -> tuple[Path, Path]:
    """A small twin run replayed: (cases.jsonl, events.jsonl), for commands that read both."""
    twin, out = base / "twin", base / "replay"
    made = unsnag("twin", "run", "--days", str(days), "--orders-per-day", str(orders),
                  "--seed", str(seed), "--out", str(twin))  # fmt: skip
    assert made.returncode == 0, made.stderr
    replayed = unsnag("replay", str(twin / "events.jsonl"), "--out", str(out))
    assert replayed.returncode == 0, replayed.stderr
    return out / "cases.jsonl", twin / "events.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_replay_writes_cases_dead_letters_and_a_summary(tmp_path):
    result = unsnag("replay", str(SAMPLE), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    cases = read_jsonl(tmp_path / "cases.jsonl")
    dead = read_jsonl(tmp_path / "dead_letters.jsonl")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert cases and all(set(case) >= CASE_KEYS for case in cases)
    assert len(dead) == summary["refused"] == 5
    assert any(d["reason"].startswith("not JSON") for d in dead)
    assert summary["accepted"] > 1000
    assert sum(summary["cases_by_type"].values()) == len(cases)
    assert "Open cases, highest priority first" in result.stdout


def test_replay_is_byte_identical_run_after_run(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert unsnag("replay", str(SAMPLE), "--out", str(first)).returncode == 0
    assert unsnag("replay", str(SAMPLE), "--out", str(second)).returncode == 0
    assert (first / "cases.jsonl").read_bytes() == (second / "cases.jsonl").read_bytes()


def test_replay_reads_a_json_array_too(tmp_path):
    events = [
        json.loads(line) for line in SAMPLE.read_text().splitlines()[:200] if line.startswith("{")
    ]
    array = tmp_path / "events.json"
    array.write_text(json.dumps(events))
    result = unsnag("replay", str(array), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["accepted"] + summary["refused"] == len(events)


def test_a_missing_input_is_one_red_line_and_exit_1(tmp_path):
    result = unsnag("replay", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path))
    assert result.returncode == 1
    assert "no such file" in result.stderr


def test_a_broken_policy_is_reported_before_any_work(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("version: '2'\nteams: {}\ntypes: {}\n")
    result = unsnag("policy", "check", str(policy))
    assert result.returncode == 1
    assert "no routing for" in result.stderr


def test_the_shipped_policy_checks(tmp_path):
    shown = unsnag("policy", "show")
    (tmp_path / "p.yaml").write_text(shown.stdout)
    result = unsnag("policy", "check", str(tmp_path / "p.yaml"))
    assert result.returncode == 0, result.stderr
    assert "17 case types" in result.stdout


def ingest_and_list(env: dict[str, str], cwd: Path) -> None:
    first = unsnag("ingest", str(SAMPLE), env=env, cwd=cwd)
    assert first.returncode == 0, first.stderr
    assert "5 refused" in first.stdout
    again = unsnag("ingest", str(SAMPLE), env=env, cwd=cwd)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("0 accepted")
    listed = unsnag("cases", "--json", "--limit", "1000", env=env, cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert rows and [r["priority"] for r in rows] == sorted(
        (r["priority"] for r in rows), reverse=True
    )
    replayed = unsnag("replay", str(SAMPLE), "--out", str(cwd / "replay"))
    assert replayed.returncode == 0
    expected = {c["id"]: c["status"] for c in read_jsonl(cwd / "replay" / "cases.jsonl")}
    assert {r["id"]: r["status"] for r in rows} == expected
    dead = unsnag("dead-letters", "--json", "--limit", "100", env=env, cwd=cwd)
    records = [json.loads(line) for line in dead.stdout.splitlines()]
    assert len(records) == 10  # five bad lines, ingested twice: kept each time, never dropped
    assert any(r["field"] == "data.lines.0.qty" for r in records)
    only_open = unsnag("cases", "--json", "--status", "open", "--limit", "1000", env=env, cwd=cwd)
    assert all(json.loads(line)["status"] == "open" for line in only_open.stdout.splitlines())


def test_ingest_into_sqlite_is_idempotent_and_agrees_with_replay(tmp_path):
    env = {"UNSNAG_DATABASE_URL": f"sqlite:///{tmp_path / 'unsnag.db'}"}
    ingest_and_list(env, tmp_path)


@pytest.mark.postgres
def test_ingest_into_postgresql_is_idempotent_and_agrees_with_replay(tmp_path):
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        ingest_and_list({"UNSNAG_DATABASE_URL": url}, tmp_path)
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_ingest_reads_standard_input(tmp_path):
    env = {"UNSNAG_DATABASE_URL": f"sqlite:///{tmp_path / 'unsnag.db'}"}
    lines = SAMPLE.read_text().splitlines()[:40]
    result = unsnag("ingest", "-", env=env, stdin="\n".join([*lines, "garbage"]) + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("40 accepted, 1 refused")
