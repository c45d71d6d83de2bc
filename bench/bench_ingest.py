"""How fast the event log takes events: ``Store.append_events`` on SQLite and PostgreSQL.

Generates N valid events in memory (order.created with 1-8 lines, and
inventory.snapshot), then appends them in fixed-size batches into a fresh SQLite file
and a fresh PostgreSQL schema (dropped afterwards). Only appending is timed; parsing is
not. Prints one JSON object with events/s per backend.

    .venv/bin/python bench/bench_ingest.py [--events 200000] [--batch 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from unsnag.events import Event, parse_event
from unsnag.store import open_store

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 5, 4, tzinfo=UTC)


def order(n: int, rng: random.Random) -> dict[str, Any]:
    lines = [
        {"line_id": str(i), "sku": f"SKU-{rng.randrange(500)}", "qty": rng.randint(1, 40),
         "unit_price": round(rng.uniform(1, 200), 2)}
        for i in range(1, rng.randint(1, 8) + 1)
    ]  # fmt: skip
    return {"order_id": f"SO-{n}", "customer_id": f"C{rng.randrange(300)}", "lines": lines}


def snapshot(rng: random.Random) -> dict[str, Any]:
    node, sku = f"dc-{rng.randrange(4)}", f"SKU-{rng.randrange(500)}"
    return {"node_id": node, "sku": sku, "on_hand": rng.randint(0, 900)}


def workload(count: int, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    events = []
    for n in range(count):
        is_order = rng.random() < 0.6
        data = order(n, rng) if is_order else snapshot(rng)
        when = T0 + timedelta(seconds=n)
        events.append(
            parse_event(
                {
                    "specversion": "1.0",
                    "id": f"ev-{n}",
                    "source": "erp" if is_order else "wms/dc-east",
                    "type": "order.created" if is_order else "inventory.snapshot",
                    "time": when.isoformat().replace("+00:00", "Z"),
                    "subject": data.get("order_id"),
                    "data": data,
                }
            )
        )
    return events


def measure(url: str, events: list[Event], batch: int) -> dict[str, Any]:
    with open_store(url) as store:
        started = time.perf_counter()
        stored = 0
        for start in range(0, len(events), batch):
            stored += sum(store.append_events(events[start : start + batch]))
        elapsed = time.perf_counter() - started
        assert stored == store.event_count() == len(events), "every event stored once"
    rate = round(stored / elapsed)
    return {"events": len(events), "seconds": round(elapsed, 2), "events_per_s": rate}


@contextmanager
def pg_schema(url: str) -> Iterator[str]:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--pg-url", default=PG_URL, help="empty string to skip PostgreSQL")
    args = parser.parse_args()
    events = workload(args.events)
    results: dict[str, Any] = {"events": args.events, "batch": args.batch}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = measure(f"sqlite:///{Path(tmp) / 'bench.db'}", events, args.batch)
    if args.pg_url:
        with pg_schema(args.pg_url) as url:
            results["postgresql"] = measure(url, events, args.batch)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
