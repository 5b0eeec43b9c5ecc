"""Remote monitoring: POST /v1/alarms takes a batch of units' alarms (role monitoring), and a
unit's alarm stream is read at GET /v1/equipment/{serial}/alarms (docs/monitoring.md).

Each alarm is kept once per integration and alarm id, and its fault episode decided, in one
transaction (store/alarms.py). Then each episode that needs it opens its repair through the
same path as the hotline's (api/opening.py, keyed by the episode, so a retry or a concurrent
batch reaches the same case), or is added to the unit's open repair by one `act` update per
episode (and one more when its alarms clear): a storm of a thousand alarms is one case and a
step or two in its history, never a thousand.
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import datetime, timezone
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep, SessionsDep, SettingsDep, TemporalDep, in_thread
from caseflow.api.errors import ServiceUnavailable
from caseflow.api.opening import Context, open_case, opening_of
from caseflow.api.routes.cases import take_step
from caseflow.domain.access import Capability
from caseflow.domain.enums import Channel, Role, Severity
from caseflow.domain.errors import DomainError, NotPermitted, UnknownCase, UnknownRecord
from caseflow.domain.kinds import KINDS
from caseflow.domain.monitoring import (
    MAX_AHEAD,
    MAX_BATCH,
    AlarmBatchResult,
    AlarmIn,
    AlarmItemResult,
    too_far_ahead,
)
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.repair import RepairCreate
from caseflow.store import alarms as store
from caseflow.store import directory
from caseflow.store.cases import case_status
from caseflow.store.models import AlarmEpisode, AlarmRow

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1", tags=["monitoring"])
Serial = Annotated[str, Path(max_length=100, description="e.g. MR-DH-0002")]


class AlarmBatch(BaseModel):
    """Alarms of any units, each an `AlarmIn` (docs/monitoring.md); each is judged on its own."""

    alarms: list[Any] = Field(min_length=1, max_length=MAX_BATCH, description=(
        "each: alarm_id, serial, code, severity (info, warning, alarm, critical), raised_at, "
        "cleared_at, values [{name, value, unit, low, high}], message"))


@router.post("/alarms", response_model=AlarmBatchResult)
async def post_alarms(
    body: AlarmBatch, request: Request,
    principal: Annotated[Principal, allowed(Capability.report_alarms)],
    sessions: SessionsDep, temporal: TemporalDep, policy: PolicyDep, settings: SettingsDep,
) -> AlarmBatchResult:
    """Take a batch of alarms. Each item is accepted (201), a duplicate of an alarm id already
    taken (200, nothing changes), the clearing of one (200), or refused (422, with the field
    and the reason) without touching the others. 503: the alarms are kept but a case could not
    be opened or fed now; post the same batch again to finish."""
    results: list[AlarmItemResult] = []
    items: list[tuple[int, AlarmIn]] = []
    now = datetime.now(timezone.utc)
    for index, raw in enumerate(body.alarms):
        try:
            alarm = AlarmIn.model_validate(raw)
            ahead = too_far_ahead(alarm, now)
            if ahead is None:
                items.append((index, alarm))
                continue
            results.append(AlarmItemResult(
                index=index, alarm_id=alarm.alarm_id, status="refused", http_status=422,
                field=ahead, reason=f"more than {MAX_AHEAD} after the server's clock (is the "
                                    "device's clock right?)"))
        except ValidationError as error:
            first = error.errors()[0]
            results.append(AlarmItemResult(
                index=index, alarm_id=str(raw.get("alarm_id"))[:200]
                if isinstance(raw, dict) and raw.get("alarm_id") is not None else None,
                status="refused", http_status=422,
                field=".".join(map(str, first["loc"])) or None, reason=first["msg"]))

    def take() -> store.Taken:
        with sessions.begin() as session:
            return store.take_alarms(session, source=principal.id, items=items,
                                     monitoring=lambda c: policy.for_contract(c).monitoring,
                                     now=now)

    try:
        taken = await run_in_threadpool(take)
    except IntegrityError:  # the same alarm id raced itself in another batch: now a duplicate
        taken = await run_in_threadpool(take)
    results = sorted(results + taken.results, key=lambda r: r.index)
    cases = await follow_episodes(taken.episodes, principal, sessions, temporal, policy,
                                  settings)
    opened = sorted({case for case, created in cases.values() if created and case})
    case_of = {episode: case for episode, (case, _) in cases.items()}

    def known_cases() -> dict[int, str | None]:
        ids = {r.episode_id for r in results if r.episode_id is not None}
        with sessions() as session:
            return {e.id: e.case_id for e in session.query(AlarmEpisode).filter(
                AlarmEpisode.id.in_(ids))} if ids else {}

    case_of = await run_in_threadpool(known_cases) | {k: v for k, v in case_of.items() if v}
    metrics = request.app.state.request_metrics
    for result in results:
        if result.episode_id is not None:
            result.case_id = case_of.get(result.episode_id)
        metrics.count_alarm(result.status, result.field)
    return AlarmBatchResult(
        accepted=sum(r.status == "accepted" for r in results),
        duplicates=sum(r.status == "duplicate" for r in results),
        cleared=sum(r.status == "cleared" for r in results),
        refused=sum(r.status == "refused" for r in results),
        cases_opened=opened, items=results)


async def follow_episodes(episode_ids: set[int], principal: Principal, sessions,  # type: ignore[no-untyped-def]
                          temporal, policy: PolicyBook, settings) -> dict[int, tuple[str | None, bool]]:
    """Open, feed or tell of clearing the cases of these episodes, where still to do: episode
    id -> (its case, whether this call opened it). The episodes that open a case go first, so
    an alarm added to a repair this call is starting finds it started. An episode whose case
    is still `opening` without a workflow stays to do (the sweep, or a retry, finishes it).
    Raises 503 if any could not be done now."""

    def read() -> list[AlarmEpisode]:
        with sessions() as session:
            return store.pending(session, episode_ids)

    episodes = await run_in_threadpool(read)
    opening = [e for e in episodes if not e.fed and e.case_id is None
               and e.action in store.OPENING]
    rest = [e for e in episodes if e not in opening]
    done: dict[int, tuple[str | None, bool]] = {}
    trouble: list[BaseException] = []
    for phase in (opening, rest):
        outcomes = await asyncio.gather(*(
            _follow(episode, principal, sessions, temporal, policy, settings)
            for episode in phase), return_exceptions=True)
        for episode, outcome in zip(phase, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                trouble.append(outcome)
            else:
                done[episode.id] = outcome
    if trouble:
        first = trouble[0]
        if not isinstance(first, ServiceUnavailable):
            raise first
        raise ServiceUnavailable(f"the alarms are kept, but {len(trouble)} case(s) could not be "
                                 f"opened or fed now ({first}); post the same batch again")
    return done


class _NotReady(Exception):
    """The repair an alarm is to be added to is still `opening`: its workflow is not there yet."""


async def _follow(episode: AlarmEpisode, principal: Principal, sessions, temporal,  # type: ignore[no-untyped-def]
                  policy: PolicyBook, settings) -> tuple[str | None, bool]:
    case_id, created = episode.case_id, False
    if not episode.fed:
        try:
            case_id = None
            if episode.case_id is not None:  # raised again after its clearing reached the case
                case_id = await _feed(episode.case_id, "alarm", _feed_payload(episode), episode,
                                      principal, sessions, temporal, settings)
            if case_id is None and episode.action in store.OPENING:  # (or that case closed)
                case_id, created = await _open_repair(episode, principal, sessions, temporal,
                                                      policy, settings)
            elif case_id is None:  # attach: to the unit's open repair, if it has one
                def find() -> str | None:
                    with sessions() as session:
                        return store.open_repair_of(session, episode.serial,
                                                    datetime.now(timezone.utc))
                target = await run_in_threadpool(find)
                if target is not None:
                    case_id = await _feed(target, "alarm", _feed_payload(episode), episode,
                                          principal, sessions, temporal, settings)
        except _NotReady:
            return None, False  # still to do: fed once that repair's workflow runs
        await _mark(sessions, store.mark_fed, episode.id, case_id)
    if case_id is not None and episode.active == 0 and episode.cleared_at is not None and \
            not episode.clear_fed:
        try:
            await _tell_cleared(episode.id, principal, sessions, temporal, settings)
        except _NotReady:
            pass  # still to do (the sweep tells it once the case's workflow runs)
    return case_id, created


async def _tell_cleared(episode_id: int, principal: Principal, sessions, temporal,  # type: ignore[no-untyped-def]
                        settings) -> None:
    """The `alarm-cleared` step, sent while the episode's head row is locked (store
    `lock_for_clearing`) and marked told before the lock goes: an alarm of the fault placed
    meanwhile would otherwise reopen an episode whose case has just heard it cleared. Its
    request id is derived from what it carries, so a retry after the episode counted more
    alarms is a request of its own. A few at a time per API process: each holds a database
    connection while its case takes the step."""
    async with _clearing_slots():
        session = sessions()
        try:
            episode = await run_in_threadpool(store.lock_for_clearing, session, episode_id)
            if episode is None:
                return  # told by another batch meanwhile, or raised again: nothing to tell
            assert episode.case_id is not None and episode.cleared_at is not None
            cleared_at = episode.cleared_at.isoformat()
            await _feed(episode.case_id, "alarm-cleared", {
                "episode_id": episode.id, "code": episode.code, "cleared_at": cleared_at,
                "alarms": episode.alarms}, episode, principal, sessions, temporal, settings,
                key=f"alarm-episode-{episode.id}-alarm-cleared-{episode.alarms}-{cleared_at}")
            await _mark(sessions, store.mark_clear_fed, episode.id)
        finally:
            await run_in_threadpool(session.close)  # lets the head go


_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = \
    weakref.WeakKeyDictionary()


def _clearing_slots() -> asyncio.Semaphore:
    return _SLOTS.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(4))


async def _open_repair(episode: AlarmEpisode, principal: Principal, sessions, temporal,  # type: ignore[no-untyped-def]
                       policy: PolicyBook, settings) -> tuple[str, bool]:
    """The hotline's opening path, keyed by the episode: the same repair however often asked."""
    def unit_facts() -> tuple[str, str, str | None]:
        with sessions() as session:
            found = directory.equipment(session, episode.serial)
            assert found is not None, episode.serial
            unit = found[0]
            return unit.hospital_id, unit.department or "设备科", unit.contract_code

    hospital_id, department, contract = await run_in_threadpool(unit_facts)
    monitoring = policy.for_contract(contract).monitoring
    first = AlarmIn.model_validate(episode.intake)
    detail = f" ({first.code}: {first.message})" if first.message else f" ({first.code})"
    body = RepairCreate(
        reporter_name=monitoring.reporter_name, reporter_phone=monitoring.reporter_phone,
        hospital_id=hospital_id, department=department, equipment_serial=episode.serial,
        symptom=f"{episode.symptom}{detail}"[:4000], observed_at=episode.opened_at,
        channel=Channel.remote_monitoring, alarm_codes=[episode.code],
        alarm_values=list(first.values),
        severity=Severity(episode.severity) if episode.severity else None)
    context = Context(principal, f"alarm-episode-{episode.id}", sessions, temporal, policy,
                      settings)
    created = await open_case(opening_of(KINDS["repair"], body, principal, context.idempotency_key),
                              body, context, Response())
    return created.case_id, created.created


