"""The dashboard in a real headless Chromium (the Debian package, driven by Playwright):
sign in with a key, work the queue, approve a recommendation and watch the systems answer
on the case's timeline — against ``unsnag demo --serve``, the twin going on live.

Screenshots of each page go to docs/img/dashboard-*.png when UNSNAG_SCREENSHOTS=1."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser_helpers import (
    CHROMIUM,
    VIEWPORT,
    DemoServer,
    Pick,
    chromium,
    demo_server,
    pick_approval,
    shoot,
    sign_in,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"needs the Debian chromium package at {CHROMIUM} (apt-get install chromium)",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the dev extra)")
expect = sync_api.expect

# A simulated day every DAY_S seconds while serving: long enough that the pending approval
# the first test picks is still pending when it clicks, short enough that the twin's
# confirming event (sent on its next simulated day) arrives well inside CONFIRM_MS.
DAY_S = 20
CONFIRM_MS = 60_000
LOOPBACK = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with demo_server(tmp_path_factory.mktemp("browser"), days=4, orders_per_day=300, seed=7,
                     day_seconds=DAY_S) as running:  # fmt: skip
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


class Watched:
    """What a page did that it should not: uncaught script errors, requests off the box
    (every asset is vendored; nothing comes from a CDN)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.remote: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("request", self._request)

    def _request(self, request: Any) -> None:
        host = urlsplit(request.url).hostname
        if request.url.startswith(("http:", "https:")) and host not in LOOPBACK:
            self.remote.append(request.url)


@pytest.fixture
def page(browser: Any, server: DemoServer) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, base_url=server.base_url)
    context.set_default_timeout(15_000)
    opened = context.new_page()
    watched = Watched(opened)
    yield opened
    context.close()
    assert watched.errors == [], f"script errors on the page: {watched.errors}"
    assert watched.remote == [], f"requests off the box: {watched.remote}"


SENT = 'ol#timeline > li[data-type="action.delivered"][data-source="unsnag"]'


def answers(page: Any, event_type: str) -> Any:
    """The timeline's events of ``event_type`` from a system other than unsnag."""
    return page.locator(f'ol#timeline > li[data-type="{event_type}"]:not([data-source="unsnag"])')


def approve_from_the_queue(
    page: Any, server: DemoServer, tried: set[str]
) -> tuple[Pick, int, int] | None:
    """Open the queue of cases needing approval, open the chosen case and approve its
    pending recommendation: the pick and how many actions sent and answers the timeline
    showed before, or None when unsnag refused (the approval expired as the simulated day
    turned between choosing it and clicking)."""
    pick = pick_approval(server, exclude=tried)
    tried.add(pick.approval_id)
    page.goto("/queue?needs=approval")
    expect(page.locator("table#queue tbody tr").first).to_be_visible()
    row = page.locator(f'table#queue tbody tr[data-case-id="{pick.case_id}"]')
    if row.count() == 0:  # decided or expired since the API listed it
        return None
    row.locator("a.case-link").click()
    page.wait_for_url(f"**/cases/{pick.case_id}")

    expect(page.locator("ol#timeline > li[data-source][data-type]").first).to_be_visible()
    approve = page.locator("form#approve button#approve-button")
    if approve.count() == 0:  # decided or expired since the API listed it
        return None
    expect(approve).to_be_enabled()
    expect(page.locator("form#reject")).to_be_visible()
    expect(page.locator("form#comment")).to_be_visible()
    if len(tried) == 1:
        shoot(page, "case")
    sent_before = page.locator(SENT).count()
    answers_before = answers(page, pick.confirms).count()

    approve.click()
    page.wait_for_url(f"**/cases/{pick.case_id}**")
    flash = page.locator("#flash")
    expect(flash).to_be_visible()
    if "flash-error" in (flash.get_attribute("class") or ""):
        assert "expired" in flash.inner_text(), flash.inner_text()
        return None
    return pick, sent_before, answers_before


def test_an_approval_goes_out_to_the_systems_and_their_answer_lands_on_the_timeline(
    page: Any, server: DemoServer
) -> None:
    page.goto("/login")
    expect(page.locator("input#key")).to_be_visible()
    shoot(page, "login")
    sign_in(page, server.key)
    expect(page.locator("table#queue tbody tr[data-case-id]").first).to_be_visible()
    shoot(page, "queue", full_page=False)

    tried: set[str] = set()
    approved = None
    while approved is None and len(tried) < 3:
        approved = approve_from_the_queue(page, server, tried)
    assert approved is not None, f"every approval tried expired first: {sorted(tried)}"
    pick, sent_before, answers_before = approved

    expect(page.locator("form#approve")).to_have_count(0)
    approved_row = page.locator("#audit tbody tr").filter(
        has=page.locator("td", has_text=re.compile(r"^\s*approved\s*$"))
    )
    expect(approved_row).to_have_count(1)
    expect(approved_row).to_contain_text(pick.approval_id)

    # unsnag sends the action within a second or two; the twin answers from one of its
    # systems on its next simulated day, and the live timeline shows both without a reload.
    expect(page.locator(SENT).nth(sent_before)).to_be_attached(timeout=CONFIRM_MS)
    expect(answers(page, pick.confirms).nth(answers_before)).to_be_attached(timeout=CONFIRM_MS)

    detail = server.api(f"/v1/cases/{pick.case_id}")
    audited = [a for a in detail["audit"] if a["kind"] == "approved"]
    assert [a["detail"]["approval"] for a in audited] == [pick.approval_id]
    me = server.api("/v1/me")
    assert audited[0]["actor"] == (me["name"] or me["id"])
    came_back = [
        e
        for e in detail["timeline"]
        if e["type"] == pick.confirms and parse_time(e["time"]) >= parse_time(audited[0]["at"])
    ]
    assert came_back and all(e["source"] != "unsnag" for e in came_back), came_back


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_keyboard_only_sign_in(page: Any, server: DemoServer) -> None:
    page.goto("/login")
    for _ in range(30):  # Tab (if need be) from the top of the page to the key field
        if page.evaluate("document.activeElement && document.activeElement.id") == "key":
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("Tab never reaches the key field")
    page.keyboard.type(server.key)
    page.keyboard.press("Enter")
    page.wait_for_url("**/queue**")
    expect(page.locator("table#queue")).to_be_visible()


