"""Tamper evidence and exports: closed cases are sealed (history fingerprint in a hash chain),
`caseflow audit verify` names the first record that does not match, an exported case checks
against its seal (also as the Temporal CLI writes the history), the CSV keeps Chinese text."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from caseflow.api.routes.exports import COLUMNS
from caseflow.audit import history_fingerprint, seal_once, verify_file
from caseflow.domain.audit import GENESIS, link_hash
from caseflow.domain.spreadsheets import cell, csv_text
from caseflow.replay import replay_one, replayer
from caseflow.store import seals
from caseflow.store.models import Case, CaseSeal
from caseflow.temporal import binary
from tests.postgres import fresh_database
from tests.test_api import headers, new_key, open_case
from tests.test_complaint_api import complaint_body

# ----- the chain, on a database of its own --------------------------------------------------------

@pytest.fixture(scope="module")
def chain_db(database_url: str) -> Iterator[tuple[str, Any]]:
    with fresh_database(database_url, "seals") as found:
        yield found


def closed_case(sessions, n: int) -> Case:  # type: ignore[no-untyped-def]
    now = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc) + timedelta(hours=n)
    with sessions.begin() as session:
        row = Case(case_id=f"CP-20261122-{n:06d}", kind="complaint", status="closed",
                   hospital_id="H-DH", title=f"投诉 {n}", opened_at=now, updated_at=now,
                   closed_at=now, created_by="test", idempotency_key=f"k{n}",
                   request_hash="h", projection_seq=1)
        session.add(row)
    return row


def test_the_chain_links_every_seal_and_names_the_first_altered_record(chain_db):
    url, sessions = chain_db
    for n in range(1, 5):
        case = closed_case(sessions, n)
        with sessions.begin() as session:
            seal = seals.append(session, case=case, workflow_id=case.case_id or "", run_id="r",
                                history_sha256=f"{n:064x}", now=datetime.now(timezone.utc))
            assert seal is not None and seal.position == n
            again = seals.append(session, case=case, workflow_id="x", run_id="r",
                                 history_sha256="f" * 64, now=datetime.now(timezone.utc))
            assert again is None, "a case is sealed once"
    with sessions() as session:
        first = session.get(CaseSeal, 1)
        assert first is not None and first.previous_hash == GENESIS
        assert first.chain_hash == link_hash(GENESIS, first.case_id, first.history_sha256,
                                             first.closed_at)
        check = seals.verify_chain(session)
    assert (check.ok, check.links) == (True, 4)

    cli = [sys.executable, "-m", "caseflow.cli", "audit", "verify"]
    env = {**os.environ, "DATABASE_URL": url, "CASEFLOW_LOG_LEVEL": "WARNING"}
    done = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and "intact" in done.stderr + done.stdout, done.stderr

    with sessions.begin() as session:  # one character of one fingerprint
        row = session.get(CaseSeal, 3)
        assert row is not None
        original = row.history_sha256
        row.history_sha256 = "e" + original[1:]
    done = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=60)
    said = done.stderr + done.stdout
    assert done.returncode == 1 and "link 3" in said and "CP-20261122-000003" in said, said
    with sessions.begin() as session:
        row = session.get(CaseSeal, 3)
        assert row is not None
        row.history_sha256 = original
        session.delete(session.get(CaseSeal, 2))
    with sessions() as session:
        check = seals.verify_chain(session)
    assert not check.ok and check.first_bad == 2 and "missing" in check.reason


# ----- a real case, closed, sealed, exported ------------------------------------------------------

async def closed_complaint(api, tokens) -> str:  # type: ignore[no-untyped-def]
    created = await api.post("/v1/complaints", json=complaint_body(matter="设备科投诉:报告延误"),
                             headers=headers(tokens, "hotline", new_key()))
    case_id = created.json()["case_id"]
    for _ in range(100):
        timeline = await api.get(f"/v1/cases/{case_id}/timeline",
                                 headers=headers(tokens, "auditor"))
        if timeline.json():
            break
        await asyncio.sleep(0.05)
    withdrawn = await api.post(f"/v1/cases/{case_id}/actions/withdraw",
                               json={"reason": "客户撤诉"},
                               headers=headers(tokens, "hotline", new_key()))
    assert withdrawn.status_code == 200, withdrawn.text
    return case_id


async def test_a_closed_case_is_sealed_and_its_export_checks_against_the_seal(
        api, tokens, sessions, dev_env, tmp_path: Path):
    case_id = await closed_complaint(api, tokens)
    for _ in range(100):
        with sessions() as session:
            row = session.scalar(select(Case).where(Case.case_id == case_id))
            if row is not None and row.closed_at is not None:
                break
        await asyncio.sleep(0.05)
    await asyncio.wait_for(dev_env.client.get_workflow_handle(case_id).result(), 30)
    assert await seal_once(dev_env.client, sessions) >= 1
    exported = await api.get(f"/v1/cases/{case_id}/export", headers=headers(tokens, "auditor"))
    assert exported.status_code == 200, exported.text
    record = exported.json()
    assert record["seal"] is not None and record["seal"]["case_id"] == case_id
    assert record["history_sha256"] == record["seal"]["history_sha256"]
    assert record["state"]["status"] == "withdrawn" and record["timeline"]
    sealed = [e for e in record["timeline"] if e["event"] == "sealed"]
    assert [e["data"]["position"] for e in sealed] == [record["seal"]["position"]]
    assert "设备科投诉:报告延误" in exported.text

    path = tmp_path / "export.json"
    path.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    ok, message = verify_file(path, sessions)
    assert ok, message
    # One character changed in the history (the time of its last event): the export no longer
    # matches its seal.
    last = record["history"]["events"][-1]
    stamp = last["eventTime"]
    last["eventTime"] = stamp[:-2] + ("1" if stamp[-2] != "1" else "2") + stamp[-1]
    path.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    ok, message = verify_file(path, sessions)
    assert not ok and case_id in message and "does NOT match" in message

    # The same history as the Temporal CLI writes it checks against the same seal.
    target = dev_env.client.service_client.config.target_host
    shown = subprocess.run([binary("temporal"), "workflow", "show", "--workflow-id", case_id,
                            "--address", target, "--output", "json"],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    cli_file = tmp_path / f"{case_id}.json"
    cli_file.write_text(shown.stdout, "utf-8")
    assert history_fingerprint(shown.stdout, case_id) == record["seal"]["history_sha256"]
    ok, message = verify_file(cli_file, sessions)
    assert ok, message

    # Auditors replay it: the Temporal CLI's file, the case by id, every closed complaint of
    # the day, and over the API.
    assert (await replay_one(replayer(), case_id, json.loads(shown.stdout))).ok
    env = {**os.environ, "CASEFLOW_TEMPORAL_ADDRESS": target,
           "DATABASE_URL": str(sessions.kw["bind"].url.render_as_string(hide_password=False)),
           "CASEFLOW_LOG_LEVEL": "WARNING"}
    cli = [sys.executable, "-m", "caseflow.cli", "replay"]
    for args in ([case_id], [str(cli_file)],
                 ["--kind", "complaint", "--from", datetime.now(timezone.utc).date().isoformat()]):
        done = subprocess.run([*cli, *args], capture_output=True, text=True, env=env, timeout=120)
        said = done.stdout + done.stderr
        assert done.returncode == 0 and "FAIL" not in said, said
        assert any(line.startswith("OK") and case_id in line for line in said.splitlines()), said
    replayed = await api.post("/v1/audit/replay", json={"case_id": case_id},
                              headers=headers(tokens, "auditor"))
    assert replayed.status_code == 200 and replayed.json()["ok"] is True, replayed.text
    for body, role, status in (({"case_id": "CP-19990101-000001"}, "auditor", 404),
                               ({"case_id": case_id}, "hotline", 403), ({}, "auditor", 422)):
        response = await api.post("/v1/audit/replay", json=body, headers=headers(tokens, role))
        assert response.status_code == status, (body, role, response.text)


async def test_the_cases_csv_keeps_chinese_text_and_filters(api, tokens):
    case_id = await closed_complaint(api, tokens)
    await asyncio.sleep(0.3)
    response = await api.get("/v1/exports/cases.csv", params={"kind": "complaint"},
                             headers=headers(tokens, "auditor"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    text = response.content.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("case_id,kind,status")
    row = next(line for line in lines if line.startswith(case_id))
    assert ",complaint," in row and "设备科投诉:报告延误" in row
    assert all(",complaint," in line for line in lines[1:])
    assert (await api.get("/v1/exports/cases.csv")).status_code == 401


async def test_the_cases_csv_never_hands_a_spreadsheet_a_formula(api, tokens):
    """A symptom that a spreadsheet would run (CSV injection) is exported as text: the cell
    gets a leading apostrophe (OWASP), whatever character starts the formula."""
    formulas = ["+cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\")", "-2+3", "@SUM(A1)"]
    opened = {await open_case(api, tokens, symptom=formula): formula for formula in formulas}
    response = await api.get("/v1/exports/cases.csv", params={"kind": "repair",
                                                              "limit": 100000},
                             headers=headers(tokens, "auditor"))
    rows = {row[0]: dict(zip(COLUMNS, row, strict=True))
            for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig")))}
    for case_id, formula in opened.items():
        assert rows[case_id]["title"] == "'" + formula, rows[case_id]
    # Every cell of every row: none starts a formula.
    assert not [value for row in rows.values() for value in row.values()
                if value.startswith(("=", "+", "-", "@", "\t", "\r"))]


def test_csv_cells_are_text_numbers_or_times_never_formulas():
    assert [cell(v) for v in (None, True, -3, 2.5, "李医生", "=1+1", " =1", "a=b", "\tx",
                              "\rx", "-x", "+x", "@x")] == [
        "", "true", "-3", "2.5", "李医生", "'=1+1", " =1", "a=b", "'\tx", "'\rx", "'-x", "'+x",
        "'@x"]
    assert csv_text(["a", "b"], [["@x", "y"]]) == "a,b\r\n'@x,y\r\n"
