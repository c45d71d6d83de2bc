"""Health, readiness, metrics, security headers, the OpenAPI document, and the read-only
report routes (KPIs, aggregates, incidents, overview, integrations). Real SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_fixtures import PROBLEM, Api, api_over, credit_scenario
from test_api_auth import assert_problem


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[Api]:
    path = tmp_path_factory.mktemp("ops") / "ops.db"
    for app in api_over(f"sqlite:///{path}"):
        app.send(credit_scenario())
        yield app


def test_healthz_and_readyz(api: Api):
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["last_seq"] >= len(credit_scenario())


def test_readyz_is_503_problem_when_the_store_does_not_answer(tmp_path):
    for app in api_over(f"sqlite:///{tmp_path / 'r.db'}"):
        real = app.store.last_seq

        def broken() -> int:
            raise RuntimeError("database is locked")

        app.runtime.store.last_seq = broken  # type: ignore[method-assign]
        try:
            response = app.client.get("/readyz")
        finally:
            app.runtime.store.last_seq = real  # type: ignore[method-assign]
        assert_problem(response, 503)


def test_security_headers_on_every_response(api: Api):
    for response in (
        api.client.get("/v1/cases", headers=api.key("viewer")),
        api.client.get("/v1/cases"),  # a 401
        api.client.get("/healthz"),
        api.client.get("/v1/openapi.json"),
        api.client.get("/no/such/route"),
    ):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"


def test_unknown_routes_and_methods_are_problems(api: Api):
    assert_problem(api.client.get("/v1/nothing", headers=api.key("admin")), 404)
    assert_problem(api.client.delete("/v1/cases", headers=api.key("admin")), 405)


def test_metrics_in_prometheus_text_format(api: Api):
    api.client.get("/v1/cases", headers=api.key("viewer"))
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'unsnag_events_received_total{status="accepted"}' in text
    assert 'unsnag_cases_open{type="credit.hold"} 1.0' in text
    assert "unsnag_http_request_duration_seconds_bucket{" in text
    assert 'route="/v1/cases"' in text
    assert "unsnag_dead_letters" in text and "unsnag_action_outcomes" in text


def test_metrics_can_require_a_key(tmp_path):
    for app in api_over(f"sqlite:///{tmp_path / 'm.db'}", metrics_public=False):
        assert_problem(app.client.get("/metrics"), 401)
        assert app.client.get("/metrics", headers=app.key("viewer")).status_code == 200


def test_the_openapi_document_is_3_1_and_errors_are_problems(api: Api):
    response = api.client.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1.")
    paths = document["paths"]
    expected = {
        "/v1/events",
        "/v1/cases",
        "/v1/cases/{case_id}",
        *(
            f"/v1/cases/{{case_id}}/{a}"
            for a in ("assign", "comment", "approve", "reject", "act", "resolve")
        ),
        "/v1/kpis",
        "/v1/aggregates/pareto",
        "/v1/aggregates/trend",
        "/v1/aggregates/open",
        "/v1/incidents",
        "/v1/overview",
        "/v1/dead-letters",
        "/v1/dead-letters/{dead_letter_id}",
        "/v1/dead-letters/{dead_letter_id}/replay",
        "/v1/integrations",
        "/v1/me",
    }
    assert expected <= set(paths)
    for path, operations in paths.items():
        for method, operation in operations.items():
            errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
            if path.startswith("/v1/"):
                assert {"401", "403", "404", "422", "429"} <= set(errors), (method, path)
            for code, answer in errors.items():
                assert list(answer.get("content", {})) == [PROBLEM], (method, path, code)
    events = paths["/v1/events"]["post"]
    assert set(events["requestBody"]["content"]) == {
        "application/json",
        "application/cloudevents+json",
        "application/cloudevents-batch+json",
    }
    assert "415" in events["responses"]


# --- reports ------------------------------------------------------------------------------

REPORTS = [
    ("/v1/kpis", {}),
    ("/v1/kpis", {"by": "type"}),
    ("/v1/kpis", {"type": "credit.hold", "team": "finance"}),
    ("/v1/aggregates/pareto", {"by": "customer"}),
    ("/v1/aggregates/pareto", {"by": "sku", "top": 3}),
    ("/v1/aggregates/trend", {"from": "2026-05-01T00:00:00Z", "to": "2026-05-08T00:00:00Z"}),
    ("/v1/aggregates/open", {}),
    ("/v1/incidents", {}),
    ("/v1/overview", {}),
    ("/v1/overview", {"team": "finance"}),
    ("/v1/integrations", {"hours": 48}),
]


@pytest.mark.parametrize(("path", "params"), REPORTS)
def test_reports_answer_a_viewer(api: Api, path: str, params: dict[str, str]):
    response = api.client.get(path, params=params, headers=api.key("viewer"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()


def test_report_contents(api: Api):
    viewer = api.key("viewer")
    kpis = api.client.get("/v1/kpis", headers=viewer).json()
    names = {k["name"]: k["value"] for k in kpis["kpis"]}
    assert names["cases_opened"] == 3
    opened = api.client.get("/v1/aggregates/open", headers=viewer).json()
    assert opened["by_type"] == {"credit.hold": 1, "master_data.invalid": 2}
    assert opened["by_team"] == {"customer_service": 2, "finance": 1}
    trend = api.client.get(
        "/v1/aggregates/trend",
        params={"from": "2026-05-03T00:00:00Z", "to": "2026-05-06T00:00:00Z"},
        headers=viewer,
    ).json()
    assert [d["day"] for d in trend["days"]] == ["2026-05-03", "2026-05-04", "2026-05-05"]
    assert sum(d["cases_opened"] for d in trend["days"]) == 3
    overview = api.client.get("/v1/overview", headers=viewer).json()
    assert {"kpis", "paretos", "incidents", "trend", "by_type", "backlog_by_age"} <= set(overview)
    integrations = api.client.get("/v1/integrations", headers=api.key("integrator")).json()
    assert {e["source"] for e in integrations["events"]} >= {"erp", "crm"}
    assert integrations["dead_letters"] == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/aggregates/pareto", {}),
        ("/v1/aggregates/pareto", {"by": "horoscope"}),
        ("/v1/aggregates/pareto", {"by": "sku", "top": 0}),
        ("/v1/kpis", {"by": "horoscope"}),
        ("/v1/kpis", {"from": "2026-05-05T00:00:00Z", "to": "2026-05-01T00:00:00Z"}),
        ("/v1/overview", {"from": "0001-01-01T00:00:00Z"}),
        ("/v1/aggregates/trend", {"from": "1990-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
        ("/v1/incidents", {"to": "9999-12-31T23:59:59-05:00"}),
        ("/v1/integrations", {"hours": 0}),
    ],
)
def test_bad_report_parameters_are_422(api: Api, path: str, params: dict[str, str]):
    response = api.client.get(path, params=params, headers=api.key("viewer"))
    assert_problem(response, 422)


def test_reports_are_not_for_integrators_or_strangers(api: Api):
    for path, params in REPORTS:
        if path == "/v1/integrations":
            continue
        assert_problem(api.client.get(path, params=params, headers=api.key("integrator")), 403)
        assert_problem(api.client.get(path, params=params), 401)
