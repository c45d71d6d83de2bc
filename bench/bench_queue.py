"""Server time of the case list and the dashboard's queue over 10,000 open cases (issue
8/6: "the queue of 10,000 open cases renders in under 300 ms server time").

    python bench/bench_queue.py --open 10000 --reps 200

Builds a fresh SQLite store: ingests a short twin run (``unsnag.twin``, seed 7) so the
cases are real ones the engine opened, then clones them (new ids, priorities, teams,
statuses open/in_progress, opened and due times around now, some overdue) until exactly
``--open`` cases are open; the twin's resolved cases stay too. Makes an admin key and a
team agent key.

Server time is the time spent inside the ASGI app, from the call to the last byte of the
response, measured by a wrapper around ``create_app(..., web=True)`` driven in-process by
``httpx.ASGITransport`` (no sockets; the client's own cost is outside the figure).
Each measurement repeats ``--reps`` times after a warm-up; prints one JSON line per
measurement with p50/p90/max ms against the 300 ms goal. ``--what-if-index`` adds an
index on ``cases (priority, id)`` (and ANALYZE) to the bench store, to show what it
would change.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

GOAL_MS = 300.0


def build_store(
    url: str, tmp: Path, open_target: int, seed: int, what_if_index: bool = False
) -> dict[str, Any]:
    """Ingest a short twin run, then clone its cases up to ``open_target`` open ones."""
    from unsnag.inputs import parse_items, read_items
    from unsnag.policy import load_policy
    from unsnag.service import ingest
    from unsnag.store import open_store
    from unsnag.twin import load_config, run_twin

    policy = load_policy()
    began = time.perf_counter()
    meta = run_twin(load_config(None), 3, 300, seed, tmp / "twin")
    with open_store(url) as store:
        report = ingest(store, policy, parse_items(read_items(tmp / "twin" / "events.jsonl")))
        real = store.list_cases()
        live = [c for c in real if c["status"] in ("open", "in_progress")]
        teams = sorted({c["owner_team"] for c in real})
        rng = random.Random(seed)
        now = datetime.now(UTC).replace(microsecond=0)
        clones = []
        for n in range(max(0, open_target - len(live))):
            case = orjson.loads(orjson.dumps(rng.choice(real)))
            opened = now - timedelta(minutes=rng.randint(5, 5 * 24 * 60))
            due = opened + timedelta(minutes=rng.randint(60, 3 * 24 * 60))
            case.update(
                id=f"{case['id']}-b{n:05d}",
                status="in_progress" if rng.random() < 0.25 else "open",
                priority=round(rng.uniform(1, 100), 1),
                owner_team=rng.choice(teams),
                opened_at=opened.isoformat().replace("+00:00", "Z"),
                due_at=due.isoformat().replace("+00:00", "Z"),
                updated_at=opened.isoformat().replace("+00:00", "Z"),
                closed_at=None,
                resolution=None,
                open_reasons=case.get("open_reasons") or [case["type"]],
            )
            if isinstance(case.get("work"), dict):
                work = case["work"]
                work["state"] = case["status"]
                work["assignee"] = f"agent-{rng.randint(1, 40)}" if rng.random() < 0.5 else None
            clones.append(case)
        for i in range(0, len(clones), 2000):
            store.upsert_cases(clones[i : i + 2000])
        if what_if_index:  # not in the schema: measures what such an index would give
            import sqlite3

            with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
                conn.execute("CREATE INDEX ix_bench_cases_priority_id ON cases (priority, id)")
                conn.execute("ANALYZE")  # without statistics SQLite keeps the status index
        live_now = store.case_counts("status", ("open", "in_progress"))
        by_team = store.case_counts("owner_team", ("open", "in_progress"))
    return {
        "twin_events": meta["events"],
        "engine_cases": report.cases_changed,
        "real_cases": len(real),
        "real_open": len(live),
        "cloned": len(clones),
        "open_cases": sum(live_now.values()),
        "open_by_team": by_team,
        "build_s": round(time.perf_counter() - began, 1),
    }


class Timed:
    """An ASGI wrapper that records the app's own time per request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.times.append(time.perf_counter() - started)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    client: httpx.AsyncClient,
    timed: Timed,
    what: str,
    path: str,
    reps: int,
    warm: int,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    for _ in range(warm):
        (await client.get(path, headers=headers)).raise_for_status()
    timed.times.clear()
    size, statuses = 0, Counter[str]()
    for _ in range(reps):
        response = await client.get(path, headers=headers)
        statuses[str(response.status_code)] += 1
        size = len(response.content)
    times = [t * 1000 for t in timed.times]
    out = {
        "bench": "queue",
        "what": what,
        "path": path if len(path) < 120 else path[:117] + "...",
        "reps": reps,
        "p50_ms": round(pct(times, 0.5), 1),
        "p90_ms": round(pct(times, 0.9), 1),
        "max_ms": round(max(times), 1),
        "goal_ms": GOAL_MS,
        "under_goal": pct(times, 0.9) < GOAL_MS,
        "bytes": size,
        "statuses": dict(statuses),
    }
    if "json" in response.headers.get("content-type", ""):
        body = response.json()
        out["items"], out["total"] = len(body.get("items", [])), body.get("total")
    else:
        out["rows"] = response.text.count("<tr") - response.text.count("<thead")
    print(orjson.dumps(out).decode(), flush=True)
    return out


