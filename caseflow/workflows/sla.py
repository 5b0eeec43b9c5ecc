"""The shared deadline machinery: commitments, pauses and the escalation ladder of one case.

Every workflow keeps one `Deadlines`. Durations come from the pinned policy and are measured on
the commitment's calendar; a pause stops the clock of every pausable open commitment and the
ladder points move by exactly the paused working time. `due(now)` hands out each ladder rung
once; the workflow's watcher (`watch`) sleeps until the next rung or until the book changes.
This module is pure: it is given `now`, it never reads a clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from caseflow.domain.migration import CommitmentMove
    from caseflow.domain.policy import LOCAL, CasePolicy, CommitmentSpec
    from caseflow.domain.sla import (
        CasePause,
        Commitment,
        CommitmentView,
        DeadlinesCarry,
        EscalationDue,
        FiredLevel,
        PauseSpan,
        SettledRounds,
    )

WARNING = 0
NEXT_ON_CALL = "next_on_call"  # whom a paging commitment's breach goes to

# Behaviour revisions of the machinery, each with the patch id that marks histories made under
# it. A case that started under an older revision replays exactly as it ran
# (docs/architecture.md). Never rename or remove an entry while such histories may replay.
# 2: earlier rounds of a commitment are kept (a late round stays breached); pauses taken before
#    a commitment started hold its clock too; an unconfirmed hand-over ends with the work.
# 3: the rungs past due of an end-of-day commitment count in working days, not in the minutes
#    that were left of the day.
REVISIONS = {2: "sla-revision-2", 3: "sla-revision-3"}
REVISION = max(REVISIONS)


def revision_in_force() -> int:
    """The revision a workflow runs: the newest for a new case, else the one its history has.

    Call once per workflow run, from workflow code (it records a patch marker).
    """
    for revision in sorted(REVISIONS, reverse=True):
        if workflow.patched(REVISIONS[revision]):
            return revision
    return 1


class Deadlines:
    """The commitments of one case and the case's pause state."""

    def __init__(self, policy: CasePolicy, revision: int = REVISION) -> None:
        self.policy = policy
        self.revision = revision
        self.commitments: dict[str, Commitment] = {}  # the current round of each key
        self.earlier: list[Commitment] = []  # rounds a newer round replaced
        self.pauses: list[CasePause] = []
        self.version = 0  # bumped on every change, so the watcher re-plans
        # What the case keeps of the earlier rounds it let go of when it continued as new.
        self.settled = SettledRounds()
        # Rounds closed (or superseded) since the case last recorded its projection.
        self.unreported: list[Commitment] = []
        self._wakeup: tuple[int, datetime | None] = (-1, None)

    # ----- carried into the next run ------------------------------------------------------------

    def carry(self) -> DeadlinesCarry:
        """The book as the next run starts from: the current round of each commitment, the
        pauses, and a summary of the earlier rounds (final; the database keeps their views)."""
        self.compact()
        return DeadlinesCarry(revision=self.revision, commitments=self.commitments,
                              pauses=self.pauses, settled=self.settled,
                              unreported=self.unreported)

    @classmethod
    def restore(cls, policy: CasePolicy, carried: DeadlinesCarry) -> Deadlines:
        book = cls(policy, revision=carried.revision)
        book.commitments = dict(carried.commitments)
        book.pauses = list(carried.pauses)
        book.settled = carried.settled
        book.unreported = list(carried.unreported)
        return book

    def compact(self) -> None:
        """Let go of the earlier rounds: each is met, waived, superseded or a missed page, so
        none can change again; what the case's breach and escalation level need is kept."""
        for earlier in self.earlier:
            self.settled.count += 1
            self.settled.breached = self.settled.breached or earlier.breached
            self.settled.level = max([self.settled.level, *(f.level for f in earlier.fired)])
        self.earlier = []

    # ----- changing the book --------------------------------------------------------------------

    def start(self, key: str, spec: CommitmentSpec, *, at: datetime,
              started_at: datetime | None = None, notify_offset: int = 0,
              owner_id: str | None = None) -> Commitment:
        """Start (or restart as a new round) the commitment `key` from `started_at`."""
        begin = started_at or at
        previous = self.commitments.get(key)
        commitment = Commitment(
            key=key, label=spec.label or key, round=previous.round + 1 if previous else 1,
            calendar=spec.calendar, owner=spec.owner, owner_id=owner_id, pausable=spec.pausable,
            paging=spec.paging, started_at=begin, working_time=timedelta(0),
            notify_offset=notify_offset,
        )
        self._size(commitment, spec)
        if previous is not None and self.revision >= 2:
            # A page nobody answered stays on record as breached; the next page is a new round.
            if previous.is_open and not (previous.paging and previous.breached_at is not None):
                previous.waived_at, previous.waived_reason = at, "superseded by a new round"
                self._close_pause(previous, at)
            self.earlier.append(previous)
            self._unreported(previous)
        if spec.pausable and self.revision >= 2:
            self._hold_by_pauses(commitment)
        elif spec.pausable and self.paused is not None:
            commitment.pauses.append(PauseSpan(started_at=max(at, begin)))
        self.commitments[key] = commitment
        self._plan(commitment)
        return commitment

    def start_until(self, key: str, *, label: str, at: datetime, due_at: datetime,
                    owner: str = "assignee", owner_id: str | None = None,
                    calendar: str = LOCAL, pausable: bool = False) -> Commitment:
        """Start a commitment whose due time was set by a person (a corrective action's due
        date, an order's delivery date); its ladder is measured on the span from `at` to
        `due_at`. A pausable one is held by the case's pauses like any other."""
        previous = self.commitments.get(key)
        commitment = Commitment(
            key=key, label=label, round=previous.round + 1 if previous else 1,
            calendar=calendar, owner=owner, owner_id=owner_id, pausable=pausable, started_at=at,
            working_time=self.policy.calendar(calendar).between(at, due_at))
        if pausable:
            self._hold_by_pauses(commitment)
        if previous is not None:
            if previous.is_open:
                previous.waived_at, previous.waived_reason = at, "superseded by a new round"
            self.earlier.append(previous)
            self._unreported(previous)
        self.commitments[key] = commitment
        self._plan(commitment)
        return commitment

    def change(self, key: str, spec: CommitmentSpec) -> Commitment | None:
        """New duration for an open commitment, counted from its original start (reclassify)."""
        commitment = self.commitments.get(key)
        if commitment is None or not commitment.is_open:
            return None
        commitment.calendar = spec.calendar
        commitment.label = spec.label or key
        self._size(commitment, spec)
        self._plan(commitment)
        return commitment

    def meet(self, key: str, at: datetime) -> Commitment | None:
        commitment = self.commitments.get(key)
        if commitment is None or not commitment.is_open:
            return None
        commitment.met_at = at
        self._close_pause(commitment, at)
        self._unreported(commitment)
        self.version += 1
        return commitment

    def waive(self, key: str, at: datetime, reason: str) -> Commitment | None:
        """Close a commitment that no longer applies (e.g. the customer declined the repair)."""
        commitment = self.commitments.get(key)
        if commitment is None or not commitment.is_open:
            return None
        commitment.waived_at, commitment.waived_reason = at, reason
        self._close_pause(commitment, at)
        self._unreported(commitment)
        self.version += 1
        return commitment

    def reopen(self, key: str, at: datetime) -> Commitment | None:
        """A met commitment turns out not to be met (the customer disputes the repair)."""
        commitment = self.commitments.get(key)
        if commitment is None or commitment.met_at is None:
            return None
        commitment.met_at = None
        if commitment.pausable and self.paused is not None:
            commitment.pauses.append(PauseSpan(started_at=at))
        self._plan(commitment)
        return commitment

    def pause(self, *, at: datetime, reason: str, note: str = "", by: str | None = None,
              resume_at: datetime | None = None) -> CasePause:
        if reason not in self.policy.pause_reasons:
            raise ValueError(f"pause reason {reason!r} is not allowed by the policy")
        pause = CasePause(reason=reason, note=note, started_at=at, resume_at=resume_at, by=by)
        self.pauses.append(pause)
        for commitment in self._open():
            if commitment.pausable and not commitment.is_paused:
                commitment.pauses.append(PauseSpan(started_at=at))
                self._plan(commitment)
        self.version += 1
        return pause

    def resume(self, *, at: datetime, by: str | None = None) -> CasePause | None:
        pause = self.paused
        if pause is None:
            return None
        pause.ended_at, pause.ended_by = at, by
        for commitment in self._open():
            self._close_pause(commitment, at)
        self.version += 1
        return pause

    # ----- reading the book ---------------------------------------------------------------------

    @property
    def paused(self) -> CasePause | None:
        if self.pauses and self.pauses[-1].ended_at is None:
            return self.pauses[-1]
        return None

    @property
    def breached(self) -> bool:
        return self.settled.breached or any(c.breached for c in self.all_rounds())

    @property
    def escalation_level(self) -> int:
        return max((f.level for c in self.all_rounds() for f in c.fired),
                   default=self.settled.level)

    def all_rounds(self) -> list[Commitment]:
        """Every round of every commitment, earlier rounds first: the full record."""
        return [*self.earlier, *self.commitments.values()]

    def get(self, key: str) -> Commitment | None:
        return self.commitments.get(key)

    def move_to(self, policy: CasePolicy, specs: Callable[[str], CommitmentSpec | None],
                now: datetime) -> list[CommitmentMove]:
        """Put the book on another policy (a migration): every open commitment is sized again
        by `specs(key)` from its original start on its calendar, paused time kept; one with no
        spec (a date a person set) keeps its due time. Fired rungs stay fired; the rungs now
        past due are reported and fire, once, at the watcher's next look. Raises KeyError
        naming a calendar the policy lacks (nothing is changed then)."""
        for key, commitment in self.commitments.items():
            spec = specs(key) if commitment.is_open else None
            policy.calendar(spec.calendar if spec is not None else commitment.calendar)
        self.policy = policy
        moves = []
        for key, commitment in self.commitments.items():
            if not commitment.is_open:
                continue
            before, length = commitment.due_at, commitment.working_time
            spec = specs(key)
            if spec is not None:
                self.change(key, spec)
            else:
                self._plan(commitment)
            due = [level for level, at, _ in self._pending(commitment) if at <= now]
            if any(level >= 1 for level in due):
                due = [level for level in due if level >= 1]
            if before != commitment.due_at or length != commitment.working_time or due:
                moves.append(CommitmentMove(key=key, round=commitment.round, from_due=before,
                                            to_due=commitment.due_at,
                                            from_seconds=length.total_seconds(),
                                            to_seconds=commitment.working_time.total_seconds(),
                                            paused=commitment.is_paused,
                                            fired=sorted(commitment.fired_levels),
                                            due_at_once=due))
        self.version += 1
        return moves

    def copy(self) -> Deadlines:
        """A copy to try a change on (a preview) without touching this book."""
        book = Deadlines(self.policy, revision=self.revision)
        book.commitments = {key: c.model_copy(deep=True) for key, c in self.commitments.items()}
        book.pauses = [p.model_copy(deep=True) for p in self.pauses]
        return book

    def due_for(self, spec: CommitmentSpec, start: datetime) -> datetime:
        """When a commitment of `spec` started at `start` would be due, nothing paused."""
        probe = Commitment(key="probe", label="", calendar=spec.calendar, owner=spec.owner,
                           pausable=False, started_at=start, working_time=timedelta(0))
        self._size(probe, spec)
        due = self.point(probe, 1.0)
        assert due is not None
        return due

    def point(self, commitment: Commitment, fraction: float) -> datetime | None:
        """When `fraction` of the commitment's working time has run, pauses left out.

        None while the commitment is paused with no end before that point.
        """
        base = commitment.ladder_base or commitment.working_time
        return self.point_after(commitment, commitment.working_time * min(fraction, 1.0)
                                + base * max(fraction - 1.0, 0))

    def point_after(self, commitment: Commitment, remaining: timedelta) -> datetime | None:
        """When `remaining` working time of the commitment has run, pauses left out."""
        calendar = self.policy.calendar(commitment.calendar)
        cursor = commitment.started_at
        for span in commitment.pauses:
            if span.started_at > cursor:
                running = calendar.between(cursor, span.started_at)
                if running >= remaining:
                    return calendar.add(cursor, remaining)
                remaining -= running
            if span.ended_at is None:
                return None
            cursor = max(cursor, span.ended_at)
        return calendar.add(cursor, remaining)

    def _rungs(self, commitment: Commitment) -> list[tuple[int, datetime | None, str]]:
        """(level, when, whom) of every rung: reminders (levels -1, -2... every
        `remind_every` before due, to the owner), the warning (0), the ladder's levels."""
        if commitment.paging:
            return [(1, self.point(commitment, 1.0), NEXT_ON_CALL)]
        ladder = self.policy.ladder
        top = len(ladder.levels) - 1
        rungs: list[tuple[int, datetime | None, str]] = []
        if commitment.remind_every:
            count = 1
            while commitment.remind_every * count < commitment.working_time:
                rungs.append((-count, self.point_after(commitment, commitment.remind_every * count),
                              commitment.owner))
                count += 1
        rungs.append((WARNING, self.point(commitment, ladder.warning_at), commitment.owner))
        rungs += [(step.level, self.point(commitment, step.at),
                   ladder.levels[min(index + commitment.notify_offset, top)].notify.value)
                  for index, step in enumerate(ladder.levels)]
        return rungs

    def _pending(self, commitment: Commitment) -> list[tuple[int, datetime, str]]:
        """Rungs not fired yet, with their times; reminders and the warning are moot once
        level 1 fired."""
        fired = commitment.fired_levels
        pending = []
        for level, at, notify in self._rungs(commitment):
            if level in fired or (level <= WARNING and 1 in fired):
                continue
            if at is not None:
                pending.append((level, at, notify))
        return pending

    def wakeup(self) -> datetime | None:
        """`next_wakeup()`, computed once per change of the book (the watcher asks at every
        activation of the workflow)."""
        if self._wakeup[0] != self.version:
            self._wakeup = (self.version, self.next_wakeup())
        return self._wakeup[1]

    def next_wakeup(self) -> datetime | None:
        """The earliest instant something is due: a ladder rung or a scheduled resume."""
        times = [at for c in self._open() for _, at, _ in self._pending(c)]
        pause = self.paused
        if pause is not None and pause.resume_at is not None:
            times.append(pause.resume_at)
        return min(times, default=None)

    def resume_due(self, now: datetime) -> bool:
        pause = self.paused
        return pause is not None and pause.resume_at is not None and pause.resume_at <= now

    def due(self, now: datetime, fired_at: datetime | None = None) -> list[EscalationDue]:
        """Every rung due by `now` and not fired yet, marked fired (each exactly once) at
        `fired_at` (default `now`)."""
        fired_at = fired_at or now
        fired: list[EscalationDue] = []
        for commitment in self._open():
            pending = [(lvl, at, notify) for lvl, at, notify in self._pending(commitment)
                       if at <= now]
            breach_due = any(lvl >= 1 for lvl, _, _ in pending)
            for level, at, notify in pending:
                if level <= WARNING and breach_due:
                    continue  # a warning or reminder after the breach tells nobody anything
                commitment.fired.append(
                    FiredLevel(level=level, notify=notify, scheduled_at=at, fired_at=fired_at))
                if level == 1:
                    commitment.breached_at = at
                fired.append(EscalationDue(
                    commitment=commitment.key, label=commitment.label, round=commitment.round,
                    level=level, notify=notify, owner=commitment.owner,
                    owner_id=commitment.owner_id, scheduled_at=at, fired_at=fired_at,
                    due_at=commitment.due_at))
        if fired:
            self.version += 1
        return fired

    def views(self, now: datetime) -> list[CommitmentView]:
        """Every round the book holds (this run's; earlier runs' rounds are in the database)."""
        return [view(c, now) for c in self.all_rounds()]

    def report(self, now: datetime) -> list[CommitmentView]:
        """What a record carries: the open current rounds, and every round closed since the
        last record (once); never the rounds the database already has in their final state."""
        rounds = [c for c in self.unreported]
        rounds += [c for c in self.commitments.values()
                   if c.is_open and not any(c is seen for seen in rounds)]
        self.unreported = []
        return [view(c, now) for c in rounds]

    # ----- internals ----------------------------------------------------------------------------

    def _unreported(self, commitment: Commitment) -> None:
        if not any(commitment is seen for seen in self.unreported):
            self.unreported.append(commitment)

    def _open(self) -> list[Commitment]:
        return [c for c in self.commitments.values() if c.is_open]

    def _size(self, commitment: Commitment, spec: CommitmentSpec) -> None:
        """The commitment's working time (and ladder base) from its spec, from its start."""
        calendar = self.policy.calendar(spec.calendar)
        commitment.remind_every = (calendar.working_time(spec.remind_every)
                                   if spec.remind_every is not None else None)
        if spec.by == "end_of_day":
            end = self.policy.local_calendar.end_of_day(commitment.started_at)
            commitment.working_time = calendar.between(commitment.started_at, end)
            if self.revision >= 3:
                commitment.ladder_base = calendar.day_length
        else:
            assert spec.within is not None  # the policy model requires one of within / by
            commitment.working_time = calendar.working_time(spec.within)
            commitment.ladder_base = None

    def _hold_by_pauses(self, commitment: Commitment) -> None:
        """The case's pauses from the commitment's start on hold its clock too."""
        begin = commitment.started_at
        commitment.pauses.extend(
            PauseSpan(started_at=max(p.started_at, begin), ended_at=p.ended_at)
            for p in self.pauses if p.ended_at is None or p.ended_at > begin)

    def _plan(self, commitment: Commitment) -> None:
        commitment.due_at = self.point(commitment, 1.0)
        self.version += 1

    def _close_pause(self, commitment: Commitment, at: datetime) -> None:
        if commitment.is_paused:
            commitment.pauses[-1].ended_at = at
            self._plan(commitment)


