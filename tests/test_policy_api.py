"""Managers put an SLA policy in force for new cases: checked first (422 naming the field),
recorded with who, when and why, read by every API process and worker within seconds; the
file stays the policy until then, and open cases keep theirs."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import caseflow
from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.domain.policy_loader import load_policy
from caseflow.store.models import StoredPolicy
from caseflow.store.people import issue_token
from caseflow.store.policies import PolicySource
from tests.conftest import namespace_of_its_own, running_worker
from tests.postgres import fresh_database
from tests.test_api import intake_body, locs, new_key

DEFAULT = (Path(caseflow.__file__).parent / "policy" / "default.yaml").read_text("utf-8")


@pytest.fixture(scope="module")
async def own(database_url, dev_env) -> AsyncIterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The API on a database of its own (a policy put in force there reaches only it), in a
    Temporal namespace of its own (its case numbers are workflow ids other tests' cases have)."""
    temporal = await namespace_of_its_own(dev_env, "policy")
    with fresh_database(database_url, "policy") as (url, sessions):
        with sessions.begin() as session:
            tokens = {role: issue_token(session, person, "policy")[0] for role, person in
                      {"manager": "MG-01", "hotline": "HL-01", "auditor": "AU-01"}.items()}
        app = create_app(Settings(database_url=url, environment="test",
                                  task_queue=f"policy-{uuid.uuid4()}"), temporal=temporal)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://caseflow.test", timeout=30) as client:
            yield {"api": client, "tokens": tokens, "sessions": sessions, "temporal": temporal,
                   "url": url}


def auth(own: dict[str, Any], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {own['tokens'][role]}"}


def candidate() -> str:
    raw = yaml.safe_load(DEFAULT)
    raw["version"] = "2027.1"
    raw["contracts"]["HT-2025-RJ-001"]["repair"]["restore"]["general"] = {"within": "36h"}
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)


async def test_a_manager_puts_a_policy_in_force_for_new_cases(own):
    api = own["api"]
    before = (await api.get("/v1/policy", headers=auth(own, "hotline"))).json()
    assert before["source"] == "caseflow/policy/default.yaml"
    assert before["version"] == load_policy().version

    put = await api.put("/v1/policy", json={"policy_yaml": candidate(),
                                            "note": "2027年合同续签:一般故障36小时修复"},
                        headers=auth(own, "manager"))
    assert put.status_code == 200, put.text
    assert put.json()["version"].startswith("2027.1#")
    assert "put in force by MG-01" in put.json()["source"]
    now = (await api.get("/v1/policy", headers=auth(own, "auditor"))).json()
    assert now["version"] == put.json()["version"], "new cases are pinned to it"
    worker_side = PolicySource(own["sessions"], load_policy(), refresh_seconds=0)
    assert worker_side.current().version == now["version"], "workers read it too"
    pinned = worker_side.current().pin("HT-2025-RJ-001", datetime.now(timezone.utc))
    assert str(pinned.repair.restore["general"].within) == "36h"

    # A repair opened now is pinned to it (its start input carries the policy; no worker runs
    # the case here, so it is terminated afterwards).
    created = await api.post("/v1/repairs", json=intake_body(severity="general"),
                             headers={**auth(own, "hotline"), "Idempotency-Key": new_key()})
    assert created.status_code == 201, created.text
    handle = own["temporal"].get_workflow_handle(created.json()["case_id"])
    started = (await handle.fetch_history()).events[0]
    payload = started.workflow_execution_started_event_attributes.input.payloads[0].data
    assert json.loads(payload)["policy"]["policy_version"] == now["version"]
    await handle.terminate("test done")

    history = (await api.get("/v1/policy/history", headers=auth(own, "auditor"))).json()
    assert history[0]["put_by"] == "MG-01" and "36小时" in history[0]["note"]
    again = await api.put("/v1/policy", json={"policy_yaml": candidate()},
                          headers=auth(own, "manager"))
    assert again.status_code == 409


async def test_a_bad_policy_is_refused_naming_the_field_and_changes_nothing(own):
    api = own["api"]
    with own["sessions"]() as session:
        stored = session.query(StoredPolicy).count()
    broken = candidate().replace("within: 36h", "within: 36 hours")
    for text, hint in ((broken, "contracts.HT-2025-RJ-001.repair.restore.general.within"),
                       ("version: 1\ndefaults: [unclosed\n", "not valid YAML"),
                       ("[" * 5000, "nested too deeply"),
                       (DEFAULT + "\ncontracts: [1, 2]\n", "contracts")):
        for path in ("/v1/policy", "/v1/policy/check"):
            method = api.put if path == "/v1/policy" else api.post
            response = await method(path, json={"policy_yaml": text},
                                    headers=auth(own, "manager"))
            assert response.status_code == 422 and locs(response) == [["body", "policy_yaml"]]
            assert hint in response.json()["detail"][0]["msg"], response.text
    with own["sessions"]() as session:
        assert session.query(StoredPolicy).count() == stored
    checked = await api.post("/v1/policy/check", json={"policy_yaml": candidate()},
                             headers=auth(own, "auditor"))
    assert checked.status_code == 200 and checked.json()["version"].startswith("2027.1#")


