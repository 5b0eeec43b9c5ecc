"""One registry of case kinds (docs/architecture.md "Adding a kind"): a kind declared only in
tests/toy_kind.py, once registered, is opened, read, listed, searched and stepped through the
API, run by the worker, and offered by the console's list of kinds, with no other file naming
it; and the built-in kinds are what every part of caseflow iterates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.domain.kinds import KINDS
from caseflow.domain.search import CaseFilter
from caseflow.workflows.catalog import workflows
from tests import toy_kind
from tests.conftest import running_worker
from tests.test_api import headers, new_key
from tests.waiting import until

TOY = {"hospital_id": "H-DH", "equipment_serial": "CT-DH-0001", "chore": "校准床位 calibrate"}


def test_the_built_in_kinds_are_declared_once_each():
    """(Before the toy kind is registered by the module's fixture.)"""
    assert list(KINDS) == ["repair", "complaint", "emergency", "installation", "maintenance",
                           "adverse_event", "review"]
    assert len({k.prefix for k in KINDS.values()}) == len({k.collection for k in KINDS.values()}) == 7
    assert {k.workflow for k in KINDS.values()} <= {w.__name__ for w in workflows()}
    with pytest.raises(ValueError, match="prefix"):
        KINDS.register(toy_kind.KIND.__class__(**{**toy_kind.KIND.__dict__, "prefix": "RP"}))


@pytest.fixture(scope="module")
async def toy_api(database_url, dev_env, sessions) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The API and a worker made after the toy kind was registered (then forgotten again)."""
    KINDS.register(toy_kind.KIND)
    try:
        async with running_worker(dev_env, sessions, "toy") as worker:
            settings = Settings(database_url=database_url, task_queue=worker.task_queue,
                                environment="test")
            app = create_app(settings, temporal=dev_env.client)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://caseflow.test", timeout=30) as client:
                yield client
    finally:
        KINDS.unregister("toy")


async def test_a_registered_toy_kind_is_opened_read_searched_and_stepped_over_the_api(
        toy_api, tokens):
    opened = await toy_api.post("/v1/toys", json=TOY, headers=headers(tokens, "hotline", new_key()))
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]
    assert case_id.startswith("TY-") and opened.json()["kind"] == "toy"

    view = (await toy_api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "hotline"))).json()
    assert (view["kind"], view["status"], view["chore"]) == ("toy", "waiting", TOY["chore"])
    assert [c["key"] for c in view["commitments"]] == ["chore"]

    async def listed() -> list[dict[str, Any]]:
        found = await toy_api.get("/v1/cases", params={"kind": "toy", "q": "校准床位"},
                                  headers=headers(tokens, "supervisor"))
        assert found.status_code == 200, found.text
        return [c for c in found.json()["items"] if c["case_id"] == case_id]
    [row] = await until(listed, "the toy case listed by kind and text")
    assert (row["kind"], row["status"]) == ("toy", "waiting")

    wrong = await toy_api.post(f"/v1/toys/{case_id}/actions/finish", json={},
                               headers=headers(tokens, "supervisor", new_key()))
    assert wrong.status_code == 422 and "note" in wrong.text
    done = await toy_api.post(f"/v1/toys/{case_id}/actions/finish", json={"note": "好了 done"},
                              headers=headers(tokens, "supervisor", new_key()))
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["note"]) == ("done", "好了 done")
    steps = await toy_api.get(f"/v1/cases/{case_id}/actions", headers=headers(tokens, "supervisor"))
    assert steps.status_code == 200 and steps.json()["actions"] == []


async def test_the_toy_kind_is_refused_like_any_kind(toy_api, tokens):
    no_unit = await toy_api.post("/v1/toys", json=TOY | {"equipment_serial": "NO-SUCH"},
                                 headers=headers(tokens, "hotline", new_key()))
    assert no_unit.status_code == 422 and "equipment_serial" in no_unit.text
    engineer = await toy_api.post("/v1/toys", json=TOY, headers=headers(tokens, "engineer", new_key()))
    assert engineer.status_code == 403
    unknown = await toy_api.get("/v1/cases", params={"kind": "toys"},
                                headers=headers(tokens, "supervisor"))
    assert unknown.status_code == 422 and "toy" in unknown.text  # the error lists the kinds


async def test_the_console_and_the_worker_learn_the_toy_kind_from_the_registry(toy_api, tokens):
    kinds = (await toy_api.get("/v1/kinds", headers=headers(tokens, "hotline"))).json()
    toy = next(k for k in kinds if k["name"] == "toy")
    assert (toy["collection"], toy["prefix"], toy["intake_schema"], toy["desk"],
            toy["open_with"]) == ("toys", "TY", "ToyCreate", True, "open_repair")
    assert [a["name"] for a in toy["actions"]] == ["finish"]
    schemas = (await toy_api.get("/openapi.json")).json()["components"]["schemas"]
    assert "ToyCreate" in schemas and "ToyFinish" in schemas  # the console's form reads them
    assert toy_kind.ToyWorkflow in workflows()
    assert CaseFilter(kind="toy", status="waiting").check().kind == "toy"
