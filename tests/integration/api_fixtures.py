"""Helpers for the API tests: an app over a real store, keys per role, small scenarios.

``Api`` wraps a FastAPI ``TestClient`` (in-process HTTP) over an app built by
:func:`unsnag.api.create_app` around a :class:`~unsnag.runtime.Runtime` of its own, and
makes API keys on demand (``api.key("agent", team="finance")`` → headers).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.testclient import TestClient

from unsnag.api import create_app
from unsnag.api.auth import create_key
from unsnag.demo import LiveTwin
from unsnag.policy import Policy, load_policy
from unsnag.runtime import Runtime
from unsnag.settings import Settings
from unsnag.store import StorePort, open_store

PROBLEM = "application/problem+json"
EVENT_DAY = "2026-05-04T{}Z"
WORK_CLOCK = datetime(2026, 5, 4, 16, 30, tzinfo=UTC)
"""The runtime's clock for the credit scenario: after the last event (approvals live)."""


def event(event_id: str, type_: str, when: str, data: dict[str, Any], source: str = "erp"):
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": type_,
        "time": EVENT_DAY.format(when),
        "data": data,
    }
    if data.get("order_id"):
        envelope["subject"] = data["order_id"]
    return envelope


def order(oid: str, when: str, qty: int, customer: str = "C1") -> dict[str, Any]:
    line = {"line_id": "1", "sku": "BRG-6204", "qty": qty, "unit_price": 10.0}
    data = {
        "order_id": oid,
        "customer_id": customer,
        "po_number": f"PO-{oid}",
        "lines": [line],
        "promised_ship_date": "2026-05-08",
    }
    return event(f"e-{oid}", "order.created", when, data)


def credit_scenario() -> list[dict[str, Any]]:
    """A large credit hold (a finance case whose release needs a finance_manager) and a
    customer master-data case (customer_service)."""
    return [
        event(
            "e-c1",
            "customer.upserted",
            "06:00:00",
            {"customer_id": "C1", "tier": "gold", "credit_limit": 1e6},
            source="crm",
        ),
        event(
            "e-p1",
            "product.upserted",
            "06:00:00",
            {"sku": "BRG-6204", "unit_cost": 6.0, "list_price": 10.0},
        ),
        order("SO-1", "13:00:00", 3000),
        event(
            "e-h1",
            "order.held",
            "13:01:00",
            {"order_id": "SO-1", "hold_code": "credit", "reason": "limit"},
        ),
        event(  # later: moves event time on (the hold is a case once it has lasted)
            "e-x",
            "order.created",
            "16:00:00",
            {
                "order_id": "SO-9",
                "customer_id": "C1",
                "lines": [{"line_id": "1", "sku": "BRG-6204", "qty": 1, "unit_price": 10.0}],
            },
        ),
    ]


def sign(secret: str, body: bytes, stamp: int | None = None) -> dict[str, str]:
    """The webhook signature headers of ``body``."""
    ts = str(int(time.time()) if stamp is None else stamp)
    digest = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Unsnag-Timestamp": ts, "X-Unsnag-Signature": f"sha256={digest}"}


@dataclass
class Api:
    """An app over a store, its in-process client, and keys made on demand."""

    app: FastAPI
    client: TestClient
    runtime: Runtime
    store: StorePort
    policy: Policy
    _keys: dict[tuple[str, str | None, str | None], dict[str, str]] = field(default_factory=dict)

    def key(self, role: str, team: str | None = None, name: str | None = None) -> dict[str, str]:
        """``Authorization`` headers for a key of ``role`` (made once per role/team/name)."""
        wanted = (role, team, name)
        if wanted not in self._keys:
            _, token = create_key(self.store, self.policy, role, team, name)
            self._keys[wanted] = {"Authorization": f"Bearer {token}"}
        return self._keys[wanted]

    def token(self, role: str, team: str | None = None, name: str | None = None) -> str:
        return self.key(role, team, name)["Authorization"].removeprefix("Bearer ")

    def send(self, events: Any, role: str = "integrator", **headers: str) -> Any:
        response = self.client.post(
            "/v1/events",
            content=orjson.dumps(events),
            headers={"Content-Type": "application/json", **self.key(role), **headers},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def cases(self, role: str = "admin", **params: Any) -> list[dict[str, Any]]:
        response = self.client.get("/v1/cases", params=params, headers=self.key(role))
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def case_of_type(self, case_type: str) -> dict[str, Any]:
        [case] = self.cases(type=case_type)
        return case


def build_api(
    store: StorePort,
    policy: Policy | None = None,
    *,
    runtime: Runtime | None = None,
    clock: datetime | None = WORK_CLOCK,
    **settings: Any,
) -> Api:
    policy = policy or load_policy()
    if runtime is None:
        moment = clock
        runtime = (
            Runtime(store, policy, clock=lambda: moment)
            if moment is not None
            else Runtime(store, policy)
        )
    app = create_app(
        runtime,
        Settings(database_url="sqlite://", **settings),
        web=False,
        analytics_max_age_s=0.0,
    )
    client = TestClient(app, raise_server_exceptions=False)
    return Api(app, client, runtime, store, runtime.policy)


def sqlite_store(tmp_path: Any, name: str = "unsnag.db") -> StorePort:
    return open_store(f"sqlite:///{tmp_path / name}")


def api_over(url: str, **settings: Any) -> Iterator[Api]:
    """An Api over the store at ``url`` (closed afterwards): for fixtures to ``yield from``."""
    store = open_store(url)
    api = build_api(store, **settings)
    try:
        with api.client:
            yield api
    finally:
        api.runtime.close()
        store.close()


def twin_api(url: str, days: int = 3, orders_per_day: float = 120, seed: int = 7) -> Iterator[Api]:
    """An Api over a store the twin filled with a few days of realistic cases."""
    store = open_store(url)
    policy = load_policy()
    live = LiveTwin(store, policy, days=days, orders_per_day=orders_per_day, seed=seed)
    for _ in range(days):
        live.tick()
    api = build_api(store, policy, runtime=live.runtime)
    try:
        with api.client:
            yield api
    finally:
        live.runtime.close()
        store.close()