def test_a_bad_key_is_refused_with_an_error(page: Any) -> None:
    page.goto("/login")
    page.fill("input#key", "usk_nosuchkey_notasecret")
    page.click("button#sign-in")
    expect(page.locator("input#key")).to_be_visible()
    assert "/queue" not in page.url
    expect(page.get_by_role("alert")).to_be_visible()
    page.goto("/queue")
    expect(page.locator("table#queue")).to_have_count(0)


def test_a_viewer_reads_cases_but_cannot_approve(page: Any, server: DemoServer) -> None:
    viewer = server.create_key("viewer", "--name", "e2e viewer")
    sign_in(page, viewer)
    for _ in range(3):  # a pending approval may expire as the simulated day turns
        page.goto("/queue?needs=approval")
        link = page.locator("table#queue tbody tr[data-case-id] a.case-link").first
        expect(link).to_be_visible()
        link.click()
        page.wait_for_url("**/cases/*")
        expect(page.locator("ol#timeline > li").first).to_be_visible()
        if page.locator("#pending-approval").count():
            break
    else:
        pytest.fail("no case with a pending approval to look at")
    expect(page.locator("#pending-approval")).to_contain_text("Waiting for approval")
    expect(page.locator("#approve-button")).to_have_count(0)
    expect(page.locator("form#approve")).to_have_count(0)
    expect(page.locator("form#reject")).to_have_count(0)


def test_the_queue_refreshes_itself_without_a_reload(page: Any, server: DemoServer) -> None:
    sign_in(page, server.key)
    rows = page.locator("table#queue tbody")
    expect(rows.locator("tr[data-case-id]").first).to_be_visible()
    before = rows.element_handle()
    with page.expect_response(lambda r: "/queue/rows" in r.url and r.ok, timeout=15_000):
        pass
    # htmx swaps the fresh rows in for the old ones (asynchronously, after the response)
    page.wait_for_function("tbody => !tbody.isConnected", arg=before, timeout=10_000)
    expect(rows.locator("tr[data-case-id]").first).to_be_visible()
    assert page.url.endswith("/queue")


def test_the_overview_draws_its_charts_and_process_map(page: Any, server: DemoServer) -> None:
    sign_in(page, server.key)
    page.goto("/overview")
    expect(page.locator('[data-kpi="exceptions_per_1000_orders"]')).to_be_visible()
    expect(page.locator("#paretos svg").first).to_be_visible()
    expect(page.locator("#incidents")).to_be_visible()
    expect(page.locator("#process-map svg")).to_be_visible(timeout=30_000)
    shoot(page, "overview")


def test_a_dead_letter_is_shown_with_its_reason_then_fixed_and_replayed(
    page: Any, server: DemoServer
) -> None:
    fixed = refused_then_fixed(server)
    letters = server.api("/v1/dead-letters", limit=500)["items"]
    letter = next(d for d in letters if fixed["id"] in d["raw"])

    sign_in(page, server.key)
    page.goto("/integrations")
    row = page.locator(f'table#dead-letters tbody tr[data-dead-letter-id="{letter["id"]}"]')
    expect(row).to_contain_text("type")
    expect(row.locator("td.reason")).to_contain_text(letter["reason"])
    shoot(page, "integrations")

    row.locator("textarea").fill(json.dumps(fixed, indent=2))
    row.get_by_role("button", name="Replay").click()
    page.wait_for_url("**/integrations**")
    expect(page.locator("#flash")).to_be_visible()
    expect(page.locator("#flash")).not_to_have_class(re.compile(r"flash-error"))
    replayed = server.api(f"/v1/dead-letters/{letter['id']}")
    assert replayed["replayed_at"] is not None


def refused_then_fixed(server: DemoServer) -> dict[str, Any]:
    """Send the API a copy of a master-data event without its ``type`` (refused, kept as
    a dead letter); return the copy with its type, which the engine takes."""
    case = server.api("/v1/cases", status="open", limit=1)["items"][0]
    timeline = server.api(f"/v1/cases/{case['id']}")["timeline"]
    original = next(e for e in timeline if e["type"].endswith(".upserted"))
    fixed = {**original, "specversion": "1.0", "id": f"e2e-{time.time_ns()}"}
    broken = {k: v for k, v in fixed.items() if k != "type"}
    sent = server.send_event(broken)
    assert sent.status_code == 200, sent.text
    assert sent.json()["refused"] == 1, sent.text
    return fixed
