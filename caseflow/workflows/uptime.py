"""UptimeGuardWorkflow: a contract's uptime guarantee, watched for its whole life (id `UG-<code>`).

It looks at the contract's units (an activity reads their downtime budget in the current period,
domain/guarantee.py), fires each rung that is due (warning to the service manager, then the
ladder's levels) exactly once per unit and period, and sleeps until the next rung would be due at
the current rate, or until it is poked because a case of the contract changed. The rungs it fired
are its state, so a restarted worker replays them rather than firing them again, and the
recording activity writes each once (unique per unit, period and level). It continues as new
every few dozen looks and at each new period, and ends when the contract guarantees nothing.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from caseflow.domain.guarantee import (
        RECORD_UPTIME_RUNG,
        UPTIME_STANDING,
        ContractStanding,
        GuardStart,
        GuardView,
        StandingRequest,
        UptimeRung,
        due_rungs,
        next_rung,
        rung_summary,
    )

LOOKS_PER_RUN = 60  # then continue as new (a look is about ten history events)
RECHECK = timedelta(hours=6)  # a look at least this often, even without a poke
STANDING_TIMEOUT = timedelta(seconds=60)  # a contract with many units takes a while to read
RECORD_TIMEOUT = timedelta(seconds=10)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=0.2), backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=30))


@workflow.defn
class UptimeGuardWorkflow:
    @workflow.init
    def __init__(self, start: GuardStart) -> None:
        self.guard = start.model_copy(deep=True)
        self.looks = 0
        self.poked = False
        self.last: ContractStanding | None = None

    @workflow.signal
    def poke(self) -> None:
        """Something about the contract's units changed: look again now."""
        self.poked = True

    @workflow.query
    def state(self) -> GuardView:
        return GuardView(contract_code=self.guard.contract_code, period=self.guard.period,
                         fired=self.guard.fired, looks=self.looks,
                         last_look=self.last.as_of if self.last else None,
                         guaranteed=self.last is None or self.last.guarantee is not None)

    @workflow.run
    async def run(self, start: GuardStart) -> GuardView:
        while self.looks < LOOKS_PER_RUN:
            self.poked = False
            now = workflow.now()
            ending = self.guard.period_to is not None and now >= self.guard.period_to
            if ending:  # the period ended while asleep: its last rungs first
                await self._look(self.guard.period_to, self.guard.period_from)  # type: ignore[arg-type]
                self.guard.period, self.guard.fired = None, {}
            standing = await self._look(now, None)
            if standing.guarantee is None:
                return self.state()
            wake = min(filter(None, (
                next_rung(standing.units, self._fired(), now), standing.period_to,
                now + RECHECK)))
            try:
                await workflow.wait_condition(lambda: self.poked, timeout=wake - now,
                                              timeout_summary="next uptime rung or recheck")
            except TimeoutError:
                pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self.guard)

    def _fired(self) -> dict[str, set[int]]:
        return {serial: set(levels) for serial, levels in self.guard.fired.items()}

    async def _look(self, as_of, period_start) -> ContractStanding:  # type: ignore[no-untyped-def]
        """Read the standing at `as_of` and fire what is due, each rung once."""
        standing: ContractStanding = await workflow.execute_activity(
            UPTIME_STANDING, StandingRequest(contract_code=self.guard.contract_code,
                                             as_of=as_of, period_start=period_start),
            result_type=ContractStanding, start_to_close_timeout=STANDING_TIMEOUT,
            retry_policy=RETRY)
        self.last = standing
        if standing.guarantee is None:
            self.looks += 1
            return standing
        if standing.period != self.guard.period:
            self.guard.period, self.guard.fired = standing.period, {}
        self.guard.period_from, self.guard.period_to = standing.period_from, standing.period_to
        for unit in standing.units:
            fired = set(self.guard.fired.get(unit.serial, []))
            for rung in due_rungs(unit, fired, as_of):
                fired.add(rung.level)
                self.guard.fired[unit.serial] = sorted(fired)
                assert rung.at is not None
                await workflow.execute_activity(
                    RECORD_UPTIME_RUNG, UptimeRung(
                        guard_id=workflow.info().workflow_id,
                        contract_code=standing.contract_code, hospital_id=unit.hospital_id,
                        serial=unit.serial, period=unit.period, level=rung.level,
                        notify=rung.notify, scheduled_at=rung.at, fired_at=workflow.now(),
                        budget_hours=unit.budget_hours, used_hours=unit.used_hours,
                        summary=rung_summary(unit, rung)),
                    start_to_close_timeout=RECORD_TIMEOUT, retry_policy=RETRY)
        self.looks += 1
        return standing
