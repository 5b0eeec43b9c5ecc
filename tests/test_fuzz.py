"""Fuzzing the API from its own OpenAPI schema (schemathesis, in process): every operation, with
a token of a role allowed to call it, valid and invalid generated input. No answer may be a
5xx, and every answer (status, headers, body) must be one the schema describes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.domain.access import MATRIX
from caseflow.store.people import issue_token
from tests.postgres import fresh_database
from tests.test_access import HOLDER, api_routes, capability_of

# No 5xx; every answer as the schema says; input the schema calls invalid is refused. (Input the
# schema allows may still be refused: a hospital that does not exist, a step the case does not
# allow now.)
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_headers_conformance,
          checks.response_schema_conformance, checks.negative_data_rejection,
          checks.missing_required_header]
# The operations, read off the app's schema (building the app connects to nothing).
PATHS = create_app(Settings(environment="test", database_url="sqlite://")).openapi()["paths"]
# GET /v1/live is an endless stream (server-sent events) that the in-process transport would
# wait out; tests/test_live.py drives it over HTTP instead.
OPERATIONS = sorted((method.upper(), path) for path, item in PATHS.items() for method in item
                    if path != "/v1/live")


@pytest.fixture(scope="module")
def fuzzed(database_url, dev_env) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The app on a database of its own (fuzzing writes many odd rows), with the real dev server
    (no worker: a step or read that needs one answers 503 in time, which the schema says)."""
    with fresh_database(database_url, "fuzz") as (url, sessions):
        with sessions.begin() as session:
            tokens = {role: issue_token(session, holder, "fuzz")[0]
                      for role, holder in HOLDER.items()}
        address = dev_env.client.service_client.config.target_host
        app = create_app(Settings(
            database_url=url, temporal_address=address, environment="test",
            task_queue="fuzz-nobody", query_timeout_seconds=0.5, update_timeout_seconds=0.5,
            rate_create_per_minute=0, rate_actions_per_minute=0, rate_logins_per_minute=0))
        who: dict[tuple[str, str], str] = {}
        for route in api_routes(app.routes):
            for method in route.methods:
                found = capability_of(route)
                if found:  # open routes get no token
                    role = min(MATRIX[found[0]], key=lambda r: r.value)
                    who[(method, route.path)] = tokens[role]
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        # A body over the size limit is refused before it is read: 413 is a rejection too.
        rejecting = schema.config.checks.negative_data_rejection
        schema.config.checks.negative_data_rejection = type(rejecting)(
            expected_statuses=[*rejecting.expected_statuses, "413"])
        yield {"schema": schema, "who": who}


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_answers_within_its_schema(fuzzed, operation: tuple[str, str]) -> None:
    method, path = operation
    target = fuzzed["schema"][path][method]
    token = fuzzed["who"].get(operation)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            fuzz(target, mode, headers)()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
            assert mode is GenerationMode.NEGATIVE, "valid input must always be possible"


def fuzz(target: Any, mode: GenerationMode, headers: dict[str, str]) -> Any:
    @given(case=target.as_strategy(generation_mode=mode))
    @settings(max_examples=15, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        # A negative case made invalid by leaving out the token is sent without one (our token
        # would make it valid again, and its acceptance would be no fault of the API).
        missing = mode is GenerationMode.NEGATIVE and "Authorization" not in (case.headers or {})
        case.call_and_validate(headers={} if missing else headers, checks=CHECKS)

    return call
