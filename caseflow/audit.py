"""Sealing closed cases and verifying seals: what auditors rely on (docs/audit.md).

A case's record is its state (the workflow's view), its timeline and every run of its workflow
history (`case_histories`, oldest first). The sealer runs in the worker: once a closed case is
final (its workflow finished, every notification about it delivered or given up) it takes the
record, fingerprints each part (scheme 2, domain/audit.py) and appends the case to the hash
chain, keeping the state and timeline as sealed. `verify_file` checks an export (or a bare
history as `temporal workflow show --output json` writes it) against the case's seal, naming
the part that differs; `store.seals.verify_chain` checks the chain itself.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from caseflow.domain.audit import (
    RecordParts,
    Seal,
    fingerprint,
    record_parts,
    sealed_state,
    sealed_timeline,
)
from caseflow.domain.cases import RecordStatus, with_earlier_runs
from caseflow.domain.kinds import KINDS
from caseflow.domain.report_file import FORMAT as REPORT_FILE
from caseflow.domain.report_file import check_report_file
from caseflow.store import seals
from caseflow.store import timeline as case_timeline
from caseflow.store.db import unit
from caseflow.store.models import Case

log = structlog.get_logger(__name__)

QUERY_TIMEOUT = timedelta(seconds=10)


# ----- the record of a case ----------------------------------------------------------------------

def history_fingerprint(history: dict[str, Any] | str, case_id: str = "case") -> str:
    """The fingerprint of a history in any of the JSON forms Temporal tools write: read it as
    a history, then encode it the one canonical way."""
    text = history if isinstance(history, str) else json.dumps(history, ensure_ascii=False)
    return fingerprint(WorkflowHistory.from_json(case_id, text).to_json_dict())


async def case_histories(client: Client, case_id: str) -> list[dict[str, Any]]:
    """Every run of the case's workflow, oldest first, each as Temporal's JSON history. A case
    that continued as new has several runs under one workflow id: the latest run's first event
    names the run it continued (`continuedExecutionRunId`), and so on back to the first. Walking
    that chain (rather than listing the id's executions, which visibility answers only
    eventually) never misses a run. Raises RPCError (NOT_FOUND: a case Temporal does not know,
    or no longer keeps)."""
    runs: list[dict[str, Any]] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(case_id, run_id=run_id).fetch_history()
        runs.append(history.to_json_dict())
        started = history.events[0] if history.events else None
        if started is None or started.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            break
        run_id = started.workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            break
    runs.reverse()
    return runs


def stored_rounds(sessions: sessionmaker[Session], case_id: str) -> list[dict[str, Any]]:
    """Every commitment round the case row keeps (earlier runs' too)."""
    with sessions() as session:
        return session.scalar(select(Case.commitments).where(Case.case_id == case_id)) or []


async def case_state(client: Client, case_id: str, kind: str,
                     timeout: timedelta = QUERY_TIMEOUT) -> BaseModel:
    """The case's view as its workflow answers the `state` query now."""
    return await client.get_workflow_handle(case_id).query(
        "state", result_type=KINDS[kind].view, rpc_timeout=timeout)


@dataclass(frozen=True)
class Record:
    """What a seal covers, as JSON data."""

    case_id: str
    kind: str
    state: dict[str, Any]
    timeline: list[dict[str, Any]]
    histories: list[dict[str, Any]]
    attachments: list[dict[str, str]]

    @property
    def parts(self) -> RecordParts:
        return record_parts(case_id=self.case_id, kind=self.kind, state=self.state,
                            timeline=self.timeline, histories=self.histories,
                            attachments=self.attachments)


async def live_record(client: Client, sessions: sessionmaker[Session], case_id: str,
                      kind: str) -> Record:
    """The record as it is now: the view from the workflow, the timeline from the database,
    every history run from Temporal, the fingerprints of the case's files."""
    state = with_earlier_runs(await case_state(client, case_id, kind),
                              await asyncio.to_thread(stored_rounds, sessions, case_id))
    entries = await asyncio.to_thread(unit, sessions, case_timeline.entries, case_id,
                                      ("case", "notification"))
    histories = await case_histories(client, case_id)
    files = await asyncio.to_thread(unit, sessions, seals.attachment_fingerprints, case_id)
    return Record(case_id, kind, sealed_state(state.model_dump(mode="json")),
                  sealed_timeline([e.model_dump(mode="json") for e in entries]), histories,
                  files)


# ----- sealing ---------------------------------------------------------------------------------------

async def seal_once(client: Client, sessions: sessionmaker[Session], page: int = 50) -> int:
    """Seal every closed case whose record is final; returns how many were sealed. A case that
    cannot be sealed now (its workflow still runs, a notification is still on its way, Temporal
    does not know it) is passed over, never in the way of the others."""
    sealed, after = 0, 0
    while True:
        batch = await asyncio.to_thread(_unsealed, sessions, after, page)
        if not batch:
            return sealed
        after = batch[-1].seq
        sealed += await _seal(client, sessions, batch)


def _unsealed(sessions: sessionmaker[Session], after: int, page: int) -> list[Any]:
    with sessions() as session:
        return seals.unsealed(session, after, page)


def _pending(sessions: sessionmaker[Session], batch: list[Case]) -> set[str]:
    with sessions() as session:
        return seals.with_pending_notifications(session, [c.case_id or "" for c in batch])


async def _seal(client: Client, sessions: sessionmaker[Session], batch: list[Case]) -> int:
    sealed = 0
    pending = await asyncio.to_thread(_pending, sessions, batch)
    for case in batch:
        assert case.case_id is not None
        if case.case_id in pending:
            continue  # its timeline is not final: a message is still on its way
        try:
            described = await client.get_workflow_handle(case.case_id).describe()
            if described.status in (None, WorkflowExecutionStatus.RUNNING):
                continue  # closed as a case, but its workflow still follows a linked case
            record = await live_record(client, sessions, case.case_id, case.kind)
        except RPCError as error:  # unknown to Temporal (say, past its retention): not now
            (log.debug if error.status == RPCStatusCode.NOT_FOUND else log.warning)(
                "could not seal", case_id=case.case_id, error=error.message)
            continue
        except Exception as error:  # a query the workflow could not answer: not now
            log.warning("could not seal", case_id=case.case_id, error=str(error))
            continue
        parts = record.parts

        def write(case: Case = case, run_id: str = described.run_id or "",
                  parts: RecordParts = parts, record: Record = record) -> Seal | None:
            with sessions.begin() as session:
                return seals.append(session, case=case, workflow_id=case.case_id or "",
                                    run_id=run_id, history_sha256=parts.histories[-1],
                                    parts=parts, now=datetime.now(timezone.utc),
                                    record={"state": record.state, "timeline": record.timeline})

        try:
            seal = await asyncio.to_thread(write)
        except IntegrityError:  # another sealer took the same place: next round
            continue
        if seal is not None:
            sealed += 1
            log.info("case sealed", case_id=case.case_id, position=seal.position,
                     record_sha256=seal.record_sha256, chain_hash=seal.chain_hash)
    return sealed


async def run_sealer(client: Client, sessions: sessionmaker[Session], poll_seconds: float,
                     stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await seal_once(client, sessions)
        except Exception:  # the database or Temporal may be away for a while
            log.exception("sealing failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
        except TimeoutError:
            pass


# ----- what an unsealed record waits for ----------------------------------------------------------

def record_status(session: Session, case: Case, running: bool | None = None,
                  poll_seconds: float | None = None) -> RecordStatus:
    """Whether the case is sealed, and if not what its seal waits for, in words. `running`:
    whether its workflow still runs, when the caller asked Temporal (None: not known)."""
    assert case.case_id is not None
    found = seals.seal_of(session, case.case_id)
    if found is not None:
        return RecordStatus(sealed=True, position=found.position)
    if case.status == "void":
        return waiting("void", "never sealed: the number is void (its case never started)")
    if case.closed_at is None:
        return waiting("case_open", "sealed once the case is closed")
    holding = seals.holding_cases(session, case.case_id)
    if holding and running is not False:
        names = ", ".join(f"{c.kind} {c.case_id}" for c in holding)
        return waiting("linked_case", f"sealed when linked {names} closes",
                       cases=[c.case_id for c in holding])
    if running:
        return waiting("workflow_running", "sealed once its workflow has finished")
    pending = seals.pending_notifications(session, case.case_id)
    if pending:
        return waiting("notifications", (
            f"sealed once its {pending} pending notification{'s' if pending > 1 else ''} "
            f"{'are' if pending > 1 else 'is'} delivered or given up"), count=pending)
    every = f" (every {poll_seconds:g} s)" if poll_seconds else ""
    if running is None:
        return waiting("sealer", "sealed by the worker's sealer once its workflow has finished"
                       + every, seconds=poll_seconds)
    return waiting("next_round", f"sealed at the sealer's next round{every}",
                   seconds=poll_seconds)


def waiting(code: str, words: str, **params: Any) -> RecordStatus:
    """An unsealed record: what it waits for in words (English, for the CLI and the export)
    and as a code with parameters (for a reader to word in its own language)."""
    return RecordStatus(sealed=False, waits_for=words, waits=code, waits_params=params)


# ----- verifying an export -------------------------------------------------------------------------

def read_export(path: Path) -> tuple[str, dict[str, Any]]:
    """(case id, the file's data): our export (`case_id` with `history` or `histories`), an
    adverse event's report file (its `format`), or a bare history named after its case
    (`RP-...json`, as `caseflow replay` reads them), as {"histories": [it]}."""
    data = json.loads(path.read_text("utf-8"))
    if isinstance(data, dict) and "case_id" in data and ("history" in data or
                                                         "histories" in data or
                                                         data.get("format") == REPORT_FILE):
        return str(data["case_id"]), data
    return path.name.removesuffix(".json").removesuffix(".history"), {"histories": [data]}


def verify_file(path: Path, sessions: sessionmaker[Session]) -> tuple[bool, str]:
    """Whether the record in `path` is the one sealed for its case, and if not which part
    differs."""
    try:
        case_id, data = read_export(path)
    except (OSError, ValueError) as error:
        return False, f"{path}: not an export or a history ({error})"
    if data.get("format") == REPORT_FILE:
        return verify_report_file(path, case_id, data, sessions)
    histories = data.get("histories") or [data["history"]]
    try:
        digests = [history_fingerprint(h, case_id) for h in histories]
    except Exception as error:  # not a history at all
        return False, f"{path}: not a workflow history ({type(error).__name__}: {error})"
    seal, waiting = _seal_or_wait(sessions, case_id)
    if seal is None:
        why = f": {waiting}" if waiting else " (no such case)"
        return False, f"{path}: case {case_id} has no seal yet{why}"
    where = f"case {case_id} (link {seal.position}, scheme {seal.scheme})"
    if "history" in data and "histories" in data and \
            history_fingerprint(data["history"], case_id) != digests[-1]:
        return False, (f"{path}: {where}: its `history` is not the last run of its "
                       "`histories`")
    if seal.scheme < 2 or seal.parts is None:
        if seal.history_sha256 != digests[-1]:
            return False, (f"{path}: {where} does NOT match its seal: its history differs "
                           f"(sealed {seal.history_sha256}, file {digests[-1]})")
        return True, (f"{path}: {where} matches its seal ({seal.history_sha256}); scheme 1 "
                      "sealed the history only")
    if "state" not in data or "timeline" not in data:  # a bare history: one run of the case
        if digests[-1] in seal.parts.histories:
            run = seal.parts.histories.index(digests[-1]) + 1
            return True, (f"{path}: history run {run} of {where} matches its seal (the state "
                          "and the timeline are not in this file)")
        return False, f"{path}: {where} does NOT match its seal: this history is none of its runs"
    found = record_parts(case_id=case_id, kind=str(data.get("kind", seal.kind)),
                         state=data["state"] or {}, timeline=data["timeline"] or [],
                         histories=histories, attachments=data.get("attachments") or [])
    differ = seal.parts.differences(found)
    if differ:
        return False, (f"{path}: {where} does NOT match its seal: its {', '.join(differ)} "
                       f"differ{'s' if len(differ) == 1 else ''}")
    return True, f"{path}: {where} matches its seal ({seal.record_sha256})"


def _seal_or_wait(sessions: sessionmaker[Session], case_id: str) -> tuple[Any, str | None]:
    """The case's seal, or (None and) what its seal waits for (None: no such case)."""
    with sessions() as session:
        seal = seals.seal_of(session, case_id)
        case = session.scalar(select(Case).where(Case.case_id == case_id))
        waiting = record_status(session, case).waits_for \
            if case is not None and seal is None else None
    return seal, waiting


def verify_report_file(path: Path, case_id: str, data: dict[str, Any],
                       sessions: sessionmaker[Session]) -> tuple[bool, str]:
    """Whether an adverse event's report file was made of the record sealed for its case: its
    source's state and timeline have the seal's fingerprints (the seal as the database keeps
    it, not the copy in the file), and the file made again from that source is the file."""
    seal, waiting = _seal_or_wait(sessions, case_id)
    if seal is None:
        why = f": {waiting}" if waiting else " (no such case)"
        return False, f"{path}: report file of case {case_id}: the case has no seal yet{why}"
    where = f"report file of case {case_id} (link {seal.position}, scheme {seal.scheme})"
    if seal.parts is None:
        return False, f"{path}: {where}: the seal covers the history only (scheme 1)"
    source = data.get("source") or {}
    found = record_parts(case_id=case_id, kind=seal.kind, state=source.get("state") or {},
                         timeline=source.get("timeline") or [], histories=[])
    differ = [name for name in ("state", "timeline")
              if getattr(found, name) != getattr(seal.parts, name)]
    if differ:
        return False, (f"{path}: {where} does NOT match its seal: its source's "
                       f"{' and '.join(differ)} differ{'s' if len(differ) == 1 else ''}")
    altered = check_report_file(data)
    if altered:
        return False, (f"{path}: {where} does NOT follow from its sealed source: its "
                       f"{', '.join(altered)} differ{'s' if len(altered) == 1 else ''}")
    return True, f"{path}: {where} was made of its sealed record ({seal.record_sha256})"