async def deep_cursor(
    client: httpx.AsyncClient, path: str, pages: int, auth: dict[str, str]
) -> str:
    cursor = None
    for _ in range(pages):
        url = path + (f"&cursor={cursor}" if cursor else "")
        body = (await client.get(url, headers=auth)).raise_for_status().json()
        cursor = body["next_cursor"]
        if cursor is None:
            break
    return str(cursor)


async def sign_in(client: httpx.AsyncClient, key: str) -> str:
    """Sign in to the dashboard with a key (the login form and its CSRF token)."""
    form = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError(f"no CSRF token on /login ({form.status_code})")
    answer = await client.post(
        "/login", data={"csrf": token[1], "key": key, "next": "/queue"}, follow_redirects=False
    )
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in answered {answer.status_code}: {answer.text[:200]}")
    return str(answer.headers.get("location"))


async def run(args: argparse.Namespace) -> None:
    from unsnag.api import create_app
    from unsnag.api.auth import create_key
    from unsnag.policy import load_policy
    from unsnag.runtime import Runtime
    from unsnag.settings import Settings
    from unsnag.store import open_store

    with tempfile.TemporaryDirectory(prefix="unsnag-queue-") as tmp:
        url = f"sqlite:///{tmp}/queue.db"
        built = build_store(url, Path(tmp), args.open, args.seed, args.what_if_index)
        print(orjson.dumps({"bench": "queue_store", **built,
                            "what_if_index": args.what_if_index,
                            "loadavg": [round(x, 2) for x in os.getloadavg()]}).decode(),
              flush=True)  # fmt: skip
        settings = Settings(
            database_url=url, rate_limit_per_minute=100_000_000, rate_limit_burst=1_000_000
        )
        policy = load_policy()
        store = open_store(url)
        _, admin = create_key(store, policy, "admin", name="bench-admin")
        team = max(built["open_by_team"], key=built["open_by_team"].get)
        _, agent = create_key(store, policy, "agent", team=team, name="bench-agent")
        runtime = Runtime(store, policy)
        app = create_app(runtime, settings, web=True)
        timed = Timed(app)
        auth = {"Authorization": f"Bearer {admin}"}
        transport = httpx.ASGITransport(app=timed)
        reps, warm = args.reps, args.warm
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await measure(
                client,
                timed,
                "api: first page, default sort (-priority), 50",
                "/v1/cases?status=open&status=in_progress",
                reps,
                warm,
                auth,
            )
            await measure(
                client,
                timed,
                "api: first page, no filter, 500",
                "/v1/cases?limit=500",
                reps,
                warm,
                auth,
            )
            filtered = f"/v1/cases?status=open&team={team}&priority_min=50&sort=due_at"
            await measure(
                client,
                timed,
                "api: filtered (open, team, priority>=50, by due)",
                filtered,
                reps,
                warm,
                auth,
            )
            base = "/v1/cases?status=open&status=in_progress&limit=50"
            cursor = await deep_cursor(client, base, 150, auth)
            await measure(
                client,
                timed,
                "api: deep cursor page (rows 7,501-7,550)",
                f"{base}&cursor={cursor}",
                reps,
                warm,
                auth,
            )
            has_queue = (await client.get("/queue")).status_code != 404
            if not has_queue:
                print(
                    orjson.dumps(
                        {
                            "bench": "queue",
                            "what": "dashboard /queue",
                            "skipped": "GET /queue is not served yet",
                        }
                    ).decode()
                )
                return
            try:
                landed = await sign_in(client, admin)
            except RuntimeError as exc:
                print(
                    orjson.dumps(
                        {
                            "bench": "queue",
                            "what": "dashboard /queue",
                            "skipped": f"could not sign in: {exc}",
                        }
                    ).decode()
                )
                return
            await measure(
                client,
                timed,
                "dashboard: /queue, admin (all teams), first page",
                landed if landed.startswith("/queue") else "/queue",
                reps,
                warm,
            )
            await measure(
                client, timed, "dashboard: /queue/rows (the live poll)", "/queue/rows", reps, warm
            )
            await measure(
                client,
                timed,
                f"dashboard: /queue?team={team}&priority_min=50",
                f"/queue?team={team}&priority_min=50",
                reps,
                warm,
            )
            page = await client.get("/queue")
            nxt = re.search(r'href="(/queue\?[^"]*cursor=[^"]+)"', page.text)
            if nxt:
                path = nxt[1].replace("&amp;", "&")
                await measure(
                    client, timed, "dashboard: /queue second page (cursor)", path, reps, warm
                )
            client.cookies.clear()
            await sign_in(client, agent)
            await measure(
                client, timed, f"dashboard: /queue as an agent of team {team}", "/queue", reps, warm
            )
        runtime.close()
        store.close()  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000, help="open cases in the store")
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--warm", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--what-if-index", action="store_true",
                        help="add an index on cases (priority, id) to the bench store "
                        "(not in the schema): what it would change")  # fmt: skip
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
