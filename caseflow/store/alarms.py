"""Taking in a batch of alarms: each alarm once per integration and alarm id, and the fault
episode it belongs to, decided in the same transaction under a lock on the episode's head row
(so concurrent batches and restarted API processes agree: docs/monitoring.md).

Locks are taken in one order by every batch (the unit readings, then the episode heads, each
sorted), so two batches never wait on each other in a circle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from caseflow.domain.monitoring import (
    AlarmAction,
    AlarmIn,
    AlarmItemResult,
    MonitoredRepair,
    MonitoringFigures,
    MonitoringPolicy,
    monitoring_figures,
    trend_reason,
)
from caseflow.domain.reliability_policy import wall_clock
from caseflow.domain.repair import TAKES_ALARMS
from caseflow.store.db import insert_of
from caseflow.store.models import (
    AlarmEpisode,
    AlarmEpisodeHead,
    AlarmRow,
    Case,
    CaseEventRow,
    Equipment,
    UnitReading,
)

OPENING = (AlarmAction.repair.value, AlarmAction.emergency.value, "trend")
NEVER = datetime(1970, 1, 1, tzinfo=timezone.utc)  # a value not read before
# The statuses of a repair that takes alarms, as the case table shows them (`opening`: started,
# intake not recorded yet). An episode whose case has left them has ended (docs/monitoring.md).
TAKING = frozenset({*TAKES_ALARMS, "opening"})
STALE_OPENING = timedelta(minutes=10)  # an `opening` row this old had its start lost


@dataclass
class Taken:
    """What a batch did: one result per item, and the episodes whose cases it is to open, feed
    or tell of a clearing: those it started or cleared, and those its replayed alarms name
    (a retry finishes what the first attempt may have left undone)."""

    results: list[AlarmItemResult]
    episodes: set[int] = field(default_factory=set)


@dataclass
class _New:
    index: int
    alarm: AlarmIn
    unit: Equipment
    policy: MonitoringPolicy
    action: AlarmAction
    row: AlarmRow | None = None
    trend: list[tuple[str, str]] = field(default_factory=list)  # (value name, reason)


def take_alarms(session: Session, *, source: str, items: list[tuple[int, AlarmIn]],
                monitoring: Callable[[str | None], MonitoringPolicy],
                now: datetime) -> Taken:
    """Record the valid `items` (index in the batch, alarm) posted by `source`, refusing item
    by item what names an unknown unit or a code the unit's policy does not know."""
    results: dict[int, AlarmItemResult] = {}
    taken = Taken(results=[])
    serials = sorted({alarm.serial for _, alarm in items})
    units = {unit.serial: unit for unit in session.scalars(
        select(Equipment).where(Equipment.serial.in_(serials)))} if serials else {}
    ids = sorted({alarm.alarm_id for _, alarm in items})
    known = {row.alarm_id: row for row in session.scalars(
        select(AlarmRow).where(AlarmRow.source == source, AlarmRow.alarm_id.in_(ids)))} \
        if ids else {}

    fresh: list[_New] = []
    clears: list[tuple[int, AlarmIn, AlarmRow]] = []
    claimed: dict[str, AlarmIn] = {}  # alarm ids new in this batch
    for index, alarm in items:
        unit = units.get(alarm.serial)
        if unit is None:
            results[index] = _refused(index, alarm, "serial",
                                      f"no equipment with serial {alarm.serial!r}")
            continue
        policy = monitoring(unit.contract_code)
        rule = policy.rule(unit.modality, alarm.code)
        if rule is None:
            results[index] = _refused(index, alarm, "code", f"{alarm.code!r} is not a "
                                      f"{unit.modality} alarm code of the monitoring policy")
            continue
        earlier = known.get(alarm.alarm_id)
        first = claimed.get(alarm.alarm_id)
        if earlier is not None or first is not None:
            same = earlier.serial == alarm.serial and earlier.code == alarm.code and \
                earlier.raised_at == alarm.raised_at if earlier is not None else \
                first is not None and first.same_alarm(alarm.serial, alarm.code, alarm.raised_at)
            if not same:
                results[index] = _refused(index, alarm, "alarm_id", "already used for a "
                                          "different alarm (unit, code or time raised)")
            elif earlier is not None and earlier.cleared_at is None and alarm.cleared_at:
                clears.append((index, alarm, earlier))
            else:
                results[index] = AlarmItemResult(
                    index=index, alarm_id=alarm.alarm_id, status="duplicate", http_status=200,
                    outcome=earlier.outcome if earlier is not None else None,
                    episode_id=earlier.episode_id if earlier is not None else None)
                if earlier is not None and earlier.episode_id is not None:
                    taken.episodes.add(earlier.episode_id)
            continue
        claimed[alarm.alarm_id] = alarm
        fresh.append(_New(index, alarm, unit, policy, rule.action))

    _trends(session, fresh, now)
    heads = _lock_heads(session, fresh, clears)
    # The episodes this batch may touch, loaded once and held here (the session's identity map
    # holds clean objects only weakly: a storm would load its episode again for every alarm).
    wanted = {h.episode_id for h in heads.values() if h.episode_id is not None}
    wanted |= {e for _, _, row in clears for e in (row.episode_id, row.trend_episode_id) if e}
    episodes = {e.id: e for e in session.scalars(
        select(AlarmEpisode).where(AlarmEpisode.id.in_(sorted(wanted))))} if wanted else {}
    linked = sorted({e.case_id for e in episodes.values() if e.case_id})
    statuses = dict(session.execute(select(Case.case_id, Case.status).where(
        Case.case_id.in_(linked))).all()) if linked else {}
    place = _Placing(session, heads, episodes, statuses)
    for item in sorted(fresh, key=lambda n: (n.alarm.raised_at, n.index)):
        episode, outcome = place(item, item.policy.fault_key(item.alarm.code)) \
            if item.action is not AlarmAction.record else (None, "recorded")
        trend_episode, started = None, [episode] if outcome not in ("suppressed", "late") else []
        for name, reason in item.trend:
            trend_episode, trend_outcome = place(item, f"trend:{name}", reason)
            if trend_outcome not in ("suppressed", "late"):
                started.append(trend_episode)
        item.row = AlarmRow(
            source=source, alarm_id=item.alarm.alarm_id, serial=item.alarm.serial,
            code=item.alarm.code, severity=item.alarm.severity.value,
            raised_at=item.alarm.raised_at, cleared_at=item.alarm.cleared_at,
            values=[v.model_dump(mode="json") for v in item.alarm.values],
            message=item.alarm.message, received_at=now, outcome=outcome,
            episode_id=episode.id if episode else None,
            trend_episode_id=trend_episode.id if trend_episode else None)
        # Only the batch that starts an episode opens or feeds its case (and a retry of that
        # batch, whose alarms are duplicates then): the storm's later alarms ask nothing more.
        taken.episodes.update(found.id for found in started if found is not None)
        results[item.index] = AlarmItemResult(
            index=item.index, alarm_id=item.alarm.alarm_id, status="accepted", http_status=201,
            outcome=outcome, episode_id=episode.id if episode else None)
    session.add_all([item.row for item in fresh if item.row is not None])

    for index, alarm, row in clears:
        assert alarm.cleared_at is not None
        session.refresh(row)  # read again under the head's lock: the same clearing, posted
        if row.cleared_at is not None:  # twice at once, is taken by the first only
            results[index] = AlarmItemResult(
                index=index, alarm_id=alarm.alarm_id, status="duplicate", http_status=200,
                outcome=row.outcome, episode_id=row.episode_id)
            continue
        row.cleared_at = alarm.cleared_at
        for episode_id in (row.episode_id, row.trend_episode_id):
            if episode_id is None:
                continue
            episode = episodes[episode_id]
            episode.active = max(episode.active - 1, 0)
            if episode.active == 0 and not episode.clear_fed:
                episode.cleared_at = alarm.cleared_at
                taken.episodes.add(episode_id)  # its case hears of it once, now
        results[index] = AlarmItemResult(index=index, alarm_id=alarm.alarm_id, status="cleared",
                                         http_status=200, outcome=row.outcome,
                                         episode_id=row.episode_id)
    session.flush()
    taken.results = [results[index] for index in sorted(results)]
    return taken


