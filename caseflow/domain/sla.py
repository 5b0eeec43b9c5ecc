"""State of a case's commitments as the deadline machinery keeps it (workflows/sla.py).

Plain data so a query can show it and the workflow can rebuild it on replay.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel

CommitmentState = Literal["open", "paused", "met", "met_late", "breached", "waived"]


class PauseSpan(BaseModel):
    started_at: datetime
    ended_at: datetime | None = None


class FiredLevel(BaseModel):
    """One rung of the ladder that fired: level 0 is the warning, 1.. the breach levels."""

    level: int
    notify: str
    scheduled_at: datetime
    fired_at: datetime


class Commitment(BaseModel):
    key: str
    label: str
    round: int = 1
    calendar: str
    owner: str
    owner_id: str | None = None  # a named person who must act (e.g. a corrective action's owner)
    # Rungs of a case handled at a higher level notify that much higher up the ladder
    # (a complaint reopened at level 2: its breach goes to the manager, not the supervisor).
    notify_offset: int = 0
    # No ladder: due means "page the next person" (see CommitmentSpec.paging).
    paging: bool = False
    # Reminders to the owner every this much working time before due (rungs -1, -2, ...).
    remind_every: timedelta | None = None
    pausable: bool
    started_at: datetime
    working_time: timedelta
    # What the ladder's fractions past due are taken of; None = the working time. An end-of-day
    # commitment may have minutes left when it starts, so its later rungs count in days.
    ladder_base: timedelta | None = None
    pauses: list[PauseSpan] = []
    due_at: datetime | None = None
    met_at: datetime | None = None
    waived_at: datetime | None = None
    waived_reason: str | None = None
    breached_at: datetime | None = None
    fired: list[FiredLevel] = []

    @property
    def is_open(self) -> bool:
        return self.met_at is None and self.waived_at is None

    @property
    def is_paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].ended_at is None

    @property
    def fired_levels(self) -> set[int]:
        return {f.level for f in self.fired}

    @property
    def breached(self) -> bool:
        if self.breached_at is not None:
            return True
        return self.met_at is not None and self.due_at is not None and self.met_at > self.due_at

    def paused_time(self, now: datetime) -> timedelta:
        return sum(((p.ended_at or now) - p.started_at for p in self.pauses), timedelta(0))

    def state(self) -> CommitmentState:
        if self.waived_at is not None:
            return "waived"
        if self.met_at is not None:
            return "met_late" if self.breached else "met"
        if self.breached_at is not None:
            return "breached"
        return "paused" if self.is_paused else "open"


class CommitmentView(BaseModel):
    """What a manager sees of one commitment."""

    key: str
    label: str
    round: int
    state: CommitmentState
    calendar: str
    started_at: datetime
    due_at: datetime | None
    met_at: datetime | None
    waived_at: datetime | None
    waived_reason: str | None
    breached: bool
    breached_at: datetime | None
    paused_seconds: float
    escalation_level: int
    warned: bool
    fired: list[FiredLevel]


class CasePause(BaseModel):
    reason: str
    note: str = ""
    started_at: datetime
    ended_at: datetime | None = None
    resume_at: datetime | None = None
    by: str | None = None
    ended_by: str | None = None


class EscalationDue(BaseModel):
    """A ladder rung that is due now: the workflow records and notifies it exactly once."""

    commitment: str
    label: str
    round: int
    level: int
    notify: str
    owner: str
    owner_id: str | None = None
    scheduled_at: datetime
    fired_at: datetime
    due_at: datetime | None


class SettledRounds(BaseModel):
    """What a case keeps of the rounds it no longer holds (earlier rounds that can never change
    again: met, waived, superseded, or a missed page); their full views are in the database."""

    count: int = 0
    breached: bool = False
    level: int = 0


class DeadlinesCarry(BaseModel):
    """A case's deadline book as it continues into its next run (workflows/sla.py)."""

    revision: int
    commitments: dict[str, Commitment]  # the current round of each key
    pauses: list[CasePause] = []
    settled: SettledRounds = SettledRounds()
    # Rounds that closed since the case last recorded (the next record still carries them).
    unreported: list[Commitment] = []


def merge_rounds(current: list[CommitmentView],
                 stored: list[dict[str, object]]) -> list[CommitmentView]:
    """A case's every round: those its workflow holds now (`current`), and those of its earlier
    runs that only the database keeps (`stored`, the case row's list), in the order they began."""
    held = {(c.key, c.round): c for c in current}
    merged = [held.pop((c["key"], c["round"]), None) or CommitmentView.model_validate(c)
              for c in stored]
    return merged + list(held.values())


def escalations_of(commitments: list[CommitmentView]) -> list[dict[str, object]]:
    """Every rung fired, as a case's view lists them."""
    return [{"commitment": c.key, "label": c.label, "round": c.round, **f.model_dump()}
            for c in commitments for f in c.fired]
