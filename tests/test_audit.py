"""Tamper evidence and exports: a closed case's whole record (state, timeline, every history
run) is sealed in a hash chain once it is final; `caseflow audit verify` names the first link
that does not follow, and for an export the case and the part that differs; seals made under
scheme 1 (the history only) still verify; an unsealed record says what it waits for; the CSV
keeps Chinese text and hands no spreadsheet a formula.

Expected hashes are written out here (the canonical text, the documented link formula), never
computed with the functions under test."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from caseflow.api.app import create_app
from caseflow.api.routes.exports import COLUMNS
from caseflow.audit import history_fingerprint, seal_once, verify_file
from caseflow.config import Settings
from caseflow.delivery.channels import LogChannel
from caseflow.delivery.outbox import Dispatcher
from caseflow.domain.audit import GENESIS, record_parts
from caseflow.domain.calendar import WorkingCalendar
from caseflow.domain.spreadsheets import cell, csv_text
from caseflow.replay import replay_one, replayer
from caseflow.store import seals
from caseflow.store.models import Case, CaseEventRow, CaseSeal
from caseflow.store.people import issue_token
from caseflow.temporal import binary
from tests.conftest import namespace_of_its_own, running_worker
from tests.postgres import fresh_database
from tests.test_api import WALK, headers, intake_body, new_key, open_case, timeline_of
from tests.test_complaint_api import complaint_body

HISTORIES = Path(__file__).parent / "histories"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
                   closed_at=now, created_by="test", idempotency_key=f"k{n}-{uuid.uuid4()}",
                   request_hash="h", projection_seq=1)
        session.add(row)
    return row


# A record small enough to write its canonical text by hand (keys sorted, no spaces, UTF-8).
STATE = {"case_id": "CP-20261122-000003", "status": "closed", "note": "已结案",
         "web_ui": "http://temporal/x"}
STATE_TEXT = '{"case_id":"CP-20261122-000003","note":"已结案","status":"closed"}'
TIMELINE = [{"id": "case-1", "source": "case", "at": "2026-11-22T11:00:00Z", "event": "opened"},
            {"id": "seal-9", "source": "seal", "at": "2026-11-22T12:00:00Z", "event": "sealed"}]
TIMELINE_TEXT = '[{"at":"2026-11-22T11:00:00Z","event":"opened","id":"case-1","source":"case"}]'
HISTORY = {"events": [{"eventId": "1", "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"}]}
HISTORY_TEXT = '[{"eventId":"1","eventType":"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"}]'


def manifest_text(case_id: str) -> str:
    return ('{"attachments":[],"case_id":"' + case_id + '","histories":["' + sha(HISTORY_TEXT)
            + '"],"kind":"complaint","scheme":2,"state":"' + sha(STATE_TEXT)
            + '","timeline":"' + sha(TIMELINE_TEXT) + '"}')


def test_a_record_is_fingerprinted_part_by_part_in_its_canonical_text():
    parts = record_parts(case_id=STATE["case_id"], kind="complaint", state=STATE,
                         timeline=TIMELINE, histories=[HISTORY])
    assert (parts.state, parts.timeline, parts.histories) == (
        sha(STATE_TEXT), sha(TIMELINE_TEXT), [sha(HISTORY_TEXT)])
    assert parts.sha256 == sha(manifest_text(STATE["case_id"])) == \
        "759e4de0709dff4b84e32f4f360e630554c0d75417d8f8941b2aaa8fbe2b27ba"


def test_the_chain_links_every_seal_and_names_the_first_altered_record(chain_db):
    url, sessions = chain_db
    cases = [closed_case(sessions, n) for n in range(1, 5)]
    for n, case in enumerate(cases, 1):
        with sessions.begin() as session:
            if n <= 2:  # sealed under scheme 1: the history's fingerprint only
                seal = seals.append(session, case=case, workflow_id=case.case_id or "",
                                    run_id="r", history_sha256=f"{n:064x}",
                                    now=datetime.now(timezone.utc))
            else:
                parts = record_parts(case_id=case.case_id or "", kind="complaint", state=STATE,
                                     timeline=TIMELINE, histories=[HISTORY])
                seal = seals.append(session, case=case, workflow_id=case.case_id or "",
                                    run_id="r", history_sha256=parts.histories[-1],
                                    parts=parts, now=datetime.now(timezone.utc),
                                    record={"state": STATE, "timeline": TIMELINE})
            assert seal is not None and seal.position == n
            again = seals.append(session, case=case, workflow_id="x", run_id="r",
                                 history_sha256="f" * 64, now=datetime.now(timezone.utc))
            assert again is None, "a case is sealed once"

    # Each link's hash as docs/audit.md writes it: SHA-256(previous|case|fingerprint|close
    # time), and "|2" under scheme 2, whose fingerprint is that of the record's manifest.
    with sessions() as session:
        links = list(session.scalars(select(CaseSeal).order_by(CaseSeal.position)))
    assert links[0].previous_hash == GENESIS
    assert links[0].chain_hash == \
        "e19b71c76bd4ee08d22db67952e437aa3bad90b6563b05c9611fe131ed86ee55"
    assert links[1].chain_hash == sha(f"{links[0].chain_hash}|CP-20261122-000002|{2:064x}|"
                                      "2026-11-22T10:00:00+00:00")
    assert links[2].scheme == 2 and links[2].record_sha256 == sha(manifest_text(
        "CP-20261122-000003"))
    assert links[2].chain_hash == sha(f"{links[1].chain_hash}|CP-20261122-000003|"
                                      f"{links[2].record_sha256}|2026-11-22T11:00:00+00:00|2")
    assert links[3].previous_hash == links[2].chain_hash
    with sessions() as session:
        check = seals.verify_chain(session)
    assert (check.ok, check.links) == (True, 4)

    cli = [sys.executable, "-m", "caseflow.cli", "audit", "verify"]
    env = {**os.environ, "DATABASE_URL": url, "CASEFLOW_LOG_LEVEL": "WARNING"}
    done = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and "intact" in done.stdout, (done.stdout, done.stderr)

    def verified() -> tuple[bool, int | None, str]:
        with sessions() as session:
            found = seals.verify_chain(session)
        return found.ok, found.first_bad, found.reason

    def altered(position: int, **values: Any) -> None:
        with sessions.begin() as session:
            session.execute(update(CaseSeal).where(CaseSeal.position == position)
                            .values(**values))

    # One character of one fingerprint: that link no longer follows.
    altered(2, history_sha256="e" + f"{2:064x}"[1:])
    done = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1 and "link 2" in done.stdout and "CP-20261122-000002" in \
        done.stdout, (done.stdout, done.stderr)
    altered(2, history_sha256=f"{2:064x}")
    # The sealed state of a scheme-2 link, or its manifest, changed in the database.
    original = links[2].record
    altered(3, record=original.replace("已结案", "已结案 "))
    assert verified() == (False, 3, "its sealed state was altered")
    altered(3, record=original, parts={**links[2].parts, "timeline": "0" * 64})
    assert verified() == (False, 3, "its manifest of parts was altered")
    altered(3, parts=links[2].parts)
    assert verified()[0]

    # Tampered but consistent: link 2 removed, the later links moved up and the new link 2
    # given link 1's hash as its previous one. Every stored field agrees with its neighbour;
    # only the hashes, which cover the link before, show the cut.
    with sessions.begin() as session:
        session.execute(CaseSeal.__table__.delete().where(CaseSeal.position == 2))
        for position in (3, 4):
            session.execute(update(CaseSeal).where(CaseSeal.position == position)
                            .values(position=position - 1))
        session.execute(update(CaseSeal).where(CaseSeal.position == 2)
                        .values(previous_hash=links[0].chain_hash))
    ok, first_bad, reason = verified()
    assert (ok, first_bad) == (False, 2) and "altered" in reason, reason
    # A link removed and nothing else touched: named as missing.
    with sessions.begin() as session:
        session.execute(CaseSeal.__table__.delete().where(CaseSeal.position == 2))
    ok, first_bad, reason = verified()
    assert (ok, first_bad) == (False, 2) and "missing" in reason, reason


def test_an_export_sealed_under_scheme_1_still_verifies_its_history(chain_db, tmp_path):
    """Seals made before scheme 2 covered the history only: an export of such a case (the
    old form, one `history`) checks against it, and says so."""
    _, sessions = chain_db
    history = json.loads((HISTORIES / "repair_happy_path.json").read_text("utf-8"))
    case = closed_case(sessions, 7)
    with sessions.begin() as session:
        seals.append(session, case=case, workflow_id=case.case_id or "", run_id="r",
                     history_sha256=history_fingerprint(history), now=datetime.now(timezone.utc))
    path = tmp_path / "old-export.json"
    path.write_text(json.dumps({"case_id": case.case_id, "kind": "complaint",
                                "state": {"status": "closed"}, "timeline": [],
                                "history": history}, ensure_ascii=False), "utf-8")
    ok, message = verify_file(path, sessions)
    assert ok and "scheme 1" in message and case.case_id in message, message
    history["events"][-1]["eventTime"] = "2000-01-01T00:00:00Z"
    path.write_text(json.dumps({"case_id": case.case_id, "history": history}), "utf-8")
    ok, message = verify_file(path, sessions)
    assert not ok and "history differs" in message, message


# ----- real cases, closed, sealed, exported: a stack of this module's own --------------------------

@dataclass
class Stack:
    api: httpx.AsyncClient
    sessions: Any
    url: str
    tokens: dict[str, str]
    client: Any

    def drain(self) -> None:
        """Deliver every pending notification (everyone's channel is the log)."""
        always = WorkingCalendar(name="7x24", always_open=True)
        Dispatcher(self.sessions, {"log": LogChannel()}, lambda name, at: always).drain_once(
            datetime.now(timezone.utc) + timedelta(days=1))

    def env(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.url, "CASEFLOW_LOG_LEVEL": "WARNING",
                "CASEFLOW_TEMPORAL_ADDRESS": self.client.service_client.config.target_host,
                "CASEFLOW_TEMPORAL_NAMESPACE": self.client.namespace}


@pytest.fixture(scope="module")
async def stack(database_url, dev_env) -> AsyncIterator[Stack]:  # type: ignore[no-untyped-def]
    """The API and a worker on a database of their own (the test drains its outbox, which a
    case must have settled before it is sealed), in a namespace of their own on the session's
    dev server."""
    client = await namespace_of_its_own(dev_env, "audit")
    with fresh_database(database_url, "audit") as (url, sessions):
        with sessions.begin() as session:
            tokens = {role: issue_token(session, holder, "audit")[0] for role, holder in {
                "hotline": "HL-01", "supervisor": "SV-01", "engineer": "EN-01",
                "manager": "MG-01", "auditor": "AU-01"}.items()}
        async with running_worker(client, sessions, "audit") as worker:
            app = create_app(Settings(database_url=url, task_queue=worker.task_queue,
                                      environment="test"), temporal=client)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://caseflow.test", timeout=30) as api:
                yield Stack(api, sessions, url, tokens, client)


async def withdrawn_complaint(stack: Stack, matter: str = "设备科投诉:报告延误") -> str:
    created = await stack.api.post("/v1/complaints", json=complaint_body(matter=matter),
                                   headers=headers(stack.tokens, "hotline", new_key()))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    withdrawn = await stack.api.post(f"/v1/cases/{case_id}/actions/withdraw",
                                     json={"reason": "客户撤诉"},
                                     headers=headers(stack.tokens, "hotline", new_key()))
    assert withdrawn.status_code == 200, withdrawn.text
    await stack.client.get_workflow_handle(case_id).result()
    return case_id


async def view_of(stack: Stack, case_id: str) -> dict[str, Any]:
    response = await stack.api.get(f"/v1/cases/{case_id}", headers=headers(stack.tokens,
                                                                            "auditor"))
    assert response.status_code == 200, response.text
    return response.json()


async def exported(stack: Stack, case_id: str) -> dict[str, Any]:
    response = await stack.api.get(f"/v1/cases/{case_id}/export",
                                   headers=headers(stack.tokens, "auditor"))
    assert response.status_code == 200, response.text
    return response.json()


def verify_cli(stack: Stack, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "caseflow.cli", "audit", "verify",
                           *map(str, paths)], capture_output=True, text=True, env=stack.env(),
                          timeout=60)