def _refused(index: int, alarm: AlarmIn, where: str, reason: str) -> AlarmItemResult:
    return AlarmItemResult(index=index, alarm_id=alarm.alarm_id, status="refused",
                           http_status=422, field=where, reason=reason)


def _trends(session: Session, fresh: list[_New], now: datetime) -> None:
    """Flag the readings that approach their limit, and keep a reading of each value at least
    its rule's `rate_span` apart, the base of the rate of the next ones."""
    wanted = sorted({(n.alarm.serial, v.name) for n in fresh for v in n.alarm.values
                     if n.policy.trend(n.unit.modality, v.name) is not None})
    if not wanted:
        return
    insert = insert_of(session)
    session.execute(insert(UnitReading).values([
        {"serial": s, "name": name, "value": 0.0, "at": NEVER}
        for s, name in wanted]).on_conflict_do_nothing())
    rows = {(r.serial, r.name): r for r in session.scalars(
        select(UnitReading).where(tuple_(UnitReading.serial, UnitReading.name).in_(wanted))
        .order_by(UnitReading.serial, UnitReading.name).with_for_update())}
    for item in sorted(fresh, key=lambda n: (n.alarm.raised_at, n.index)):
        for value in item.alarm.values:
            rule = item.policy.trend(item.unit.modality, value.name)
            if rule is None:
                continue
            last = rows[(item.alarm.serial, value.name)]
            previous = (last.value, last.at) if last.at > NEVER else None
            reason = trend_reason(rule, value, previous, item.alarm.raised_at)
            if reason is not None:
                item.trend.append((value.name, reason))
            if previous is None or item.alarm.raised_at >= last.at + wall_clock(rule.rate_span):
                last.value, last.at = value.value, item.alarm.raised_at  # the next one's base