async def test_a_stored_policy_this_release_cannot_read_gives_way_to_the_one_before(own):
    with own["sessions"].begin() as session:
        good = PolicySource(own["sessions"], load_policy(), refresh_seconds=0).current()
        row = StoredPolicy(version="old#1", policy_yaml="version: old\ndefaults: {}\n",
                           note="older rules", put_by="MG-01", put_at=datetime.now(timezone.utc))
        session.add(row)
    try:
        source = PolicySource(own["sessions"], load_policy(), refresh_seconds=0)
        assert source.current().version == good.version, \
            "a process started now uses the newest policy it can read"
    finally:
        with own["sessions"].begin() as session:
            session.delete(session.get(StoredPolicy, row.id))


async def test_an_open_case_keeps_its_pinned_policy_across_a_change_and_acts_on_it(
        own, database_url):
    """A case opened before a policy change, classified after it, gets its deadlines from the
    policy it opened with; a case opened after the change gets the new one."""
    api, sessions = own["api"], own["sessions"]
    async with running_worker(own["temporal"], sessions, "policy") as worker:
        app = create_app(Settings(database_url=own["url"], environment="test",
                                  task_queue=worker.task_queue), temporal=own["temporal"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://caseflow.test", timeout=30) as client:
            async def opened() -> str:
                created = await client.post("/v1/repairs", json=intake_body(), headers={
                    **auth(own, "hotline"), "Idempotency-Key": new_key()})
                assert created.status_code == 201, created.text
                return created.json()["case_id"]

            async def classified(case_id: str) -> dict[str, Any]:
                done = await client.post(f"/v1/cases/{case_id}/actions/classify",
                                         json={"severity": "general"}, headers={
                                             **auth(own, "manager"), "Idempotency-Key": new_key()})
                assert done.status_code == 200, done.text
                return done.json()

            def restore_hours(view: dict[str, Any]) -> float:
                restore = next(c for c in view["commitments"] if c["key"] == "restore")
                return (datetime.fromisoformat(restore["due_at"]) -
                        datetime.fromisoformat(restore["started_at"])).total_seconds() / 3600

            before = (await client.get("/v1/policy", headers=auth(own, "auditor"))).json()
            early, waiting = await opened(), await opened()
            pinned_hours = restore_hours(await classified(early))
            raw = yaml.safe_load(DEFAULT)
            raw["version"] = "2027.9"
            for policy in (raw["defaults"], *(raw.get("contracts") or {}).values()):
                policy.setdefault("repair", {}).setdefault("restore", {})["general"] = {
                    "within": "5h"}
            put = await api.put("/v1/policy", json={"policy_yaml": yaml.safe_dump(
                raw, allow_unicode=True)}, headers=auth(own, "manager"))
            assert put.status_code == 200, put.text
            for _ in range(100):  # every process reads the policy in force within 2 s
                if (await client.get("/v1/policy", headers=auth(own, "auditor"))).json()[
                        "version"] == put.json()["version"]:
                    break
                await asyncio.sleep(0.05)

            kept = await classified(waiting)
            assert kept["policy_version"] == before["version"] != put.json()["version"]
            assert restore_hours(kept) == pinned_hours != 5
            later = await classified(await opened())
            assert later["policy_version"] == put.json()["version"]
            assert restore_hours(later) == 5


async def test_a_tool_fetches_the_policy_changes_one_figure_and_puts_it_back(own):
    """GET gives the exact document PUT takes: as YAML (Accept: application/yaml), or as JSON
    (`document`), which PUT takes too (`policy`). Put back unchanged it is the policy in force
    already (409); with one figure changed it is a new one, whole (every contract kept)."""
    api = own["api"]
    text = (await api.get("/v1/policy", headers={**auth(own, "manager"),
                                                 "Accept": "application/yaml"}))
    assert text.status_code == 200 and text.headers["content-type"].startswith(
        "application/yaml"), text.text
    same = await api.put("/v1/policy", json={"policy_yaml": text.text},
                         headers=auth(own, "manager"))
    assert same.status_code == 409, same.text
    in_force = (await api.get("/v1/policy", headers=auth(own, "manager"))).json()
    document = in_force["document"]
    assert yaml.safe_load(text.text) == document and document["contracts"], \
        "the whole document, contract overrides included"
    assert (await api.put("/v1/policy", json={"policy": document},
                          headers=auth(own, "manager"))).status_code == 409

    document["defaults"]["repair"]["restore"]["minor"] = {"within": "6d",
                                                          "label": "修复 restore (minor)"}
    put = await api.put("/v1/policy", json={"policy": document, "note": "工具改一个数字"},
                        headers=auth(own, "manager"))
    assert put.status_code == 200, put.text
    now = (await api.get("/v1/policy", headers=auth(own, "manager"))).json()
    assert now["version"] == put.json()["version"] != in_force["version"]
    assert now["document"] == document and now["contracts"] == in_force["contracts"]
    assert now["defaults"]["repair"]["restore"]["minor"]["within"] == "6d"
    stored = (await api.get("/v1/policy", headers={**auth(own, "manager"),
                                                   "Accept": "application/yaml"})).text
    assert yaml.safe_load(stored) == document and "工具" not in stored

    for body, loc in (({"policy": {"version": "x", "defaults": []}}, ["body", "policy"]),
                      ({"policy": document, "policy_yaml": stored}, ["body"]),
                      ({}, ["body"])):
        refused = await api.put("/v1/policy", json=body, headers=auth(own, "manager"))
        assert refused.status_code == 422 and locs(refused) == [loc], (body, refused.text)
