"""Load test of ``POST /v1/events`` (issue 8/6): a fixed offered rate for a fixed time,
loopback only, on SQLite, with a no-loss check at the end.

    python bench/bench_api_load.py --rate 1000 --seconds 60 --batch 1
    python bench/bench_api_load.py --rate 1000 --seconds 60 --batch 50
    python bench/bench_api_load.py --profile 3000        # where a single-event POST spends

What it does (without ``--url``): starts ``unsnag serve`` as a subprocess over a fresh
SQLite file in a temp dir (rate limits raised so the limiter never answers 429: the
limiter is not what is measured), waits for ``/readyz``, makes an integrator key with
``unsnag keys create``, then sends events taken from a twin run (``unsnag.twin``, seed 7:
ERP, WMS, TMS, carrier and finance events in the order the systems report them) from this
process, which is not the server's: by default over a minimal keep-alive HTTP/1.1 client
(``--client raw``: httpx costs ~1.7 ms of CPU a request, as much as the server, and the
machine has 2 cores), or ``--client httpx``.

Pacing is open-loop: request *i* is due at ``t0 + i / request_rate`` whatever happened to
the earlier ones, so a slow server shows up as latency (measured from the due time, which
counts any wait for a free connection) rather than as a lower offered rate. ``--batch N``
puts N events in one ``application/cloudevents-batch+json`` request.

At the end it checks that nothing was lost: every sent (source, id) is in the store's
event log exactly once (read from the SQLite file after the server stopped), the verdicts
add up, and the twin's own deliberate duplicates/refusals are the only ones. With
``--url`` (an existing server; ``--key`` needed) the check uses ``/metrics``: the log's
last seq must have moved by the events accepted. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import math
import os
import pstats
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson

BIN = Path(sys.executable).parent
UNSNAG = str(BIN / "unsnag")
HIST = "unsnag_http_request_duration_seconds"


# --- the events -----------------------------------------------------------------------


def twin_lines(count: int, seed: int = 7, orders_per_day: float = 400) -> list[bytes]:
    """The first ``count`` event lines of a twin run, in the order the systems report them."""
    from unsnag.twin import load_config, simulate

    days = max(3, math.ceil(count / 7_000))
    while True:
        lines: list[bytes] = []
        simulate(load_config(None), days, orders_per_day, seed, lines.append)
        if len(lines) >= count:
            return [line.rstrip(b"\n") for line in lines[:count]]
        days *= 2


def bodies_of(lines: list[bytes], batch: int) -> tuple[list[bytes], str]:
    if batch == 1:
        return lines, "application/cloudevents+json"
    return [
        b"[" + b",".join(lines[i : i + batch]) + b"]" for i in range(0, len(lines), batch)
    ], "application/cloudevents-batch+json"


def twin_expectations(lines: list[bytes]) -> tuple[set[tuple[str, str]], int]:
    """The distinct (source, id) pairs sent and how many lines repeat an earlier pair."""
    keys = [(e["source"], e["id"]) for e in map(orjson.loads, lines)]
    distinct = set(keys)
    return distinct, len(keys) - len(distinct)


# --- the server -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        UNSNAG_DATABASE_URL=f"sqlite:///{db}",
        # The limiter is not under test: 1,000 requests/s must not meet a 429.
        UNSNAG_RATE_LIMIT_PER_MINUTE="100000000",
        UNSNAG_RATE_LIMIT_BURST="1000000",
    )
    return env


def make_key(env: dict[str, str], role: str = "integrator") -> str:
    out = subprocess.run(
        [UNSNAG, "keys", "create", "--role", role],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1].strip()


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    proc = subprocess.Popen(
        [UNSNAG, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"unsnag serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("unsnag serve was not ready within 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- /metrics -------------------------------------------------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(client: httpx.Client) -> list[tuple[str, dict[str, str], float]]:
    text = client.get("/metrics").raise_for_status().text
    samples = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and not line.startswith("#"):
            samples.append((match[1], dict(_LABEL.findall(match[2] or "")), float(match[3])))
    return samples


def metric(samples: list[tuple[str, dict[str, str], float]], name: str) -> float | None:
    return next((v for n, _, v in samples if n == name), None)


def server_quantiles(
    before: list[tuple[str, dict[str, str], float]],
    after: list[tuple[str, dict[str, str], float]],
    route: str = "/v1/events",
) -> dict[str, Any]:
    """p50/p90/p99 of the server's own request-duration histogram over the run
    (``histogram_quantile``: linear within a bucket, so only as fine as the buckets)."""

    def buckets(samples: list[tuple[str, dict[str, str], float]]) -> dict[float, float]:
        return {
            float(labels["le"]): value
            for name, labels, value in samples
            if name == HIST + "_bucket" and labels.get("route") == route
            and labels.get("method") == "POST"
        }  # fmt: skip

    b0, b1 = buckets(before), buckets(after)
    cumulative = sorted((le, b1[le] - b0.get(le, 0.0)) for le in b1)
    if not cumulative or cumulative[-1][1] <= 0:
        return {}
    total = cumulative[-1][1]
    out: dict[str, Any] = {"requests": int(total)}
    for q in (0.5, 0.9, 0.99):
        rank, lower, below = q * total, 0.0, 0.0
        for le, count in cumulative:
            if count >= rank:
                if math.isinf(le):
                    out[f"p{round(q * 100)}_ms"] = f">{lower * 1000:g}"
                else:
                    share = (rank - below) / max(count - below, 1e-9)
                    out[f"p{round(q * 100)}_ms"] = round((lower + (le - lower) * share) * 1000, 1)
                break
            lower, below = le, count
    return out


# --- the load -------------------------------------------------------------------------


def pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class RawPool:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams, for the load itself.

    httpx costs about 1.7 ms of CPU per request on this machine, nearly as much as the
    server's own work, so on 2 cores it would measure the client. This one writes the
    request bytes and reads ``Content-Length`` bytes back: ~0.1 ms a request."""

    def __init__(self, host: str, port: int, size: int, head: bytes) -> None:
        self.host, self.port, self.size, self.head = host, port, size, head
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self.all: list[asyncio.StreamWriter] = []

    async def open(self) -> None:
        for _ in range(self.size):
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self.all.append(writer)
            self.free.put_nowait((reader, writer))

    async def post(self, body: bytes) -> tuple[int, bytes, float]:
        """Status, body, and when a connection was free (the request went out)."""
        reader, writer = await self.free.get()
        sent = asyncio.get_running_loop().time()
        try:
            writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
            status = int((await reader.readline()).split(b" ", 2)[1])
            length, close = 0, False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            content = await reader.readexactly(length)
        except BaseException:
            writer.close()
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self.all.append(writer)
            raise
        finally:
            self.free.put_nowait((reader, writer))
        if close:  # pragma: no cover - the server keeps connections alive
            raise ConnectionError("server closed the connection")
        return status, content, sent

    async def close(self) -> None:
        for writer in self.all:
            writer.close()