def _lock_heads(session: Session, fresh: list[_New],
                clears: list[tuple[int, AlarmIn, AlarmRow]]) -> dict[tuple[str, str], AlarmEpisodeHead]:
    keys = {(n.alarm.serial, n.policy.fault_key(n.alarm.code)) for n in fresh
            if n.action is not AlarmAction.record}
    keys |= {(n.alarm.serial, f"trend:{name}") for n in fresh for name, _ in n.trend}
    cleared = [episode for _, _, row in clears for episode in (row.episode_id, row.trend_episode_id)
               if episode is not None]
    if cleared:
        keys |= {(e.serial, e.key) for e in session.execute(
            select(AlarmEpisode.serial, AlarmEpisode.key).where(AlarmEpisode.id.in_(cleared)))}
    if not keys:
        return {}
    ordered = sorted(keys)
    session.execute(insert_of(session)(AlarmEpisodeHead).values(
        [{"serial": s, "key": k, "episode_id": None} for s, k in ordered]).on_conflict_do_nothing())
    heads = session.scalars(
        select(AlarmEpisodeHead).where(tuple_(AlarmEpisodeHead.serial, AlarmEpisodeHead.key)
                                       .in_(ordered))
        .order_by(AlarmEpisodeHead.serial, AlarmEpisodeHead.key).with_for_update())
    return {(h.serial, h.key): h for h in heads}


class _Placing:
    """Places alarms in episodes under the head locks this batch holds."""

    def __init__(self, session: Session, heads: dict[tuple[str, str], AlarmEpisodeHead],
                 episodes: dict[int, AlarmEpisode], statuses: dict[str, str]) -> None:
        self.session, self.heads, self.episodes = session, heads, episodes
        self.statuses = statuses  # of the cases the episodes opened or fed

    def __call__(self, item: _New, key: str,
                 trend: str | None = None) -> tuple[AlarmEpisode | None, str]:
        """The episode the alarm joins (outcome `suppressed`), or the new one it starts: of the
        code's own action, or (outcome `attach`) added to the case of the fault's episode that
        ended by its clearing while that case still takes alarms."""
        head = self.heads[(item.alarm.serial, key)]
        policy, alarm = item.policy, item.alarm
        window = wall_clock(policy.trend_window if trend else policy.window)
        current = self.episodes.get(head.episode_id) if head.episode_id else None
        raised = 0 if alarm.cleared_at is not None else 1
        if current is None:
            return self._start(item, key, trend, raised), self._action(item, key)
        within = current.opened_at - window <= alarm.raised_at <= current.last_at + window
        case_open = current.case_id is not None and \
            self.statuses.get(current.case_id) in TAKING
        if within and not current.clear_fed and (current.case_id is None or case_open):
            current.alarms += 1  # the episode goes on (a raise before its clearing reached
            current.last_at = max(current.last_at, alarm.raised_at)  # the case reopens it)
            if raised and current.active == 0:
                current.cleared_at = None
            current.active += raised
            return current, "suppressed"
        # The episode has ended: its clearing reached its case, or its case left the statuses
        # that take alarms, or a quiet spell longer than the window passed.
        if within and current.cleared_at is not None and (
                not raised or alarm.raised_at <= current.cleared_at) and (
                case_open or alarm.raised_at <= current.cleared_at):
            current.alarms += 1  # raised before the clearing, or over already: counted only
            current.last_at = max(current.last_at, alarm.raised_at)
            current.active += raised
            return current, "suppressed"
        if within and case_open:  # raised again: a new episode of the same open case
            return self._start(item, key, trend, raised, case_id=current.case_id), "attach"
        if alarm.raised_at < current.opened_at - window:
            return None, "late"  # older than the unit's latest episode of this fault: kept only
        return self._start(item, key, trend, raised), self._action(item, key)

    @staticmethod
    def _action(item: _New, key: str) -> str:
        if key.startswith("trend:"):
            return "trend"
        rule = item.policy.rule(item.unit.modality, item.alarm.code)
        assert rule is not None
        return rule.action.value

    def _start(self, item: _New, key: str, trend: str | None, raised: int,
               case_id: str | None = None) -> AlarmEpisode:
        policy, alarm = item.policy, item.alarm
        if trend is not None:
            rule = policy.trend(item.unit.modality, key.removeprefix("trend:"))
            assert rule is not None
            action, severity, symptom = "trend", rule.severity.value, f"{rule.symptom}: {trend}"
        else:
            code_rule = policy.rule(item.unit.modality, alarm.code)
            assert code_rule is not None
            action = code_rule.action.value
            severity = code_rule.severity.value if code_rule.severity else None
            symptom = code_rule.symptom
        episode = AlarmEpisode(
            serial=alarm.serial, key=key, action=action, code=alarm.code, severity=severity,
            symptom=symptom, intake=alarm.model_dump(mode="json"), opened_at=alarm.raised_at,
            last_at=alarm.raised_at, alarms=1, active=raised,
            cleared_at=alarm.cleared_at if not raised else None, case_id=case_id, fed=False,
            clear_fed=False)
        self.session.add(episode)
        self.session.flush()
        self.episodes[episode.id] = episode
        self.heads[(alarm.serial, key)].episode_id = episode.id
        return episode


