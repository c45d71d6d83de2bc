"""`unsnag ingest` end to end: read, validate, append to the log, run the engine, upsert
cases, checkpoint — on SQLite and on PostgreSQL.

    python bench/bench_ingest_e2e.py --events 200000

Takes the first N events of the benchmark workload (bench/workload.py, seed 7; generated
on first use) and ingests them through the same service function the CLI calls into a
fresh SQLite file and a fresh PostgreSQL schema (dropped afterwards). In the same
process it also times the in-memory replay of the same events, the baseline the store's
cost is a ratio against. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from unsnag.inputs import parse_items, read_items
from unsnag.policy import load_policy
from unsnag.replay import run_replay
from unsnag.service import ingest
from unsnag.store import open_store

HERE = Path(__file__).resolve().parent
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def slice_of_workload(events: int) -> Path:
    from bench_replay import workload  # type: ignore[import-not-found]

    full = workload(1_000_000, 7)
    path = HERE / "out" / f"workload-first-{events}.jsonl"
    if not path.exists():
        with full.open("rb") as src, path.open("wb") as dst:
            dst.writelines(itertools.islice(src, events))
    return path


def timed_ingest(url: str, path: Path) -> dict[str, float]:
    policy = load_policy()
    with open_store(url) as store:
        started = time.perf_counter()
        report = ingest(store, policy, parse_items(read_items(path)))
        elapsed = time.perf_counter() - started
    total = report.accepted + report.duplicates + report.refused
    return {"events_per_s": round(total / elapsed), "seconds": round(elapsed, 2),
            "cases": report.cases_changed}  # fmt: skip


def postgres(path: Path) -> dict[str, float]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        return timed_ingest(f"{PG_URL}?options=-csearch_path%3D{schema}", path)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    path = slice_of_workload(args.events)
    replay = run_replay(path, load_policy())
    replay_eps = args.events / replay.elapsed_s
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = timed_ingest(f"sqlite:///{tmp}/bench.db", path)
    pg = postgres(path)
    print(json.dumps({
        "events": args.events,
        "replay_in_memory_eps": round(replay_eps),
        "ingest_sqlite": sqlite,
        "ingest_postgresql": pg,
        "sqlite_vs_memory": round(sqlite["events_per_s"] / replay_eps, 3),
        "postgresql_vs_memory": round(pg["events_per_s"] / replay_eps, 3),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