async def offer(
    url: str,
    key: str,
    bodies: list[bytes],
    content_type: str,
    request_rate: float,
    connections: int,
    drain_s: float,
    client_kind: str,
) -> dict[str, Any]:
    """Send ``bodies`` on an open-loop timetable; latencies, statuses and verdicts."""
    latency: list[float] = [math.nan] * len(bodies)  # from the due time
    service: list[float] = [math.nan] * len(bodies)  # from when a connection was free
    statuses: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    lag: list[float] = []
    loop = asyncio.get_running_loop()
    parsed = httpx.URL(url)
    head = (
        f"POST /v1/events HTTP/1.1\r\nHost: {parsed.host}:{parsed.port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: {content_type}\r\n"
        "Content-Length: "
    ).encode()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    client = httpx.AsyncClient(
        base_url=url,
        limits=limits,
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
        timeout=httpx.Timeout(drain_s),
    )
    pool = RawPool(parsed.host, parsed.port or 80, connections, head)

    async def send(body: bytes) -> tuple[int, bytes, float]:
        if client_kind == "raw":
            return await pool.post(body)
        started = loop.time()  # httpx waits for a pooled connection inside: not seen here
        response = await client.post("/v1/events", content=body)
        return response.status_code, response.content, started

    async def one(i: int, due: float, body: bytes) -> None:
        try:
            status, content, started = await send(body)
        except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            statuses[type(exc).__name__] += 1
            return
        done = loop.time()
        latency[i], service[i] = done - due, done - started
        statuses[str(status)] += 1
        if status == 200:
            answer = orjson.loads(content)
            for verdict in ("accepted", "duplicates", "refused"):
                verdicts[verdict] += answer[verdict]

    if client_kind == "raw":
        await pool.open()
    else:  # warm httpx's pool outside the timetable
        await asyncio.gather(*(client.get("/healthz") for _ in range(min(connections, 16))))
    tasks = []
    t0 = loop.time() + 0.05
    cpu0 = time.process_time()
    for i, body in enumerate(bodies):
        due = t0 + i / request_rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lag.append(loop.time() - due)
        tasks.append(asyncio.create_task(one(i, due, body)))
    sent_by = loop.time()
    _, pending = await asyncio.wait(tasks, timeout=drain_s)
    for task in pending:
        task.cancel()
    if pending:
        statuses["unfinished"] += len(pending)
    finished = loop.time()
    client_cpu = time.process_time() - cpu0
    await client.aclose()
    await pool.close()
    lag.sort()
    return {
        "latency": latency,
        "service": service,
        "statuses": statuses,
        "verdicts": verdicts,
        "send_window_s": sent_by - t0,
        "wall_s": finished - t0,
        "send_lag_ms": {"p50": round(pct(lag, 0.5) * 1000, 2),
                        "p99": round(pct(lag, 0.99) * 1000, 2),
                        "max": round(lag[-1] * 1000, 2) if lag else None},
        "client_cpu_s": round(client_cpu, 1),
    }  # fmt: skip


