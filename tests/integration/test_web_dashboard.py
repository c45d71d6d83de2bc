"""The dashboard over a real SQLite store filled by the twin: sign-in, the queue, a case,
approvals with CSRF and role checks, bulk assign, dead-letter replay, the reports."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson
import pytest
from fastapi.testclient import TestClient

from unsnag.api import create_app
from unsnag.api.auth import create_key
from unsnag.demo import LiveTwin, run_demo
from unsnag.policy import load_policy
from unsnag.settings import Settings
from unsnag.store import DeadLetter, open_store

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class World:
    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}"
        self.store = open_store(url)
        policy = load_policy()
        self.live = LiveTwin(self.store, policy, days=3, orders_per_day=60, seed=7)
        run_demo(self.store, policy, days=3, orders_per_day=60, seed=7, live=self.live,
                 stop_after=3)  # fmt: skip
        self.runtime = self.live.runtime
        self.app = create_app(self.runtime, Settings(database_url=url, session_secret="t" * 32))
        self.keys = {
            role: create_key(self.store, self.runtime.policy, role)[1]
            for role in ("admin", "viewer", "integrator")
        }

    def pending(self) -> list[str]:
        return sorted(
            case.id
            for case in self.runtime.live_cases()
            if case.work is not None and case.work.pending_approval is not None
        )

    def client(self, role: str | None = None, token: str | None = None) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        if role or token:
            signed = sign_in(client, token or self.keys[role or "admin"])
            assert signed.status_code == 303, signed.text
        return client


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(tmp_path_factory)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, key: str):
    page = client.get("/login")
    return client.post("/login", data={"key": key, "csrf": csrf_of(page.text)})


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-case-id="([^"]+)"', html)


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(world):
    client = world.client()
    answer = client.get("/queue")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")
    page = client.get("/login")
    assert 'id="key"' in page.text and 'id="sign-in"' in page.text
    assert client.get("/static/app.css").status_code == 200


def test_a_bad_key_is_refused_with_a_message_and_no_session(world):
    client = world.client()
    answer = sign_in(client, "usk_knothere_notasecret")
    assert answer.status_code == 401
    assert "not valid" in answer.text
    assert "unsnag_session" not in answer.headers.get("set-cookie", "")


def test_signing_in_sets_a_strict_http_only_session_cookie(world):
    client = world.client()
    answer = sign_in(client, world.keys["admin"])
    assert answer.status_code == 303 and answer.headers["location"] == "/queue"
    cookie = answer.headers["set-cookie"]
    assert "unsnag_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert world.keys["admin"] not in cookie


def test_the_queue_shows_open_cases_highest_priority_first(world):
    page = world.client("admin").get("/queue")
    assert page.status_code == 200
    ids = row_ids(page.text)
    assert ids
    priorities = [world.store.get_case(i)["priority"] for i in ids]
    assert priorities == sorted(priorities, reverse=True)
    assert f'class="case-link" href="/cases/{ids[0]}"' in page.text
    assert 'id="bulk-assign"' in page.text and 'hx-trigger="every 5s"' in page.text


def test_the_queue_filters_by_type_and_by_needing_approval(world):
    client = world.client("admin")
    case_type = world.store.get_case(world.pending()[0])["type"]
    typed = row_ids(client.get("/queue", params={"type": case_type, "team": "all"}).text)
    assert typed and {world.store.get_case(i)["type"] for i in typed} == {case_type}
    needing = row_ids(client.get("/queue", params={"needs": "approval", "team": "all"}).text)
    assert needing and set(needing) <= set(world.pending())
    rows = client.get("/queue/rows", params={"needs": "approval", "team": "all"})
    assert rows.text.lstrip().startswith("<tbody") and set(row_ids(rows.text)) == set(needing)


def test_the_case_page_shows_the_timeline_recommendations_and_audit(world):
    case_id = world.pending()[-1]
    page = world.client("admin").get(f"/cases/{case_id}")
    assert page.status_code == 200
    html = page.text
    assert '<ol id="timeline"' in html and re.search(r'<li data-source="\w+" data-type="', html)
    assert 'id="recommendations"' in html and "Revenue protected" in html
    assert 'id="audit"' in html and 'id="approve"' in html and 'id="approve-button"' in html
    for panel in ("order", "customer", "stock", "shipment", "invoice"):
        assert f'id="panel-{panel}"' in html
    timeline = world.client("admin").get(f"/cases/{case_id}/timeline")
    assert timeline.text.lstrip().startswith('<ol id="timeline"')


def test_approving_needs_the_csrf_token_and_then_goes_through(world):
    case_id = world.pending()[0]
    client = world.client("admin")
    page = client.get(f"/cases/{case_id}")
    refused = client.post(f"/cases/{case_id}/approve", data={"note": "ok"})
    assert refused.status_code == 403
    assert case_id in world.pending()
    done = client.post(f"/cases/{case_id}/approve", data={"csrf": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"] == f"/cases/{case_id}"
    assert case_id not in world.pending()
    after = client.get(f"/cases/{case_id}")
    assert 'id="flash"' in after.text and "Approved" in after.text
    assert "approved" in after.text  # the audit trail


def test_a_viewer_sees_no_approve_button_and_the_server_refuses_anyway(world):
    case_id = world.pending()[1]
    client = world.client("viewer")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert 'id="approve-button"' not in page.text
    answer = client.post(f"/cases/{case_id}/approve", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 303
    assert "Refused" in client.get(f"/cases/{case_id}").text
    assert case_id in world.pending()


def test_bulk_assign_gives_every_ticked_case_to_the_assignee(world):
    client = world.client("admin")
    page = client.get("/queue", params={"team": "all"})
    ids = row_ids(page.text)[-2:]
    answer = client.post("/queue/assign", data={"csrf": csrf_of(page.text), "case_ids": ids,
                                                 "assignee": "dana"})  # fmt: skip
    assert answer.status_code == 303
    for case_id in ids:
        assert world.store.get_case(case_id)["work"]["assignee"] == "dana"


def _dead_letter(world: World) -> tuple[int, dict]:
    _, raw = next(world.store.iter_events())
    event = {**raw, "id": "web-test-dead-letter-1"}
    broken = {k: v for k, v in event.items() if k != "type"}
    world.store.add_dead_letters([DeadLetter(orjson.dumps(broken).decode(), "type: missing",
                                             "type", "test", datetime.now(UTC))])  # fmt: skip
    letter = world.store.list_dead_letters(limit=1000)[-1]
    return letter.id, event


def test_a_dead_letter_can_be_fixed_and_replayed(world):
    letter_id, fixed = _dead_letter(world)
    client = world.client("integrator")
    page = client.get("/integrations")
    assert page.status_code == 200 and 'id="dead-letters"' in page.text
    assert f'id="replay-{letter_id}"' in page.text
    token = csrf_of(page.text)
    again = client.post(f"/integrations/dead-letters/{letter_id}/replay",
                        data={"csrf": token, "raw": ""})  # fmt: skip
    assert "still refused" in client.get("/integrations").text
    assert world.store.get_dead_letter(letter_id).replayed_at is None
    assert again.status_code == 303
    client.post(f"/integrations/dead-letters/{letter_id}/replay",
                data={"csrf": token, "raw": orjson.dumps(fixed).decode()})  # fmt: skip
    assert "replayed" in client.get("/integrations").text
    assert world.store.get_dead_letter(letter_id).replayed_at is not None


def test_the_overview_and_integrations_pages_render_their_charts(world):
    client = world.client("admin")
    overview = client.get("/overview")
    assert overview.status_code == 200
    assert 'data-kpi="exceptions_per_1000_orders"' in overview.text and "<svg" in overview.text
    assert 'id="paretos"' in overview.text and 'id="incidents"' in overview.text
    filtered = client.get("/overview", params={"team": "planning", "from": "2026-01-01"})
    assert filtered.status_code == 200
    process_map = client.get("/overview/process-map", headers={"HX-Request": "true"})
    assert process_map.status_code == 200 and "<svg" in process_map.text
    integrations = client.get("/integrations")
    assert integrations.status_code == 200 and "<svg" in integrations.text


def test_an_unknown_case_is_a_404_page(world):
    answer = world.client("admin").get("/cases/C-nope")
    assert answer.status_code == 404 and "no case" in answer.text.lower()


def test_a_revoked_keys_session_stops_working(world):
    record, token = create_key(world.store, world.runtime.policy, "agent", team="planning")
    client = world.client(token=token)
    assert client.get("/queue").status_code == 200
    world.store.revoke_api_key(record.id, datetime.now(UTC))
    answer = client.get("/queue")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_an_integrator_may_not_read_the_queue(world):
    answer = world.client("integrator").get("/queue")
    assert answer.status_code == 403


# --- the polish: words, order, formats and clocks ------------------------------------------


def test_the_queue_names_states_in_words_and_keeps_the_raw_value(world):
    page = world.client("admin").get("/queue", params={"needs": "approval", "team": "all"})
    assert 'data-state="awaiting_approval"' in page.text
    assert ">awaiting approval</span>" in page.text
    assert ">awaiting_approval<" not in page.text
    live = world.client("admin").get("/queue", params={"status": "live", "team": "all"})
    statuses = {world.store.get_case(i)["status"] for i in row_ids(live.text)}
    assert statuses and statuses <= {"open", "in_progress"}
    assert '<option value="live" selected>' in live.text


def test_the_case_page_shows_news_first_and_what_the_engine_knows_now(world):
    case_id = world.pending()[-1]
    html = world.client("admin").get(f"/cases/{case_id}").text
    times = re.findall(r'<li data-source="\w+" data-type="[^"]+" class="[^"]*">\s*<time '
                       r'datetime="([^"]*)"', html)  # fmt: skip
    moments = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times if t]
    assert len(moments) > 1 and moments == sorted(moments, reverse=True)
    assert 'id="show-master"' in html  # master data collapsed behind a (CSS-only) toggle
    case = world.store.get_case(case_id)
    pending = next(a for a in case["work"]["approvals"] if a["status"] == "pending")
    option = pending["option"]
    act = re.search(r'id="%s".*?</form>' % ("act" if option == 0 else f"act-{option}"), html,
                    re.S)  # fmt: skip
    assert act and "disabled" in act.group(0) and "waits for approval" in act.group(0)
    assert re.search(r"<td>recommended</td><td>unsnag</td><td class=\"detail\"><ol", html)
    assert "Gathered" in html and "when the playbook started" in html
    customer = world.runtime.session.engine.state.customers.get(case.get("customer_id") or "")
    if customer is not None:
        assert 'id="customer-now"' in html and "Credit limit" in html and "Exposure" in html
        if customer.credit_limit:
            assert f"{customer.credit_limit:,.2f}" in html
    assert not re.search(r"\d{5}\.\d\d(?!\d)", re.sub(r"<[^>]+>", " ", html).replace(",", "#"))


def test_stale_nothing_on_file_facts_go_where_the_panel_shows_them(world):
    from unsnag.web.casepage import _fact_panel

    assert _fact_panel("invoice: nothing on file for SO-1") == "invoice"
    assert _fact_panel("carrier_lane: nothing on file for SO-1") == "shipment"


def test_the_overview_measures_now_and_leaves_the_unfinished_day_out(world):
    page = world.client("admin").get("/overview")
    assert page.status_code == 200
    now = world.runtime.clock()
    assert f"{now:%Y-%m-%d %H:%M} UTC (now)" in page.text
    days = re.findall(r'<tr><td class="nowrap">(\d{4}-\d\d-\d\d)</td>', page.text)
    assert days and all(day < now.date().isoformat() for day in days)
    sizes = {int(px) for px in re.findall(r"font-size:(\d+)px", page.text)}
    assert sizes and min(sizes) >= 12


def test_integrations_count_events_by_their_own_time_before_the_runtimes_clock(world):
    page = world.client("admin").get("/integrations").text
    assert 'id="events-clock"' in page and "By event time" in page
    now = world.runtime.clock()
    assert f"the 24 h before {now:%Y-%m-%d %H:%M} UTC" in page
    assert page.count("<rect x=") > 20  # the simulated day's hours, not one bar


def test_a_dead_letter_reason_names_its_field_once(world):
    world.store.add_dead_letters([DeadLetter('{"id": "x"}', "type: Field required", "type",
                                             "test", datetime.now(UTC))])  # fmt: skip
    page = world.client("admin").get("/integrations", params={"replayed": "all"}).text
    assert "type: Field required<" in page and "type: Field required (field" not in page


def test_the_footer_mentions_live_refresh_only_where_something_refreshes(world):
    assert "live refresh" not in world.client().get("/login").text
    client = world.client("admin")
    assert "live refresh" in client.get("/queue").text
    assert "live refresh" not in client.get("/integrations").text


def test_a_browser_gets_an_html_page_for_a_missing_page_and_clients_a_problem(world):
    client = world.client()
    page = client.get("/nosuch", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "/nosuch" in page.text and "<html" in page.text.lower()
    api = client.get("/v1/nosuch", headers={"Accept": "text/html"})
    assert api.headers["content-type"] == "application/problem+json"
    plain = client.get("/nosuch")
    assert plain.status_code == 404
    assert plain.headers["content-type"] == "application/problem+json"
