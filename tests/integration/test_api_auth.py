"""Who may call the API: keys, roles, teams, rate limits and OIDC bearer tokens.

Real SQLite store in tmp_path, the app over in-process HTTP (FastAPI TestClient); the
OIDC provider's JWKS is served by a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from api_fixtures import PROBLEM, Api, api_over, credit_scenario
from cryptography.hazmat.primitives.asymmetric import rsa

from unsnag.api.auth import create_key
from unsnag.errors import Conflict


@pytest.fixture
def api(tmp_path) -> Iterator[Api]:
    yield from api_over(f"sqlite:///{tmp_path / 'u.db'}")


@pytest.fixture
def worked(api: Api) -> Api:
    """The app with the credit scenario in it (a finance case, two customer_service)."""
    api.send(credit_scenario())
    return api


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://unsnag.dev/problems/")
    assert body["title"] and body["detail"]
    return body


# --- keys ---------------------------------------------------------------------------------


def test_no_key_is_401_problem_with_a_challenge(api: Api):
    response = api.client.get("/v1/cases")
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert body["instance"] == "/v1/cases"
    assert "no credentials" in body["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer usk_knothere_secret"},
        {"Authorization": "Bearer not-a-key-at-all"},
        {"X-API-Key": "usk_kdeadbeef00_wrong"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
    ],
)
def test_a_bad_key_is_401(api: Api, headers: dict[str, str]):
    response = api.client.get("/v1/me", headers=headers)
    assert_problem(response, 401)
    assert "www-authenticate" in response.headers


def test_a_right_id_with_a_wrong_secret_is_401(api: Api):
    token = api.token("viewer")
    forged = token[: token.rindex("_") + 1] + "x" * 20
    assert_problem(api.client.get("/v1/me", headers={"X-API-Key": forged}), 401)


def test_a_key_works_as_bearer_or_x_api_key_and_me_says_who(api: Api):
    token = api.token("agent", team="finance", name="dana")
    for headers in ({"Authorization": f"Bearer {token}"}, {"X-API-Key": token}):
        response = api.client.get("/v1/me", headers=headers)
        assert response.status_code == 200, response.text
        me = response.json()
        assert me["role"] == "agent" and me["team"] == "finance" and me["name"] == "dana"
        assert me["via"] == "key" and me["id"].startswith("key:k")


def test_a_revoked_key_is_401(api: Api):
    record, token = create_key(api.store, api.policy, "admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/v1/me", headers=headers).status_code == 200
    api.store.revoke_api_key(record.id, datetime.now(UTC))
    api.app.state.unsnag.keys.forget()  # the key ring remembers answers for a few seconds
    assert_problem(api.client.get("/v1/me", headers=headers), 401)


def test_keys_are_stored_hashed(api: Api):
    record, token = create_key(api.store, api.policy, "viewer")
    stored = api.store.get_api_key(record.id)
    assert token.split("_", 2)[2] not in (stored.hash, stored.name)
    assert len(stored.hash) == 64


def test_keys_need_a_known_role_and_team(api: Api):
    with pytest.raises(Conflict, match="unknown role"):
        create_key(api.store, api.policy, "emperor")
    with pytest.raises(Conflict, match="unknown team"):
        create_key(api.store, api.policy, "agent", team="nobody")


# --- roles --------------------------------------------------------------------------------


def test_a_viewer_reads_but_cannot_post(worked: Api):
    api = worked
    case = api.case_of_type("credit.hold")
    viewer = api.key("viewer")
    assert api.client.get("/v1/cases", headers=viewer).status_code == 200
    assert api.client.get(f"/v1/cases/{case['id']}", headers=viewer).status_code == 200
    posts = [
        ("/v1/events", {"specversion": "1.0"}),
        (f"/v1/cases/{case['id']}/comment", {"text": "hello"}),
        (f"/v1/cases/{case['id']}/approve", {}),
        (f"/v1/cases/{case['id']}/assign", {"assignee": "me"}),
        (f"/v1/cases/{case['id']}/resolve", {"resolution": "done"}),
        ("/v1/dead-letters/1/replay", {}),
    ]
    for path, body in posts:
        body_ = assert_problem(api.client.post(path, json=body, headers=viewer), 403)
        assert "viewer" in body_["detail"], path


def test_an_integrator_sends_events_but_cannot_touch_cases(worked: Api):
    api = worked
    case = api.case_of_type("credit.hold")
    integrator = api.key("integrator")
    assert_problem(api.client.get("/v1/cases", headers=integrator), 403)
    assert_problem(api.client.get(f"/v1/cases/{case['id']}", headers=integrator), 403)
    assert_problem(api.client.get("/v1/kpis", headers=integrator), 403)
    response = api.client.post(
        f"/v1/cases/{case['id']}/comment", json={"text": "hi"}, headers=integrator
    )
    assert_problem(response, 403)
    assert api.client.get("/v1/dead-letters", headers=integrator).status_code == 200
    assert api.client.get("/v1/integrations", headers=integrator).status_code == 200


def test_an_agent_cannot_send_events(api: Api):
    response = api.client.post("/v1/events", json=credit_scenario(), headers=api.key("agent"))
    assert_problem(response, 403)


def test_an_agent_of_another_team_may_not_work_the_case(worked: Api):
    api = worked
    case = api.case_of_type("credit.hold")  # owned by finance
    outsider = api.key("agent", team="logistics", name="lou")
    for action, body in [
        ("comment", {"text": "mine now"}),
        ("assign", {"assignee": "lou"}),
        ("approve", {}),
        ("reject", {"note": "no"}),
        ("act", {"option": 0}),
        ("resolve", {"resolution": "done"}),
    ]:
        response = api.client.post(f"/v1/cases/{case['id']}/{action}", json=body, headers=outsider)
        problem = assert_problem(response, 403)
        assert "belongs to team finance" in problem["detail"], action
    # the team's own agent may; an agent with no team may work any team's case
    own = api.key("agent", team="finance", name="fin")
    assert (
        api.client.post(
            f"/v1/cases/{case['id']}/comment", json={"text": "ok"}, headers=own
        ).status_code
        == 200
    )
    anyteam = api.key("agent", name="floater")
    response = api.client.post(
        f"/v1/cases/{case['id']}/comment", json={"text": "me too"}, headers=anyteam
    )
    assert response.status_code == 200, response.text


def test_an_agent_cannot_approve_what_needs_a_finance_manager(worked: Api):
    api = worked
    case = api.case_of_type("credit.hold")
    response = api.client.post(
        f"/v1/cases/{case['id']}/approve",
        json={},
        headers=api.key("agent", team="finance", name="dana"),
    )
    problem = assert_problem(response, 403)
    assert "needs the role finance_manager" in problem["detail"]


# --- rate limits --------------------------------------------------------------------------


def test_over_the_rate_limit_is_429_with_retry_after(tmp_path):
    for api in api_over(
        f"sqlite:///{tmp_path / 'r.db'}", rate_limit_per_minute=1, rate_limit_burst=3
    ):
        viewer = api.key("viewer")
        statuses = [api.client.get("/v1/me", headers=viewer).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        response = api.client.get("/v1/me", headers=viewer)
        problem = assert_problem(response, 429)
        assert int(response.headers["retry-after"]) >= 1
        assert "rate limit" in problem["detail"]
        # limits are per key: another key still gets in
        assert api.client.get("/v1/me", headers=api.key("admin")).status_code == 200
        # and unauthenticated hammering is limited per address too
        codes = {api.client.get("/v1/me").status_code for _ in range(5)}
        assert codes == {401, 429}
        metrics = api.client.get("/metrics").text
        assert 'unsnag_requests_refused_total{reason="rate_limited"}' in metrics


# --- OIDC ---------------------------------------------------------------------------------

ISSUER = "https://idp.example.test/"
AUDIENCE = "unsnag-api"


class Jwks:
    """An RSA key pair and a JWKS served over real HTTP on 127.0.0.1."""

    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.document = json.dumps({"keys": [public | {"kid": "k1", "use": "sig"}]}).encode()
        document = self.document

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(document)))
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def token(self, kid: str = "k1", key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "u-123",
            "iat": now,
            "exp": now + 300,
            "preferred_username": "olivia",
            "unsnag_role": "agent",
            "unsnag_team": "finance",
        } | claims
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.private, algorithm="RS256", headers={"kid": kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def idp() -> Iterator[Jwks]:
    provider = Jwks()
    yield provider
    provider.close()


@pytest.fixture
def oidc_api(tmp_path, idp: Jwks) -> Iterator[Api]:
    yield from api_over(
        f"sqlite:///{tmp_path / 'o.db'}",
        oidc_jwks_url=idp.url,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_oidc_token_carries_its_role_and_team(oidc_api: Api, idp: Jwks):
    api = oidc_api
    api.send(credit_scenario())
    response = api.client.get("/v1/me", headers=bearer(idp.token()))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": "oidc:u-123",
        "role": "agent",
        "team": "finance",
        "name": "olivia",
        "via": "oidc",
    }
    case = api.case_of_type("credit.hold")
    commented = api.client.post(
        f"/v1/cases/{case['id']}/comment", json={"text": "via sso"}, headers=bearer(idp.token())
    )
    assert commented.status_code == 200, commented.text
    other_team = bearer(idp.token(unsnag_team="logistics"))
    response = api.client.post(
        f"/v1/cases/{case['id']}/comment", json={"text": "x"}, headers=other_team
    )
    assert_problem(response, 403)
    viewer = bearer(idp.token(unsnag_role="viewer", unsnag_team=None))
    assert api.client.get("/v1/cases", headers=viewer).status_code == 200
    assert_problem(
        api.client.post(f"/v1/cases/{case['id']}/comment", json={"text": "x"}, headers=viewer),
        403,
    )
    # API keys still work next to OIDC
    assert api.client.get("/v1/me", headers=api.key("viewer")).status_code == 200


@pytest.mark.parametrize(
    "bad",
    ["wrong audience", "wrong issuer", "expired", "unknown kid", "foreign key", "no role"],
)
def test_a_bad_oidc_token_is_401(oidc_api: Api, idp: Jwks, bad: str):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = {
        "wrong audience": lambda: idp.token(aud="someone-else"),
        "wrong issuer": lambda: idp.token(iss="https://evil.example.test/"),
        "expired": lambda: idp.token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
        "unknown kid": lambda: idp.token(kid="nope", key=other),
        "foreign key": lambda: idp.token(key=other),
        "no role": lambda: idp.token(unsnag_role=None),
    }[bad]()
    response = oidc_api.client.get("/v1/me", headers=bearer(token))
    assert_problem(response, 401)
    assert "www-authenticate" in response.headers


def test_without_oidc_settings_a_jwt_is_just_a_bad_key(api: Api, idp: Jwks):
    assert_problem(api.client.get("/v1/me", headers=bearer(idp.token())), 401)
