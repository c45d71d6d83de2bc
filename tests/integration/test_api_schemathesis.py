"""schemathesis against /v1/openapi.json, bounded: a few examples per operation, in-process
(ASGI) over a real SQLite store with the credit scenario in it, as an admin.

Checks: no server errors; every status code and content type is one the document
declares; responses match their schemas. Positive (valid) and negative (invalid) inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_fixtures import Api, api_over, credit_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 30


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory) -> Iterator[Api]:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    for api in api_over(
        f"sqlite:///{path}", rate_limit_per_minute=100_000, rate_limit_burst=100_000
    ):
        api.send(credit_scenario())
        yield api


def operations(api: Api) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", api.app)
    return [result.ok() for result in schema.get_all_operations()]


def run(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> str | None:
    """Fuzz one operation; the failure, if any."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        fuzz()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Unsatisfiable:  # nothing invalid to send (no parameters, no body)
        return None
    except BaseException as exc:  # schemathesis reports a group of failures
        return f"{operation.label} ({mode.value}): {type(exc).__name__}: {exc}"[:3000]
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_keeps_its_documented_promises(fuzzed: Api, mode: GenerationMode):
    admin = fuzzed.key("admin")
    ops = operations(fuzzed)
    assert len(ops) >= 20
    failures = [f for op in ops if (f := run(op, mode, admin)) is not None]
    assert not failures, "\n\n".join(failures)
