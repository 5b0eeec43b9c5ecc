"""Moving open cases to another policy over HTTP (dev server, PostgreSQL): preview, refusals,
apply as a migration workflow, a result per case and the case's timeline."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sys
from datetime import datetime, timedelta
from typing import Any

import yaml

from tests.test_api import act, headers, open_case, timeline_of
from tests.test_policy import default_raw

Json = dict[str, Any]


def candidate_yaml(version: str = "2027.1", severe_restore: str = "48h") -> str:
    raw = copy.deepcopy(default_raw())
    raw["version"] = version
    raw["defaults"]["repair"]["restore"]["severe"]["within"] = severe_restore
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)


async def preview(api, tokens, case_ids: list[str], policy_yaml: str | None = None,  # type: ignore[no-untyped-def]
                  role: str = "manager") -> Any:
    body: Json = {"selection": {"case_ids": case_ids}}
    if policy_yaml is not None:
        body["policy_yaml"] = policy_yaml
    return await api.post("/v1/policy/migrations", json=body, headers=headers(tokens, role))


async def finished(api, tokens, migration_id: str) -> Json:  # type: ignore[no-untyped-def]
    for _ in range(300):
        found = await api.get(f"/v1/policy/migrations/{migration_id}",
                              headers=headers(tokens, "auditor"))
        assert found.status_code == 200, found.text
        if found.json()["status"] == "done":
            return found.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"{migration_id} not done after 30 s: {found.json()['counts']}")


async def test_a_manager_previews_then_moves_open_cases_once_each(api, tokens):
    first = await open_case(api, tokens, severity="severe", hospital="H-JB", serial="CT-JB-0003")
    second = await open_case(api, tokens, severity="severe", hospital="H-JB", serial="CT-JB-0003")
    text = candidate_yaml()
    shown = await preview(api, tokens, [first, second], text)
    assert shown.status_code == 201, shown.text
    body = shown.json()
    assert body["status"] == "previewed" and body["counts"]["pending"] == 2
    assert body["policy_version"].startswith("2027.1#")
    case = next(c for c in body["cases"] if c["case_id"] == first)
    restore = next(x for x in case["moves"] if x["key"] == "restore")
    opened = datetime.fromisoformat(restore["from_due"]) - timedelta(hours=24)
    assert datetime.fromisoformat(restore["to_due"]) == opened + timedelta(hours=48)
    assert restore["fired"] == [] and restore["due_at_once"] == []

    # Something happens to a case after the preview: applying it is refused, nothing moves.
    assert (await act(api, tokens, second, "supervisor", "assign",
                      {"engineer_id": "EN-01"})).status_code == 200
    stale = await api.post(f"/v1/policy/migrations/{body['migration_id']}/apply",
                           json={"reason": "2027年合同续签"}, headers=headers(tokens, "manager"))
    assert stale.status_code == 409, stale.text
    assert second in stale.json()["detail"] and first not in stale.json()["detail"]

    again = (await preview(api, tokens, [first, second], text)).json()
    applied = await api.post(f"/v1/policy/migrations/{again['migration_id']}/apply",
                             json={"reason": "2027年合同续签", "per_minute": 6000},
                             headers=headers(tokens, "manager"))
    assert applied.status_code == 202, applied.text
    done = await finished(api, tokens, again["migration_id"])
    assert done["counts"] == {"pending": 0, "migrated": 2, "left_alone": 0, "refused": 0}
    assert done["applied_by"] == "MG-01" and done["reason"] == "2027年合同续签"
    twice = await api.post(f"/v1/policy/migrations/{again['migration_id']}/apply",
                           json={"reason": "再来一次"}, headers=headers(tokens, "manager"))
    assert twice.status_code == 409

    for case_id in (first, second):
        view = (await api.get(f"/v1/cases/{case_id}", headers=headers(tokens, "auditor"))).json()
        assert view["policy_version"] == again["policy_version"]
        events = [e for e in await timeline_of(api, tokens, case_id)
                  if e["event"] == "policy_migrated"]
        assert len(events) == 1
        assert events[0]["data"]["reason"] == "2027年合同续签"
        assert events[0]["data"]["to_version"] == again["policy_version"]
    # Moved already: a new preview to the same policy leaves both alone, and says why.
    left = (await preview(api, tokens, [first, second], text)).json()
    assert {c["left_alone"] for c in left["cases"]} == {"same_policy"}


async def test_bad_candidates_and_empty_selections(api, tokens):
    raw = copy.deepcopy(default_raw())
    raw["defaults"]["repair"]["restore"]["general"]["within"] = "48 hours"
    bad = await preview(api, tokens, [], yaml.safe_dump(raw, allow_unicode=True))
    assert bad.status_code == 422
    item = bad.json()["detail"][0]
    assert item["loc"] == ["body", "policy_yaml"]
    assert "defaults.repair.restore.general.within" in item["msg"]
    empty = await preview(api, tokens, ["RP-20000101-999999"], candidate_yaml())
    assert empty.status_code == 201 and empty.json()["cases"] == []
    assert (await preview(api, tokens, [], candidate_yaml(), role="engineer")).status_code == 403
    unknown = await api.get("/v1/policy/migrations/PM-0123456789abcdef",
                            headers=headers(tokens, "manager"))
    assert unknown.status_code == 404


async def test_the_cli_previews_applies_and_follows_a_migration(api, tokens, database_url, dev_env,
                                                                dev_worker, tmp_path):
    case_id = await open_case(api, tokens, severity="severe", hospital="H-JB",
                              serial="CT-JB-0003")
    policy = tmp_path / "candidate.yaml"
    policy.write_text(candidate_yaml("2027.2", "36h"), "utf-8")
    env = {**os.environ, "CASEFLOW_DATABASE_URL": database_url, "CASEFLOW_ENVIRONMENT": "test",
           "CASEFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
           "CASEFLOW_TASK_QUEUE": dev_worker.task_queue}

    async def cli(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "caseflow.cli", "policy-migration", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode() + err.decode()

    shown = json.loads(await cli("preview", "--policy", str(policy), "--case", case_id,
                                 "--json"))
    assert [c["case_id"] for c in shown["cases"]] == [case_id]
    assert [x["key"] for x in shown["cases"][0]["moves"]] == ["restore"]
    said = await cli("apply", shown["migration_id"], "--reason", "合同续签 2027",
                     "--per-minute", "6000")
    assert f"{shown['migration_id']} running" in said
    done = await finished(api, tokens, shown["migration_id"])
    assert done["counts"]["migrated"] == 1
    status = json.loads(await cli("status", shown["migration_id"], "--json"))
    assert status["cases"][0]["result"] == "migrated" and status["reason"] == "合同续签 2027"