async def watch(deadlines: Deadlines, *, closed: Callable[[], bool],
                on_escalation: Callable[[EscalationDue], Awaitable[None]],
                on_resume: Callable[[], Awaitable[None]]) -> None:
    """Sleep until the next rung (or a change of the book), then escalate what is due.

    The updatable-timer pattern: the timeout is recomputed whenever the book changes, so a
    pause, a reclassification or a met step moves the wake-up and no stale timer can escalate.
    """
    while not closed():
        version = deadlines.version
        wakeup = deadlines.next_wakeup()
        now = workflow.now()
        if wakeup is not None and wakeup <= now:
            await _fire(deadlines, now, on_resume, on_escalation)
            continue
        try:
            await workflow.wait_condition(
                lambda seen=version: deadlines.version != seen or closed(),
                timeout=None if wakeup is None else wakeup - now,
                timeout_summary="next SLA deadline",
            )
        except TimeoutError:
            pass


async def _fire(deadlines: Deadlines, at: datetime, on_resume: Callable[[], Awaitable[None]],
                on_escalation: Callable[[EscalationDue], Awaitable[None]],
                fired_at: datetime | None = None) -> None:
    """Resume a pause that ends by `at`, then escalate every rung due by `at` (each once)."""
    if deadlines.resume_due(at):
        await on_resume()
    for escalation in deadlines.due(at, fired_at=fired_at):
        await on_escalation(escalation)


