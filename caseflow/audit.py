"""Sealing closed cases and verifying seals: what auditors rely on (docs/audit.md).

The sealer runs in the worker: for each closed case whose workflow has finished, it fetches the
final history, fingerprints it and appends it to the hash chain. `verify_file` checks an
exported history (ours, or the file `temporal workflow show --output json` writes) against its
seal; `store.seals.verify_chain` checks the chain itself.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from caseflow.domain.audit import Seal, fingerprint
from caseflow.store import seals

log = structlog.get_logger(__name__)


def history_fingerprint(history: dict[str, Any] | str, case_id: str = "case") -> str:
    """The fingerprint of a history in any of the JSON forms Temporal tools write: read it as
    a history, then encode it the one canonical way."""
    text = history if isinstance(history, str) else json.dumps(history, ensure_ascii=False)
    return fingerprint(WorkflowHistory.from_json(case_id, text).to_json_dict())


async def seal_once(client: Client, sessions: sessionmaker[Session], page: int = 50) -> int:
    """Seal every closed case whose workflow has finished; returns how many were sealed. A case
    that cannot be sealed now (its workflow still runs, or Temporal does not know it) is
    passed over, never in the way of the others."""
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


async def _seal(client: Client, sessions: sessionmaker[Session], batch: list[Any]) -> int:
    sealed = 0
    for case in batch:
        handle = client.get_workflow_handle(case.case_id)
        try:
            described = await handle.describe()
            if described.status in (None, WorkflowExecutionStatus.RUNNING):
                continue  # closed as a case, but its workflow still follows a linked case
            history = await handle.fetch_history()
        except RPCError as error:  # unknown to Temporal (say, past its retention): not now
            (log.debug if error.status == RPCStatusCode.NOT_FOUND else log.warning)(
                "could not seal", case_id=case.case_id, error=error.message)
            continue
        digest = fingerprint(history.to_json_dict())

        def write(case: Any = case, run_id: str = described.run_id or "",
                  digest: str = digest) -> Seal | None:
            with sessions.begin() as session:
                return seals.append(session, case=case, workflow_id=case.case_id,
                                    run_id=run_id, history_sha256=digest,
                                    now=datetime.now(timezone.utc))

        try:
            seal = await asyncio.to_thread(write)
        except IntegrityError:  # another sealer took the same place: next round
            continue
        if seal is not None:
            sealed += 1
            log.info("case sealed", case_id=case.case_id, position=seal.position,
                     history_sha256=seal.history_sha256, chain_hash=seal.chain_hash)
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


def read_export(path: Path) -> tuple[str, dict[str, Any]]:
    """(case id, history) from a file: our export (`case_id` and `history`), or a bare history
    named after its case (`RP-...json`, as `caseflow replay` reads them)."""
    data = json.loads(path.read_text("utf-8"))
    if isinstance(data, dict) and "history" in data and "case_id" in data:
        return str(data["case_id"]), data["history"]
    return path.name.removesuffix(".json").removesuffix(".history"), data


def verify_file(path: Path, sessions: sessionmaker[Session]) -> tuple[bool, str]:
    """Whether the history in `path` is the one sealed for its case, and why not."""
    case_id, history = read_export(path)
    try:
        digest = history_fingerprint(history, case_id)
    except Exception as error:  # not a history at all
        return False, f"{path}: not a workflow history ({type(error).__name__}: {error})"
    with sessions() as session:
        seal = seals.seal_of(session, case_id)
    if seal is None:
        return False, f"{path}: case {case_id} has no seal (not closed, or not sealed yet)"
    if seal.history_sha256 != digest:
        return False, (f"{path}: case {case_id} does NOT match its seal (link {seal.position}): "
                       f"sealed {seal.history_sha256}, file {digest}")
    return True, f"{path}: case {case_id} matches its seal (link {seal.position}, {digest})"
