"""An automated accessibility audit of the dashboard: axe-core (``node_modules/axe-core``,
a devDependency in package.json, installed by ``npm ci`` in scripts/assets) runs in the
Debian Chromium against each page of ``unsnag demo --serve`` with the WCAG 2.0 / 2.1 A and
AA rules. A "serious" or "critical" violation fails the test; "moderate" and "minor" ones
are printed (``pytest -rP`` or ``-s`` shows them). Keyboard use is checked too: the first
Tab on a page reaches the "Skip to content" link, visibly, and it moves focus to the main
content."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from browser_helpers import (
    CHROMIUM,
    ROOT,
    VIEWPORT,
    DemoServer,
    chromium,
    demo_server,
    pick_approval,
    sign_in,
)

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"needs the Debian chromium package at {CHROMIUM} (apt-get install chromium)",
    ),
    pytest.mark.skipif(
        not AXE.exists(),
        reason=f"needs axe-core at {AXE.relative_to(ROOT)} (run `npm ci` or scripts/assets)",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the dev extra)")
expect = sync_api.expect

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = ("critical", "serious")
# Each page is audited at the tests' desktop size and again 320 px wide (WCAG 1.4.10
# Reflow), where wide tables and charts scroll in their own boxes.
NARROW = {"width": 320, "height": 640}

# Stop htmx's polling (the queue's rows every 5 s, the case's timeline every 3 s) so the
# DOM holds still while axe walks it.
HOLD_STILL = """() => document.body.addEventListener(
    "htmx:beforeRequest", (event) => event.preventDefault())"""
RUN_AXE = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
    return result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
        nodes: v.nodes.map((n) => ({target: n.target, summary: n.failureSummary})),
    }));
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    # A small demo whose simulated days go slowly, so the pending approval the case page
    # shows is still pending while the audit runs.
    with demo_server(tmp_path_factory.mktemp("a11y"), days=3, orders_per_day=150, seed=7,
                     day_seconds=600) as running:  # fmt: skip
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def new_context(browser: Any, server: DemoServer) -> Any:
    # The pages' CSP (script-src 'self') refuses axe's injected script; bypass it here only.
    context = browser.new_context(viewport=VIEWPORT, base_url=server.base_url, bypass_csp=True)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture(scope="module")
def signed_in(browser: Any, server: DemoServer) -> Iterator[Any]:
    """A page signed in as the demo's admin, shared by the audits of the signed-in pages."""
    context = new_context(browser, server)
    page = context.new_page()
    sign_in(page, server.key)
    yield page
    context.close()


def audit(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A/AA violations on the page as it is now, at the desktop and
    the narrow size (a violation found at both is reported once, with the nodes of both)."""
    page.evaluate(HOLD_STILL)
    page.add_script_tag(path=str(AXE))
    found: dict[str, dict[str, Any]] = {}
    try:
        for size in (VIEWPORT, NARROW):
            page.set_viewport_size(size)
            width = f"{size['width']} px wide"
            for v in page.evaluate(RUN_AXE, WCAG):
                kept = found.setdefault(v["id"], {**v, "nodes": []})
                kept["nodes"] += [{**n, "width": width} for n in v["nodes"]]
    finally:
        page.set_viewport_size(VIEWPORT)
    return list(found.values())


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            lines.append(f"    {json.dumps(node['target'])} ({node['width']})")
            for why in (node["summary"] or "").splitlines():
                lines.append(f"        {why.strip()}")
    return "\n".join(lines)


def check(page: Any, name: str, record_property: Any) -> None:
    violations = audit(page)
    failing = [v for v in violations if v["impact"] in FAILING]
    noted = [v for v in violations if v["impact"] not in FAILING]
    if noted:
        text = describe(noted)
        print(f"axe on {name} ({page.url}): moderate/minor violations:\n{text}")
        record_property(f"axe-{name}", text)
    elif not failing:
        print(f"axe on {name} ({page.url}): no violations")
    assert not failing, (
        f"axe-core finds serious or critical WCAG 2.x A/AA violations on {name} "
        f"({page.url}):\n{describe(failing)}"
    )


def test_the_login_page(browser: Any, server: DemoServer, record_property: Any) -> None:
    context = new_context(browser, server)
    try:
        page = context.new_page()
        page.goto("/login")
        expect(page.locator("input#key")).to_be_visible()
        check(page, "login", record_property)
    finally:
        context.close()


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("queue", "/queue"),
        ("queue-needs-approval", "/queue?needs=approval"),
        ("overview", "/overview"),
        ("integrations", "/integrations"),
    ],
)
def test_a_signed_in_page(
    signed_in: Any, server: DemoServer, name: str, path: str, record_property: Any
) -> None:
    page = signed_in
    page.goto(path)
    if name.startswith("queue"):
        expect(page.locator("table#queue tbody tr[data-case-id]").first).to_be_visible()
    if name == "overview":  # audit the lazily loaded process map too
        expect(page.locator("#process-map svg")).to_be_visible(timeout=30_000)
    if name == "integrations":  # with a dead letter, so its fix-and-replay form is audited
        expect(page.locator("table#dead-letters")).to_be_visible()
        if page.locator("table#dead-letters tbody tr[data-dead-letter-id]").count() == 0:
            refuse_an_event(server)
            page.reload()
        expect(page.locator("table#dead-letters form.replay textarea").first).to_be_visible()
    check(page, name, record_property)


def refuse_an_event(server: DemoServer) -> None:
    """An event without its ``type``: refused and kept as a dead letter."""
    broken = {"specversion": "1.0", "id": "a11y-no-type", "source": "erp", "data": {}}
    sent = server.send_event(broken)
    assert sent.status_code == 200 and sent.json()["refused"] == 1, sent.text


def test_a_case_with_a_pending_approval(
    signed_in: Any, server: DemoServer, record_property: Any
) -> None:
    pick = pick_approval(server)
    page = signed_in
    page.goto(f"/cases/{pick.case_id}")
    expect(page.locator("ol#timeline > li[data-source][data-type]").first).to_be_visible()
    expect(page.locator("form#approve button#approve-button")).to_be_visible()
    check(page, "case", record_property)


def test_the_first_tab_reaches_the_skip_link_which_moves_focus_to_the_content(
    signed_in: Any,
) -> None:
    page = signed_in
    page.goto("/queue")
    expect(page.locator("table#queue tbody tr[data-case-id]").first).to_be_visible()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")

    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => {
            const el = document.activeElement;
            const box = el.getBoundingClientRect();
            const style = getComputedStyle(el);
            return {
                tag: el.tagName, cls: el.className, text: el.textContent.trim(),
                href: el.getAttribute("href"), matches: el.matches(":focus-visible"),
                outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
                inView: box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0
                    && box.right <= innerWidth && box.bottom <= innerHeight,
            };
        }"""
    )
    assert focused["tag"] == "A" and focused["href"] == "#main", f"first Tab: {focused}"
    assert focused["inView"], f"the focused skip link is off screen: {focused}"
    assert focused["matches"], f"the skip link is not :focus-visible: {focused}"
    assert focused["outline"] != "none" and focused["outlineWidth"] >= 2, (
        f"no visible focus outline on the skip link: {focused}"
    )

    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement && document.activeElement.id")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is inside the main content, not the header
    inside = page.evaluate(
        """() => {
            const el = document.activeElement;
            return {id: el.id, inMain: !!el.closest("main"), visible: el.matches(":focus-visible")};
        }"""
    )
    assert inside["inMain"], f"Tab after the skip link left the main content: {inside}"
    assert inside["visible"], f"no visible focus after the skip link: {inside}"