async def _feed(case_id: str, action: str, payload: dict[str, Any], episode: AlarmEpisode,  # type: ignore[no-untyped-def]
                principal: Principal, sessions, temporal, settings,
                key: str | None = None) -> str | None:
    """One step of the monitoring integration on the case, keyed by the episode. A case that
    cannot take it any more (closed since) is left alone: the alarm stays on the unit. A case
    still `opening` whose workflow is not there yet raises `_NotReady`."""
    try:
        await take_step(case_id, "repair", action, payload, principal, sessions, temporal,
                        settings, key or f"alarm-episode-{episode.id}-{action}")
    except UnknownCase:
        if await in_thread(sessions, case_status, case_id) == "opening":
            raise _NotReady(case_id) from None
        return None if action == "alarm" else case_id
    except DomainError:
        return None if action == "alarm" else case_id
    return case_id


def _feed_payload(episode: AlarmEpisode) -> dict[str, Any]:
    """The episode's first alarm, as it was taken: the same payload however often it is sent
    (its request id is the episode's), whatever the episode counted since."""
    first = AlarmIn.model_validate(episode.intake)
    return {"episode_id": episode.id, "code": episode.code, "severity": first.severity.value,
            "raised_at": first.raised_at.isoformat(), "alarms": 1,
            "values": [v.model_dump(mode="json") for v in first.values],
            "message": first.message}


