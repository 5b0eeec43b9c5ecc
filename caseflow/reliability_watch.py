"""The worker's reliability watch: it pokes the uptime guard of every contract whose units' cases
changed (starting the guard if it is not running), and records the recurring faults those changes
make (docs/reports.md).

It follows the timeline and the imported history by their row ids, so one round costs two small
indexed queries when nothing changed. Its first round (and every round after the policy in
force changed) pokes every guaranteed contract and looks at every model. Nothing here needs to
run exactly once: a poke only makes a guard look again, and a pattern is recorded and notified
once by its unique key, whichever worker gets there first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from caseflow.domain.guarantee import GuardStart
from caseflow.domain.kinds import KINDS
from caseflow.store import patterns
from caseflow.store.guarantees import guaranteed_contracts, guard_id
from caseflow.store.models import Case, CaseEventRow, Equipment, ImportedRecord
from caseflow.store.policies import PolicySource
from caseflow.workflows.uptime import UptimeGuardWorkflow

log = structlog.get_logger(__name__)
OVERLAP = 1000  # timeline ids looked at again each round (ids committed out of order)


@dataclass
class Round:
    poked: list[str] = field(default_factory=list)  # contract codes
    notified: list[str] = field(default_factory=list)  # pattern keys


@dataclass
class _Changes:
    contracts: set[str]  # of units whose cases changed (or got imported history)
    models: set[tuple[str, str]]  # (brand, model) of units with a new diagnosis or import
    last_event: int
    last_import: int
    seen: set[int]  # timeline ids of the overlap handled after this round


class ReliabilityWatch:
    """`once()` is one round. A contract is poked, and a model searched for patterns, at most
    every `spacing` seconds (what changed meanwhile waits for the next turn), so a unit with a
    busy timeline costs a look a minute, not one per event."""

    def __init__(self, client: Client, sessions: sessionmaker[Session], policies: PolicySource,
                 task_queue: str, spacing: float = 60.0) -> None:
        self.client = client
        self.sessions = sessions
        self.policies = policies
        self.task_queue = task_queue
        self.spacing = timedelta(seconds=spacing)
        self.last_event: int | None = None
        self.last_import: int | None = None
        self.version: str | None = None
        self.waiting_contracts: set[str] = set()
        self.waiting_models: set[tuple[str, str]] = set()
        self.turns: dict[object, datetime] = {}  # contract or model -> when last handled
        self.seen: set[int] = set()  # timeline ids of the overlap already handled

    async def once(self, now: datetime | None = None) -> Round:
        """One round: what changed since the last, the guards poked, the patterns recorded."""
        now = now or datetime.now(timezone.utc)
        book = self.policies.current()
        everything = self.last_event is None or book.version != self.version
        changes = await asyncio.to_thread(self._changes, everything)
        with self.sessions() as session:
            guaranteed = set(guaranteed_contracts(session, book))
        done = Round()
        contracts = guaranteed if everything else \
            (self.waiting_contracts | changes.contracts) & guaranteed
        for code in sorted(contracts):
            if self._turn(code, now) or everything:
                await self.poke(code)
                done.poked.append(code)
        models: set[tuple[str, str]] | None = None
        if not everything:
            models = {m for m in self.waiting_models | changes.models if self._turn(m, now)}
        if models is None or models:
            done.notified = await asyncio.to_thread(patterns.detect, self.sessions, book, now,
                                                    models)
        # Only now: a round that failed half way is done again (pokes and records are
        # idempotent), so no change is ever passed over.
        self.waiting_contracts = contracts - set(done.poked)
        self.waiting_models = set() if models is None else \
            (self.waiting_models | changes.models) - models
        self.last_event, self.last_import = changes.last_event, changes.last_import
        self.seen = changes.seen
        self.version = book.version
        return done

    def _turn(self, item: object, now: datetime) -> bool:
        """Whether `item` may be handled now (not within `spacing` of its last turn); if so,
        this is its turn."""
        last = self.turns.get(item)
        if last is not None and now - last < self.spacing:
            return False
        self.turns[item] = now
        return True

    async def poke(self, contract_code: str) -> None:
        """Make the contract's guard look now, starting it if it is not running."""
        await self.client.start_workflow(
            UptimeGuardWorkflow.run, GuardStart(contract_code=contract_code),
            id=guard_id(contract_code), task_queue=self.task_queue, start_signal="poke",
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            static_summary=f"开机率保证 {contract_code}")

    def _changes(self, everything: bool) -> _Changes:
        with self.sessions() as session:
            last_event = session.scalar(select(func.max(CaseEventRow.id))) or 0
            last_import = session.scalar(select(func.max(ImportedRecord.id))) or 0
            # Ids are handed out before commit, so a row can appear below the last id seen:
            # look again at the last OVERLAP ids and skip only those seen already.
            floor = max((last_event if everything else (self.last_event or 0)) - OVERLAP, 0)
            rows = session.execute(
                select(CaseEventRow.id, Case.equipment_serial, CaseEventRow.event).join(
                    Case, CaseEventRow.case_id == Case.case_id)
                .where(CaseEventRow.id > floor, Case.kind.in_(KINDS.down_kinds()),
                       Case.equipment_serial.is_not(None))).all()
            seen = {row_id for row_id, _, _ in rows if row_id > last_event - OVERLAP}
            if everything:
                return _Changes(set(), set(), last_event, last_import, seen)
            events = [(serial, event) for row_id, serial, event in rows
                      if row_id not in self.seen]
            imported = set(session.scalars(select(ImportedRecord.serial).where(
                ImportedRecord.id > (self.last_import or 0),
                ImportedRecord.id <= last_import).distinct()))
            touched = {serial for serial, _ in events} | imported
            diagnosed = {serial for serial, event in events if event == "diagnose"} | imported
            units = {serial: (contract, brand, model) for serial, contract, brand, model in
                     session.execute(select(Equipment.serial, Equipment.contract_code,
                                            Equipment.brand, Equipment.model)
                                     .where(Equipment.serial.in_(sorted(touched))))
                     } if touched else {}
        return _Changes(contracts={c for c, _, _ in units.values() if c},
                        models={(units[s][1], units[s][2]) for s in diagnosed if s in units},
                        last_event=last_event, last_import=last_import, seen=seen)


async def run_reliability_watch(watch: ReliabilityWatch, poll_seconds: float,
                                stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            done = await watch.once()
            if done.notified:
                log.info("recurring faults recorded", patterns=done.notified)
        except Exception:  # the database or Temporal may be away for a while
            log.exception("reliability watch failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
        except TimeoutError:
            pass