def summary(values: list[float]) -> dict[str, float]:
    got = sorted(v for v in values if not math.isnan(v))
    if not got:
        return {}
    return {
        "p50": round(pct(got, 0.50) * 1000, 1),
        "p90": round(pct(got, 0.90) * 1000, 1),
        "p99": round(pct(got, 0.99) * 1000, 1),
        "max": round(got[-1] * 1000, 1),
    }


def log_contents(db: Path) -> tuple[int, set[tuple[str, str]], int]:
    """(rows, distinct (source, id) pairs, dead letters) of the SQLite file."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT source, event_id FROM events").fetchall()
        dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
    return len(rows), set(rows), int(dead)


def run(args: argparse.Namespace) -> dict[str, Any]:
    events = args.rate * args.seconds
    began = time.perf_counter()
    lines = twin_lines(events)
    twin_s = time.perf_counter() - began
    distinct, twin_dups = twin_expectations(lines)
    bodies, content_type = bodies_of(lines, args.batch)
    request_rate = len(bodies) / args.seconds
    result: dict[str, Any] = {
        "bench": "api_load",
        "offered_events_per_s": args.rate,
        "seconds": args.seconds,
        "batch": args.batch,
        "requests": len(bodies),
        "events": len(lines),
        "offered_requests_per_s": round(request_rate, 1),
        "connections": args.connections,
        "client": args.client,
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
        "twin_events_generated_in_s": round(twin_s, 1),
    }
    with tempfile.TemporaryDirectory(prefix="unsnag-load-") as tmp:
        db = Path(tmp) / "load.db"
        proc = None
        if args.url:
            url, key = args.url.rstrip("/"), args.key or os.environ.get("UNSNAG_API_KEY", "")
            if not key:
                raise SystemExit("--url needs --key (or UNSNAG_API_KEY)")
        else:
            env = server_env(db)
            key = make_key(env)
            url = f"http://127.0.0.1:{free_port()}"
            proc = start_server(env, int(url.rsplit(":", 1)[1]), Path(tmp) / "serve.log")
        sync = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        before = scrape(sync)
        server_cpu0 = cpu_seconds(proc.pid) if proc else None
        load = asyncio.run(
            offer(
                url,
                key,
                bodies,
                content_type,
                request_rate,
                args.connections,
                args.drain,
                args.client,
            )
        )
        server_cpu = (
            cpu_seconds(proc.pid) - server_cpu0 if proc and server_cpu0 is not None else None
        )
        after = scrape(sync)
        sync.close()
        verdicts = load["verdicts"]
        ok_events = verdicts["accepted"] + verdicts["duplicates"] + verdicts["refused"]
        result.update(
            achieved_events_per_s=round(ok_events / load["wall_s"], 1),
            wall_s=round(load["wall_s"], 2),
            send_window_s=round(load["send_window_s"], 2),
            send_lag_ms=load["send_lag_ms"],
            latency_ms=summary(load["latency"]),
            service_ms=summary(load["service"]),
            statuses=dict(load["statuses"]),
            verdicts=dict(verdicts),
            server_metrics=server_quantiles(before, after),
            client_cpu_s=load["client_cpu_s"],
            server_cpu_s=round(server_cpu, 1) if server_cpu is not None else None,
            loadavg_after=[round(x, 2) for x in os.getloadavg()],
        )
        seq0, seq1 = (
            metric(before, "unsnag_event_log_last_seq"),
            metric(after, "unsnag_event_log_last_seq"),
        )
        check: dict[str, Any] = {
            "twin_duplicates_sent": twin_dups,
            "log_seq_moved": int(seq1 - seq0) if seq0 is not None and seq1 is not None else None,
        }
        if proc is not None:
            check["server_exit"] = stop_server(proc)
            rows, stored, dead = log_contents(db)
            sent_sources = {source for source, _ in distinct}
            own = {pair for pair in stored if pair[0] not in sent_sources}
            stored -= own  # the server's own events (action outcomes, commands)
            check.update(
                events_in_log=rows,
                server_own_events=len(own),
                missing=len(distinct - stored),
                unexpected=len(stored - distinct),
                duplicated_in_log=rows - len(own) - len(stored),
                dead_letters=dead,
            )
            lossless = (
                check["missing"] == 0 and check["duplicated_in_log"] == 0
                and check["unexpected"] == 0 and verdicts["duplicates"] == twin_dups
                and verdicts["refused"] == dead and ok_events == len(lines)
            )  # fmt: skip
        else:
            lossless = (
                ok_events == len(lines) and check["log_seq_moved"] == verdicts["accepted"]
                and verdicts["duplicates"] == twin_dups
            )  # fmt: skip
        check["no_loss"] = lossless
        result["check"] = check
    return result


# --- where the time goes --------------------------------------------------------------


def profile(requests: int, batch: int, top: int) -> None:
    """Where a POST's time goes, in-process (no sockets, no uvicorn), in layers:

    1. ``Runtime.ingest`` called directly, ``batch`` events a call (engine + store);
    2. the same through the ASGI app (FastAPI, auth, the thread pool, metrics) via
       ``httpx.ASGITransport``, on a fresh store;
    3. (2) again under cProfile, in the event-loop thread and, separately, in the worker
       thread that runs ``Runtime.ingest`` (cProfile sees one thread at a time).
    """
    from unsnag.api import create_app
    from unsnag.api.auth import create_key
    from unsnag.policy import load_policy
    from unsnag.runtime import Runtime
    from unsnag.settings import Settings
    from unsnag.store import open_store

    lines = twin_lines(requests * batch)
    bodies, content_type = bodies_of(lines, batch)
    warm = min(200, len(bodies) // 10)
    policy = load_policy()
    figures: dict[str, Any] = {"bench": "api_events_breakdown", "batch": batch,
                               "requests": len(bodies) - warm}  # fmt: skip

    def fresh(tmp: str, name: str) -> tuple[Any, Runtime, Any, str]:
        url = f"sqlite:///{tmp}/{name}.db"
        settings = Settings(
            database_url=url, rate_limit_per_minute=100_000_000, rate_limit_burst=1_000_000
        )
        store = open_store(url)
        _, key = create_key(store, policy, "integrator")
        runtime = Runtime(store, policy)
        return store, runtime, create_app(runtime, settings), key

    async def drive(app: Any, key: str, chunk: list[bytes]) -> float:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": content_type}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            started = time.perf_counter()
            for body in chunk:
                r = await client.post("/v1/events", content=body, headers=headers)
                assert r.status_code == 200, r.text
            return time.perf_counter() - started

    n_events = (len(bodies) - warm) * batch
    with tempfile.TemporaryDirectory(prefix="unsnag-prof-") as tmp:
        # 1. the runtime alone
        store, runtime, _, _ = fresh(tmp, "direct")
        docs = [orjson.loads(line) for line in lines]
        chunks = [
            [("bench", j, lines[i + j], docs[i + j]) for j in range(min(batch, len(lines) - i))]
            for i in range(0, len(lines), batch)
        ]
        for chunk in chunks[:warm]:
            runtime.ingest(chunk)
        started = time.perf_counter()
        for chunk in chunks[warm:]:
            runtime.ingest(chunk)
        figures["runtime_ingest_ms_per_request"] = round(
            (time.perf_counter() - started) / (len(chunks) - warm) * 1000, 3
        )
        runtime.close()
        store.close()
        # 2. through the app
        store, runtime, app, key = fresh(tmp, "asgi")
        asyncio.run(drive(app, key, bodies[:warm]))
        elapsed = asyncio.run(drive(app, key, bodies[warm:]))
        figures["asgi_ms_per_request"] = round(elapsed / (len(bodies) - warm) * 1000, 3)
        figures["asgi_events_per_s"] = round(n_events / elapsed)
        runtime.close()
        store.close()
        # 3. through the app, profiled
        store, runtime, app, key = fresh(tmp, "prof")
        asyncio.run(drive(app, key, bodies[:warm]))
        main_prof, worker_prof = cProfile.Profile(), cProfile.Profile()
        inner = runtime.ingest

        def profiled_ingest(items: Any) -> Any:
            worker_prof.enable()
            try:
                return inner(items)
            finally:
                worker_prof.disable()

        runtime.ingest = profiled_ingest  # type: ignore[method-assign]
        main_prof.enable()
        elapsed = asyncio.run(drive(app, key, bodies[warm:]))
        main_prof.disable()
        figures["profiled_ms_per_request"] = round(elapsed / (len(bodies) - warm) * 1000, 3)
        runtime.ingest = inner  # type: ignore[method-assign]
        runtime.close()
        store.close()
    print(orjson.dumps(figures).decode(), flush=True)
    for title, prof in (("event-loop thread", main_prof), ("worker thread (Runtime.ingest)",
                                                            worker_prof)):  # fmt: skip
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        print(f"===== {title}: by own time =====")
        stats.sort_stats("tottime").print_stats(top)
        if title.startswith("worker"):
            stats.sort_stats("cumulative").print_stats(top)
        else:
            stats.print_callers("_find_spec")
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="offered events per second")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--batch", type=int, default=1, help="events per request")
    parser.add_argument("--connections", type=int, default=64, help="client connection pool")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="seconds to wait for late answers after the last send")  # fmt: skip
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="raw: minimal keep-alive HTTP/1.1 (cheap); httpx")  # fmt: skip
    parser.add_argument("--url", help="an existing server instead of a fresh one")
    parser.add_argument("--key", help="an integrator key for --url")
    parser.add_argument("--profile", type=int, metavar="N",
                        help="instead: N requests in-process, timed and profiled")  # fmt: skip
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args()
    if args.profile:
        profile(args.profile, args.batch, args.top)
        return
    print(orjson.dumps(run(args)).decode(), flush=True)


if __name__ == "__main__":
    main()