# ----- what is left to do for the cases ---------------------------------------------------------

_UNFINISHED = or_(
    and_(AlarmEpisode.action.in_(OPENING + (AlarmAction.attach.value,)),
         AlarmEpisode.fed.is_(False)),
    and_(AlarmEpisode.fed.is_(True), AlarmEpisode.case_id.is_not(None),
         AlarmEpisode.active == 0, AlarmEpisode.cleared_at.is_not(None),
         AlarmEpisode.clear_fed.is_(False)))


def pending(session: Session, episode_ids: set[int]) -> list[AlarmEpisode]:
    """The episodes among these whose case is still to open, to feed, or to hear the clear."""
    if not episode_ids:
        return []
    return list(session.scalars(select(AlarmEpisode).where(
        AlarmEpisode.id.in_(sorted(episode_ids)), _UNFINISHED).order_by(AlarmEpisode.id)))


def unfinished(session: Session, from_id: int, limit: int = 500) -> list[tuple[int, str | None]]:
    """The episodes from this id on whose case is still to open, feed or hear the clear (the
    sweep's look, docs/monitoring.md), each with the integration that posted its alarms."""
    ids = list(session.scalars(select(AlarmEpisode.id).where(
        AlarmEpisode.id >= from_id, _UNFINISHED).order_by(AlarmEpisode.id).limit(limit)))
    if not ids:
        return []
    sources = dict(session.execute(
        select(AlarmRow.episode_id, func.min(AlarmRow.source)).where(
            AlarmRow.episode_id.in_(ids)).group_by(AlarmRow.episode_id)).all())
    trends = [i for i in ids if i not in sources]
    if trends:  # a trend episode's alarms name it as their trend episode
        sources |= dict(session.execute(
            select(AlarmRow.trend_episode_id, func.min(AlarmRow.source)).where(
                AlarmRow.trend_episode_id.in_(trends)).group_by(AlarmRow.trend_episode_id)).all())
    return [(i, sources.get(i)) for i in ids]


def last_episode(session: Session) -> int:
    return session.scalar(select(func.max(AlarmEpisode.id))) or 0


def lowest_unfinished(session: Session) -> int:
    """Where the sweep starts looking (an id; 0 if none is unfinished: from the start)."""
    return session.scalar(select(func.min(AlarmEpisode.id)).where(_UNFINISHED)) or 0


def open_repair_of(session: Session, serial: str, now: datetime) -> str | None:
    """The unit's newest repair that takes alarms (open, not resolved yet): what an `attach`
    episode is added to. A case still `opening` counts (its workflow is starting, or will be
    started by the sweep) unless it was reserved so long ago that its start was surely lost."""
    return session.scalar(select(Case.case_id).where(
        Case.kind == "repair", Case.equipment_serial == serial, Case.case_id.is_not(None),
        or_(Case.status.in_(sorted(TAKES_ALARMS)),
            and_(Case.status == "opening", Case.opened_at >= now - STALE_OPENING)))
        .order_by(Case.opened_at.desc()).limit(1))