async def test_a_closed_case_is_sealed_whole_and_an_altered_export_names_the_part(
        stack, tmp_path: Path):
    case_id = await withdrawn_complaint(stack)
    # Closed and finished, but a notification about it is still on its way: not final yet.
    assert await seal_once(stack.client, stack.sessions) == 0
    record = (await view_of(stack, case_id))["record"]
    assert not record["sealed"] and "pending notification" in record["waits_for"], record
    stack.drain()
    assert await seal_once(stack.client, stack.sessions) == 1
    assert (await view_of(stack, case_id))["record"]["sealed"] is True

    record = await exported(stack, case_id)
    seal = record["seal"]
    assert seal is not None and seal["case_id"] == case_id and seal["scheme"] == 2
    assert record["record_sha256"] == seal["record_sha256"] and record["parts"] == seal["parts"]
    assert record["state"]["status"] == "withdrawn" and record["waits_for"] is None
    assert len(record["histories"]) == 1 and record["history"] == record["histories"][0]
    assert [e["data"]["position"] for e in record["timeline"] if e["event"] == "sealed"] == \
        [seal["position"]]
    assert "设备科投诉:报告延误" in json.dumps(record, ensure_ascii=False)

    def written(data: dict[str, Any], name: str) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        return path

    ok, message = verify_file(written(record, "export.json"), stack.sessions)
    assert ok, message
    # What an auditor reads, changed by one character: the case and the part are named.
    status = json.loads(json.dumps(record))
    status["state"]["status"] = "Withdrawn"
    timeline = json.loads(json.dumps(record))
    at = timeline["timeline"][0]["at"]
    timeline["timeline"][0]["at"] = at[:18] + ("1" if at[18] != "1" else "2") + at[19:]
    history = json.loads(json.dumps(record))
    for run in (history["history"], history["histories"][0]):
        run["events"][-1]["eventTime"] = "2000-01-01T00:00:00Z"
    for altered, part in ((status, "state"), (timeline, "timeline"), (history, "history run 1")):
        ok, message = verify_file(written(altered, f"{part}.json"), stack.sessions)
        assert not ok and case_id in message and f"its {part} differs" in message, message
    done = verify_cli(stack, tmp_path / "export.json", tmp_path / "state.json")
    assert done.returncode == 1, (done.stdout, done.stderr)
    ok_line, fail_line = done.stdout.splitlines()
    assert ok_line.startswith("OK") and case_id in ok_line
    assert fail_line.startswith("FAIL") and case_id in fail_line and "state" in fail_line
    assert "Traceback" not in done.stderr

    # The history as the Temporal CLI writes it is one run of the sealed record.
    target = stack.client.service_client.config.target_host
    shown = subprocess.run([binary("temporal"), "workflow", "show", "--workflow-id", case_id,
                            "--address", target, "--namespace", stack.client.namespace,
                            "--output", "json"],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    cli_file = tmp_path / f"{case_id}.json"
    cli_file.write_text(shown.stdout, "utf-8")
    assert history_fingerprint(shown.stdout, case_id) == seal["parts"]["histories"][0]
    ok, message = verify_file(cli_file, stack.sessions)
    assert ok and "run 1" in message, message

    # Auditors replay it: the Temporal CLI's file, the case by id, every closed complaint of
    # the day, and over the API.
    assert (await replay_one(replayer(), case_id, json.loads(shown.stdout))).ok
    cli = [sys.executable, "-m", "caseflow.cli", "replay"]
    for args in ([case_id], [str(cli_file)],
                 ["--kind", "complaint", "--from", datetime.now(timezone.utc).date().isoformat()]):
        done = subprocess.run([*cli, *args], capture_output=True, text=True, env=stack.env(),
                              timeout=120)
        assert done.returncode == 0 and "FAIL" not in done.stdout, (done.stdout, done.stderr)
        assert any(line.startswith("OK") and case_id in line
                   for line in done.stdout.splitlines()), done.stdout
    replayed = await stack.api.post("/v1/audit/replay", json={"case_id": case_id},
                                    headers=headers(stack.tokens, "auditor"))
    assert replayed.status_code == 200 and replayed.json()["ok"] is True, replayed.text
    for body, role, status_code in (({"case_id": "CP-19990101-000001"}, "auditor", 404),
                                    ({"case_id": case_id}, "hotline", 403),
                                    ({}, "auditor", 422)):
        response = await stack.api.post("/v1/audit/replay", json=body,
                                        headers=headers(stack.tokens, role))
        assert response.status_code == status_code, (body, role, response.text)


async def test_a_repair_held_by_its_complaint_says_what_its_seal_waits_for(stack, tmp_path):
    """A dissatisfied callback closes the repair (已结案) and opens a complaint; the repair's
    workflow follows the complaint, so its record is not final: the view, the export and
    `caseflow audit verify` say it is sealed when that complaint closes. Then it is."""
    created = await stack.api.post("/v1/repairs", json=intake_body(severity="general"),
                                   headers=headers(stack.tokens, "hotline", new_key()))
    assert created.status_code == 201, created.text
    repair = created.json()["case_id"]
    for _, role, action, payload in WALK:
        if action == "callback":
            payload = {"satisfaction": 1, "comment": "很不满意"}
        response = await stack.api.post(f"/v1/cases/{repair}/actions/{action}", json=payload,
                                        headers=headers(stack.tokens, role, new_key()))
        assert response.status_code == 200, (action, response.text)
    view = await view_of(stack, repair)
    for _ in range(100):  # the complaint is opened by an activity after the callback
        if any(c["kind"] == "complaint" for c in view["linked_cases"]):
            break
        view = await view_of(stack, repair)
    # (its reportability review is linked too, and sealed on its own)
    (complaint,) = [c["case_id"] for c in view["linked_cases"] if c["kind"] == "complaint"]
    assert view["status"] == "closed" and view["closed_at"]
    waits = f"sealed when linked complaint {complaint} closes"
    assert view["record"] == {"sealed": False, "position": None, "waits_for": waits,
                              "waits": "linked_case", "waits_params": {"cases": [complaint]}}
    record = await exported(stack, repair)
    assert record["seal"] is None and record["waits_for"] == waits
    path = tmp_path / "repair.json"
    path.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    done = verify_cli(stack, path)
    assert done.returncode == 1 and repair in done.stdout and waits in done.stdout, done.stdout

    withdrawn = await stack.api.post(f"/v1/cases/{complaint}/actions/withdraw",
                                     json={"reason": "客户撤诉"},
                                     headers=headers(stack.tokens, "hotline", new_key()))
    assert withdrawn.status_code == 200, withdrawn.text
    await stack.client.get_workflow_handle(repair).result()
    stack.drain()
    await seal_once(stack.client, stack.sessions)
    for case_id in (repair, complaint):
        assert (await view_of(stack, case_id))["record"]["sealed"] is True, case_id


async def test_the_cases_csv_keeps_chinese_text_and_filters(api, tokens):
    created = await api.post("/v1/complaints", json=complaint_body(matter="设备科投诉:报告延误"),
                             headers=headers(tokens, "hotline", new_key()))
    case_id = created.json()["case_id"]
    await timeline_of(api, tokens, case_id, at_least=1)  # its row is written with its first event
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


async def test_a_repair_that_continued_as_new_is_one_case_to_read_seal_export_and_replay(
        stack, tmp_path: Path):
    """Walked through the API with a progress report a day until its workflow continued as new:
    its view, timeline, export, seal and replay cover both runs."""
    case_id = await open_case(stack.api, stack.tokens, severity="general")

    async def act(role: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        done = await stack.api.post(f"/v1/cases/{case_id}/actions/{action}", json=payload,
                                    headers=headers(stack.tokens, role, new_key()))
        assert done.status_code == 200, done.text
        return done.json()

    for _, role, action, payload in WALK[:6]:
        await act(role, action, payload)
    reports, view = 0, {"run": 1}
    while view["run"] == 1:
        reports += 1
        view = await act("engineer", "progress", {"note": f"第{reports}天: 等待球管到货"})
        assert reports < 400, "never continued as new"
    for _, role, action, payload in WALK[6:]:
        view = await act(role, action, payload)
    assert view["status"] == "closed" and view["run"] == 2
    # The view: every step counted, every round of the daily report (the first run's from the
    # case row), its escalations.
    assert view["earlier_steps"] + len(view["steps"]) == 1 + 6 + reports + 3
    rounds = sorted(c["round"] for c in view["commitments"] if c["key"] == "progress")
    assert rounds == list(range(1, reports + 2))
    # The timeline: every event of both runs, numbered without a gap.
    with stack.sessions() as session:
        rows = list(session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id)
                                    .order_by(CaseEventRow.seq)))
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert len({r.run_id for r in rows}) == 2
    # Sealed whole: the export has both runs and verifies; replay takes both runs.
    await stack.client.get_workflow_handle(case_id).result()
    stack.drain()
    await seal_once(stack.client, stack.sessions)
    record = await exported(stack, case_id)
    assert record["seal"] is not None and len(record["histories"]) == 2
    path = tmp_path / "continued.json"
    path.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    ok, message = verify_file(path, stack.sessions)
    assert ok, message
    replayed = await stack.api.post("/v1/audit/replay", json={"case_id": case_id},
                                    headers=headers(stack.tokens, "auditor"))
    assert replayed.status_code == 200 and replayed.json()["ok"], replayed.text
    cli = subprocess.run([sys.executable, "-m", "caseflow.cli", "replay", str(path)],
                         capture_output=True, text=True, env=stack.env(), timeout=120)
    assert cli.returncode == 0, (cli.stdout, cli.stderr)
    assert [line.split()[0] for line in cli.stdout.splitlines()] == ["OK", "OK"]
    assert "(run 2 of 2)" in cli.stdout