async def _mark(sessions, mark, *args: Any) -> None:  # type: ignore[no-untyped-def]
    def write() -> None:
        with sessions.begin() as session:
            mark(session, *args)
    await run_in_threadpool(write)


# ----- the sweep: cases whose opening or feeding was left undone -------------------------------

class AlarmSweep:
    """Finishes what a batch decided but did not do: an API process that died between the
    commit of an episode and the start of its case (or the step on it) leaves the episode
    unfinished, and no later alarm of that storm asks for it again. `once()` follows every
    episode found unfinished in two looks in a row (so never one its own batch is following
    right now), as the integration that posted it, by the same keys as the batch: the same
    case however many API processes sweep. Each API process runs it every
    `alarm_sweep_seconds` (docs/monitoring.md)."""

    GIVE_UP = 360  # looks (an hour at 10 s) an episode may stay unfinished before it is logged
    OVERLAP = 1000  # episode ids looked at again behind the newest (ids commit out of order)

    def __init__(self, sessions, temporal, policies, settings) -> None:  # type: ignore[no-untyped-def]
        self.sessions, self.temporal, self.policies, self.settings = \
            sessions, temporal, policies, settings
        self.seen: dict[int, int] = {}  # unfinished episode -> looks it has been seen in
        self.from_id: int | None = None

    async def once(self) -> dict[int, tuple[str | None, bool]]:
        """One look; episode id -> (its case, whether this look opened it) of those followed."""
        def look() -> tuple[list[tuple[int, str | None]], dict[str, Principal], PolicyBook]:
            with self.sessions() as session:
                if self.from_id is None:
                    self.from_id = store.lowest_unfinished(session)
                found = store.unfinished(session, self.from_id)
                principals = {}
                for source in {s for _, s in found if s is not None}:
                    person = directory.person(session, source)
                    if person is not None:
                        principals[source] = Principal(
                            id=person.id, name=person.name, role=Role(person.role),
                            hospital_id=person.hospital_id)
                kept = [i for i, _ in found if self.seen.get(i, 0) < self.GIVE_UP]
                self.from_id = kept[0] if kept else max(
                    self.from_id, store.last_episode(session) - self.OVERLAP)
                return found, principals, self.policies.current()

        found, principals, policy = await run_in_threadpool(look)
        due: dict[str, set[int]] = {}
        looks = {episode_id: self.seen.get(episode_id, 0) + 1 for episode_id, _ in found}
        for episode_id, source in found:
            if looks[episode_id] == self.GIVE_UP:
                log.error("alarm sweep: episode still unfinished, left alone",
                          episode=episode_id, source=source)
            if 1 < looks[episode_id] <= self.GIVE_UP and source in principals:
                due.setdefault(source, set()).add(episode_id)
        self.seen = looks
        followed: dict[int, tuple[str | None, bool]] = {}
        for source, ids in sorted(due.items()):
            try:
                followed |= await follow_episodes(ids, principals[source], self.sessions,
                                                  self.temporal, policy, self.settings)
            except Exception as error:  # noqa: BLE001 -- the next look tries again
                log.warning("alarm sweep: episodes left unfinished", episodes=sorted(ids),
                            error=str(error))
        if followed:
            log.info("alarm sweep: finished episodes", episodes=sorted(followed),
                     opened=sorted(c for c, created in followed.values() if created and c))
        return followed