def view(c: Commitment, now: datetime) -> CommitmentView:
    return CommitmentView(
        key=c.key, label=c.label, round=c.round, state=c.state(), calendar=c.calendar,
        started_at=c.started_at, due_at=c.due_at, met_at=c.met_at,
        waived_at=c.waived_at, waived_reason=c.waived_reason, breached=c.breached,
        breached_at=c.breached_at,
        paused_seconds=c.paused_time(c.met_at or c.waived_at or now).total_seconds(),
        escalation_level=max((f.level for f in c.fired), default=0),
        warned=WARNING in c.fired_levels, fired=list(c.fired),
    )


async def watch_lean(deadlines: Deadlines, *, stop: Callable[[], bool],
                     on_escalation: Callable[[EscalationDue], Awaitable[None]],
                     on_resume: Callable[[], Awaitable[None]], by_timer: bool = False) -> None:
    """The watcher of lean cases: escalate what is due until `stop()` (the case closed, or it
    continues as new). One timer at a time, set again only when the next wake-up comes before
    it: a step that moves the wake-up later leaves the timer alone (it fires early, finds
    nothing due and is set for the new wake-up), so most steps add no timer events to the
    history. A timer still set when the case closes is simply dropped with the run.

    `by_timer` (cases opened since `RUNGS_BY_TIMER`): a rung is escalated only when a timer
    fires, and what is due is what was due at the wake-up the timer was set for (or, for a
    rung already past when planned, at the time it was planned: it gets a timer of a
    millisecond), never at the clock of the task the timer fires in. A worker
    can run a workflow task with the clock of its previous task (docs/architecture.md "The
    watcher escalates by its timer"), and replay then reads a later clock: deciding by the
    clock made the two issue different commands (a nondeterminism error that stops the case).
    """
    timer: asyncio.Future[None] | None = None
    armed: datetime | None = None  # the wake-up the timer is set for
    decide_at: datetime | None = None  # what is due when it fires is what is due at this instant
    while not stop():
        now = workflow.now()
        wakeup = deadlines.wakeup()
        if by_timer:
            if timer is not None and timer.done():
                assert decide_at is not None
                at, timer, armed, decide_at = decide_at, None, None, None
                await _fire(deadlines, at, on_resume, on_escalation, fired_at=max(now, at))
                continue
        else:
            if wakeup is not None and wakeup <= now:
                await _fire(deadlines, now, on_resume, on_escalation)
                continue
            if timer is not None and timer.done():
                timer, armed = None, None
        if wakeup is not None and (armed is None or wakeup < armed):
            if timer is not None:
                timer.cancel()
            wait = max(wakeup - now, MIN_TIMER) if by_timer else wakeup - now
            timer = asyncio.ensure_future(workflow.sleep(wait, summary="next SLA deadline"))
            armed, decide_at = wakeup, max(wakeup, now)
        await workflow.wait_condition(
            lambda planned=wakeup, ticking=timer: (stop() or (ticking is not None and ticking.done())
                                                   or deadlines.wakeup() != planned))


MIN_TIMER = timedelta(milliseconds=1)  # the timer of a rung already due when planned