def lock_for_clearing(session: Session, episode_id: int) -> AlarmEpisode | None:
    """The episode, under its head's lock, if its clearing is still to be told to its case:
    the caller holds the lock (this transaction open, writing nothing in it) until the case has
    it and `mark_clear_fed` committed, so no alarm of that fault is placed meanwhile (a raise
    then sees the clearing told, and starts a new episode the case hears of after it)."""
    found = session.get(AlarmEpisode, episode_id)
    if found is None:
        return None
    session.scalar(select(AlarmEpisodeHead).where(
        AlarmEpisodeHead.serial == found.serial, AlarmEpisodeHead.key == found.key)
        .with_for_update())
    session.refresh(found)
    if found.case_id is None or not found.fed or found.clear_fed or found.active != 0 or \
            found.cleared_at is None:
        return None
    return found


def mark_fed(session: Session, episode_id: int, case_id: str | None) -> None:
    session.execute(update(AlarmEpisode).where(AlarmEpisode.id == episode_id)
                    .values(fed=True, case_id=case_id))


def mark_clear_fed(session: Session, episode_id: int) -> None:
    session.execute(update(AlarmEpisode).where(AlarmEpisode.id == episode_id)
                    .values(clear_fed=True))


# ----- reading the stream -----------------------------------------------------------------------

def stream(session: Session, serial: str, *, limit: int,
           case_id: str | None = None) -> tuple[list[AlarmEpisode], list[AlarmRow]]:
    """A unit's latest episodes and alarms (of one case's episodes, with `case_id`)."""
    episodes = select(AlarmEpisode).where(AlarmEpisode.serial == serial)
    if case_id is not None:
        episodes = episodes.where(AlarmEpisode.case_id == case_id)
    found = list(session.scalars(episodes.order_by(AlarmEpisode.opened_at.desc()).limit(limit)))
    alarms = select(AlarmRow).where(AlarmRow.serial == serial)
    if case_id is not None:
        alarms = alarms.where(or_(AlarmRow.episode_id.in_([e.id for e in found] or [-1]),
                                  AlarmRow.trend_episode_id.in_([e.id for e in found] or [-1])))
    return found, list(session.scalars(alarms.order_by(AlarmRow.raised_at.desc(),
                                                       AlarmRow.id.desc()).limit(limit)))


def figures(session: Session, serials: list[str], since: datetime,
            until: datetime) -> MonitoringFigures:
    """The monitoring figures of these units over [since, until): alarms raised, episodes
    opened, repairs opened (with the channel their intake names)."""
    if not serials:
        return monitoring_figures(since=since, until=until, serials=[], alarms={},
                                  episodes=[], repairs=[])
    alarms = dict(session.execute(
        select(AlarmRow.serial, func.count()).where(
            AlarmRow.serial.in_(serials), AlarmRow.raised_at >= since, AlarmRow.raised_at < until)
        .group_by(AlarmRow.serial)).all())
    episodes = [(e.serial, e.action, e.case_id) for e in session.execute(
        select(AlarmEpisode.serial, AlarmEpisode.action, AlarmEpisode.case_id).where(
            AlarmEpisode.serial.in_(serials), AlarmEpisode.opened_at >= since,
            AlarmEpisode.opened_at < until))]
    cases = session.execute(select(Case.case_id, Case.equipment_serial, Case.opened_at,
                                   Case.closed_at).where(
        Case.kind == "repair", Case.status != "void", Case.equipment_serial.in_(serials),
        Case.opened_at >= since, Case.opened_at < until)).all()
    channels = {row.case_id: (row.data.get("intake") or {}).get("channel", "phone")
                for row in session.execute(select(CaseEventRow.case_id, CaseEventRow.data).where(
                    CaseEventRow.event == "opened",
                    CaseEventRow.case_id.in_([c.case_id for c in cases])))} if cases else {}
    repairs = [MonitoredRepair(case_id=c.case_id, serial=c.equipment_serial,
                               channel=channels.get(c.case_id, "phone"), opened_at=c.opened_at,
                               closed_at=c.closed_at) for c in cases if c.case_id]
    return monitoring_figures(since=since, until=until, serials=serials, alarms=alarms,
                              episodes=episodes, repairs=repairs)