async def run_alarm_sweep(sweep: AlarmSweep, every: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await sweep.once()
        except Exception as error:  # noqa: BLE001 -- the database or Temporal away: next round
            log.warning("alarm sweep failed", error=str(error))
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass


# ----- reading a unit's alarms ------------------------------------------------------------------

class EpisodeView(BaseModel):
    id: int
    key: str
    action: str
    code: str
    severity: str | None
    symptom: str
    opened_at: datetime
    last_at: datetime
    alarms: int
    active: int
    cleared_at: datetime | None
    case_id: str | None


class AlarmView(BaseModel):
    alarm_id: str
    code: str
    severity: str
    raised_at: datetime
    cleared_at: datetime | None
    values: list[dict[str, Any]]
    message: str
    outcome: str
    episode_id: int | None
    trend_episode_id: int | None


class AlarmStream(BaseModel):
    serial: str
    episodes: list[EpisodeView]
    alarms: list[AlarmView]


@router.get("/equipment/{serial}/alarms", response_model=AlarmStream)
async def unit_alarms(
    serial: Serial,
    principal: Annotated[Principal, allowed(Capability.read_equipment)],
    sessions: SessionsDep,
    case_id: Annotated[str | None, Query(max_length=64,
                                         description="only the episodes of this case")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AlarmStream:
    """The unit's alarm stream, newest first: its fault episodes (what each did, the case it
    opened or fed) and its latest alarms. An engineer serving one hospital: its units only."""
    def read() -> AlarmStream:
        with sessions() as session:
            found = directory.equipment(session, serial)
            if found is None:
                raise UnknownRecord(f"no equipment with serial {serial!r}")
            _readable(principal, found[0].hospital_id)
            episodes, rows = store.stream(session, serial, limit=limit, case_id=case_id)
            return AlarmStream(serial=serial, episodes=[_episode(e) for e in episodes],
                               alarms=[_alarm(a) for a in rows])
    return await run_in_threadpool(read)


def _readable(principal: Principal, hospital_id: str) -> None:
    if principal.scope.limited and principal.scope.hospital_id != hospital_id:
        raise NotPermitted("this unit is at a hospital you do not serve")


def _episode(e: AlarmEpisode) -> EpisodeView:
    return EpisodeView(id=e.id, key=e.key, action=e.action, code=e.code, severity=e.severity,
                       symptom=e.symptom, opened_at=e.opened_at, last_at=e.last_at,
                       alarms=e.alarms, active=e.active, cleared_at=e.cleared_at,
                       case_id=e.case_id)


def _alarm(a: AlarmRow) -> AlarmView:
    return AlarmView(alarm_id=a.alarm_id, code=a.code, severity=a.severity,
                     raised_at=a.raised_at, cleared_at=a.cleared_at, values=a.values,
                     message=a.message, outcome=a.outcome, episode_id=a.episode_id,
                     trend_episode_id=a.trend_episode_id)
