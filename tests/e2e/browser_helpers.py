"""The harness of the browser tests: a live ``unsnag demo --serve`` in a subprocess, the
API calls the tests use to choose their cases, and the screenshots for docs/img/."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "img"
VIEWPORT = {"width": 1366, "height": 768}
KEY = re.compile(r"\busk_[A-Za-z0-9_\-]+")

# What each approvable action makes a system (not unsnag) answer with, in the twin; the
# first in this order that has a pending approval in the demo is the one the test approves.
CONFIRMS = {
    "issue_credit_memo": "credit_memo.issued",
    "release_hold": "order.released",
    "reallocate": "allocation.reserved",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unsnag_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "unsnag.cli", *args]


@dataclass
class DemoServer:
    """``unsnag demo --headless --serve`` on a free port over a temporary SQLite file."""

    proc: subprocess.Popen[str]
    base_url: str
    key: str
    db: Path
    output: list[str] = field(default_factory=list)

    def api(self, path: str, key: str | None = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {key or self.key}"}
        got = httpx.get(self.base_url + path, headers=headers, params=params, timeout=30)
        got.raise_for_status()
        return got.json()

    def send_event(self, event: dict[str, Any]) -> httpx.Response:
        """POST one CloudEvent to /v1/events as the demo's admin."""
        return httpx.post(
            self.base_url + "/v1/events",
            content=json.dumps(event),
            headers={
                "Authorization": f"Bearer {self.key}",
                "Content-Type": "application/cloudevents+json",
            },
            timeout=30,
        )

    def create_key(self, role: str, *extra: str) -> str:
        """A new key made with the CLI against the demo's store while it serves."""
        env = {**os.environ, "UNSNAG_DATABASE_URL": f"sqlite:///{self.db}"}
        made = subprocess.run(
            unsnag_command("keys", "create", "--role", role, *extra),
            capture_output=True, text=True, env=env, cwd=self.db.parent, timeout=60,
            check=False,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        found = KEY.search(made.stdout)
        assert found, f"no key in: {made.stdout!r}"
        return found.group(0)

    def log(self) -> str:
        return "".join(self.output[-60:])


def _drain(stream: Any, lines: queue.Queue[str | None], kept: list[str]) -> None:
    for line in stream:
        kept.append(line)
        lines.put(line)
    lines.put(None)


@contextmanager
def demo_server(
    workdir: Path,
    *,
    days: int,
    orders_per_day: int,
    seed: int,
    day_seconds: float,
    startup_s: float = 120.0,
) -> Iterator[DemoServer]:
    """Start the demo, wait for its admin key and ``/readyz``; stop it with Ctrl-C."""
    port = free_port()
    db = workdir / "demo.db"
    args = unsnag_command(
        "demo", "--headless", "--serve", "--port", str(port), "--days", str(days),
        "--orders-per-day", str(orders_per_day), "--seed", str(seed),
        "--serve-day-seconds", str(day_seconds), "--db", str(db),
    )  # fmt: skip
    env = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    env.pop("UNSNAG_DATABASE_URL", None)
    proc = subprocess.Popen(
        args, cwd=workdir, env=env, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    kept: list[str] = []
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_drain, args=(proc.stdout, lines, kept), daemon=True).start()
    try:
        deadline = time.monotonic() + startup_s
        key = None
        while key is None:
            left = deadline - time.monotonic()
            assert left > 0, "no admin key printed in time:\n" + "".join(kept)
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            assert line is not None, "the demo exited before serving:\n" + "".join(kept)
            found = KEY.search(line)
            key = found.group(0) if found else None
        server = DemoServer(proc, f"http://127.0.0.1:{port}", key, db, kept)
        while True:
            assert proc.poll() is None, "the demo exited:\n" + server.log()
            try:
                if httpx.get(server.base_url + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "/readyz never ready:\n" + server.log()
            time.sleep(0.2)
        yield server
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@dataclass(frozen=True)
class Pick:
    case_id: str
    approval_id: str
    action: str
    confirms: str


def pick_approval(server: DemoServer, exclude: set[str] | frozenset[str] = frozenset()) -> Pick:
    """The open case whose pending approval the test approves: an action the twin
    confirms from one of its systems (in the order of CONFIRMS), the highest priority
    first; never one of ``exclude`` (approval ids)."""
    page = server.api("/v1/cases", status="open", limit=500)
    found = [
        (case, case["work"]["pending_approval"])
        for case in page["items"]
        if ((case.get("work") or {}).get("pending_approval") or {}).get("action") in CONFIRMS
        and case["work"]["pending_approval"]["id"] not in exclude
    ]
    assert found, "the demo has no pending approval the twin confirms"
    ranks = list(CONFIRMS)
    found.sort(key=lambda pair: (ranks.index(pair[1]["action"]), -pair[0]["priority"]))
    case, pending = found[0]
    return Pick(case["id"], pending["id"], pending["action"], CONFIRMS[pending["action"]])


def shoot(page: Any, name: str, full_page: bool = True) -> None:
    """docs/img/dashboard-<name>.png, only when UNSNAG_SCREENSHOTS=1 (CI keeps the tree
    clean)."""
    if os.environ.get("UNSNAG_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"), full_page=full_page,
                    animations="disabled")  # fmt: skip


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def sign_in(page: Any, key: str) -> None:
    """Sign in through the form with ``key``; on the queue afterwards."""
    page.goto("/login")
    page.fill("input#key", key)
    page.click("button#sign-in")
    page.wait_for_url("**/queue**")
