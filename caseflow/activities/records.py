"""Recording activities: timeline events, the case projection, escalations and their notices.

Each write is keyed by (case id, workflow sequence number), so a retried activity finds its
earlier write and stops: recorded once, notified once, and counted in the metrics once. A
projection carries only the commitments that changed; they are merged into the case row by
(key, round), each kept as the latest event that reported it says.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import structlog
from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from caseflow.domain.notices import render
from caseflow.domain.records import (
    RECORD_CASE_EVENT,
    RECORD_CASE_EVENTS,
    RECORD_ESCALATION,
    CaseEvent,
    CaseEvents,
    CaseProjection,
    EscalationRecord,
    NoticeRequest,
)
from caseflow.metrics import CaseMetrics, Progress, progress
from caseflow.store import directory
from caseflow.store.db import insert_of
from caseflow.store.models import Case, CaseEventRow, Escalation, Notification
from caseflow.store.subscriptions import fan_out

log = structlog.get_logger(__name__)


class _Written(Exception):
    """The batch being recorded is on the timeline already (an earlier attempt wrote it)."""


def rung_event(level: int) -> str:
    """The timeline event of a fired rung: reminders (< 0), the warning (0), escalations."""
    return "reminder" if level < 0 else "warning" if level == 0 else "escalation"


class CaseRecords:
    def __init__(self, sessions: sessionmaker[Session], metrics: CaseMetrics | None = None) -> None:
        self.sessions = sessions
        self.metrics = metrics or CaseMetrics()

    @activity.defn(name=RECORD_CASE_EVENTS)
    def record_case_events(self, record: CaseEvents) -> int:
        """Write the events of one step (or of an intake), their notices and the projection
        after them in one transaction; returns the number of the last event (0 if the batch
        was written already). Cases run it as a local activity."""
        written = self._record(record.events, record.projection)
        return record.events[-1].seq if written else 0

    @activity.defn(name=RECORD_CASE_EVENT)
    def record_case_event(self, event: CaseEvent) -> bool:
        """Write one timeline event, the projection and its notices; False if already written
        (cases opened before the lean-histories patch record each event this way)."""
        assert event.projection is not None
        return self._record([event], event.projection)

    def _record(self, events: list[CaseEvent], projection: CaseProjection) -> bool:
        """The events, their notices, the projection after the last and the subscriptions'
        deliveries, in one transaction; False if an earlier attempt wrote them."""
        first = events[0]
        try:
            with self.sessions.begin() as session:
                rows = self._write_events(session, events, projection.hospital_id)
                change = self._project(session, projection, events[-1].seq)
                fan_out(session, *rows)
        except _Written:
            return False
        except IntegrityError:
            return self._raced(first.case_id, first.seq)
        self._counted(events, projection, change)
        return True

    def _write_events(self, session: Session, events: list[CaseEvent],
                      hospital_id: str) -> list[Row[tuple[int, str, str, int]]]:
        """Insert the events' timeline rows in one statement, then their notices; the rows'
        (id, case_id, event, seq) in the order of the events (a RETURNING promises no order,
        and subscription deliveries are sent in the order they are written). Raises `_Written`
        (the caller's transaction then writes nothing) when the first event is on the timeline
        already: an earlier attempt of the same activity wrote the batch. Keyed on (case id,
        seq): an attempt still writing it is waited for by the database, not raced."""
        table = CaseEventRow.__table__
        statement = insert_of(session)(table).on_conflict_do_nothing(
            index_elements=["case_id", "seq"]).returning(
            table.c.id, table.c.case_id, table.c.event, table.c.seq)
        rows = session.execute(statement, [self._event_values(e) for e in events]).all()
        written = {row.seq for row in rows}
        if events[0].seq not in written:
            raise _Written
        if len(written) < len(events):
            raise RuntimeError(f"events {sorted(e.seq for e in events)} of case "
                               f"{events[0].case_id} clashed with another write; retrying")
        for event in events:
            for index, notice in enumerate(event.notices):
                self._enqueue(session, event.case_id, f"{event.case_id}/{event.seq}/{index}",
                              notice, hospital_id)
        return sorted(rows, key=lambda row: row.seq)

    def _counted(self, events: list[CaseEvent], projection: CaseProjection,
                 change: Progress | None) -> None:
        """After the commit: the metrics and the log lines of what was written."""
        for event in events:
            if event.event == "opened":
                self.metrics.opened(projection.kind)
            log.info("case event recorded", case_id=event.case_id, workflow_id=event.workflow_id,
                     run_id=event.run_id, seq=event.seq, case_event=event.event,
                     summary=event.summary)
        if change is not None:
            self.metrics.progressed(change)

    @activity.defn(name=RECORD_ESCALATION)
    def record_escalation(self, record: EscalationRecord) -> bool:
        """Record a fired rung once, put it on the timeline and notify whoever it goes to."""
        bound = log.bind(case_id=record.case_id, workflow_id=record.workflow_id,
                         run_id=record.run_id, commitment=record.commitment, level=record.level)
        now = datetime.now(timezone.utc)
        try:
            with self.sessions.begin() as session:
                if self._seen(session, record.case_id, record.seq):
                    return False
                session.add(Escalation(
                    case_id=record.case_id, commitment=record.commitment, label=record.label,
                    round=record.round, level=record.level, notify=record.notify,
                    scheduled_at=record.scheduled_at, fired_at=record.fired_at,
                    due_at=record.due_at, recorded_at=now))
                session.add(row := CaseEventRow(
                    case_id=record.case_id, seq=record.seq,
                    event=rung_event(record.level), at=record.fired_at,
                    actor_id="system", actor_name="caseflow", actor_role=None,
                    summary=record.summary, workflow_id=record.workflow_id, run_id=record.run_id,
                    data={"commitment": record.commitment, "round": record.round,
                          "level": record.level, "notify": record.notify,
                          "scheduled_at": record.scheduled_at.isoformat(),
                          "due_at": record.due_at.isoformat() if record.due_at else None}))
                change = self._project(session, record.projection, record.seq)
                notice = NoticeRequest(
                    urgent=record.urgent, template=rung_event(record.level),
                    params={"case_id": record.case_id, "commitment": record.commitment,
                            "round": record.round, "level": record.level,
                            "notify": record.notify,
                            "due_at": record.due_at.isoformat() if record.due_at else ""})
                key = f"{record.case_id}/esc/{record.commitment}/{record.round}/{record.level}"
                for person_id in self._recipients(session, record):
                    self._enqueue(session, record.case_id, key,
                                  notice.model_copy(update={"to_person_id": person_id}),
                                  record.hospital_id)
                fan_out(session, row)
        except IntegrityError:
            return self._raced(record.case_id, record.seq)
        lateness = record.fired_at - record.scheduled_at
        self.metrics.rung_fired(record.projection.kind, record.level, lateness)
        if change is not None:
            self.metrics.progressed(change)
        bound.warning("escalation recorded", summary=record.summary,
                      lateness_ms=round(lateness.total_seconds() * 1000))
        return True

    # ----- internals ----------------------------------------------------------------------------

    def _raced(self, case_id: str, seq: int) -> bool:
        """After a unique-key clash: fine if this event is now written (another attempt of the
        same activity won); otherwise raise, so Temporal retries and nothing is lost."""
        with self.sessions() as session:
            if self._seen(session, case_id, seq):
                return False
        raise RuntimeError(f"event {seq} of case {case_id} clashed with another write; retrying")

    @staticmethod
    def _seen(session: Session, case_id: str, seq: int) -> bool:
        return session.scalar(select(CaseEventRow.id).where(
            CaseEventRow.case_id == case_id, CaseEventRow.seq == seq)) is not None

    @staticmethod
    def _event_values(event: CaseEvent) -> dict[str, Any]:
        return dict(
            case_id=event.case_id, seq=event.seq, event=event.event, at=event.at,
            actor_id=event.actor.id, actor_name=event.actor.name,
            actor_role=event.actor.role.value if event.actor.role else None,
            summary=event.summary, data=event.data, workflow_id=event.workflow_id,
            run_id=event.run_id)

    @staticmethod
    def _project(session: Session, projection: CaseProjection, seq: int) -> Progress | None:
        """Bring the case row up to this event: its commitments merged round by round (each
        as the latest event that reported it), its other fields unless a later event already
        set them. None when nothing the metrics count changed."""
        # Normally the API reserved the row (locked at once); a case opened by another case may
        # not have one yet: created if missing without racing a concurrent event, then locked,
        # so a concurrent write of an older event cannot overwrite a newer one.
        locked = select(Case.projection_seq, Case.commitments, Case.closed_at).where(
            Case.case_id == projection.case_id).with_for_update()
        row = session.execute(locked).first()
        if row is None:
            now = datetime.now(timezone.utc)
            session.execute(insert_of(session)(Case).values(
                case_id=projection.case_id, kind=projection.kind, status=projection.status,
                hospital_id=projection.hospital_id, opened_at=projection.opened_at,
                updated_at=now, projection_seq=0, breached=False,
            ).on_conflict_do_nothing(index_elements=["case_id"]))
            row = session.execute(locked).first()
        assert row is not None
        newer = row.projection_seq < seq
        stored = {(c["key"], c["round"]): c for c in row.commitments or []}
        reported = [c for c in projection.commitments
                    if stored.get((c.key, c.round), {}).get("seq", 0) < seq]
        change = progress(row.closed_at is not None or not newer, row.commitments,
                          projection.model_copy(update={"commitments": reported}))
        values: dict[str, Any] = {"updated_at": datetime.now(timezone.utc)}
        for view in reported:
            stored[(view.key, view.round)] = view.model_dump(mode="json") | {"seq": seq}
        if reported:
            values["commitments"] = list(stored.values())
        if newer:
            for field in ("kind", "status", "severity", "hospital_id", "equipment_serial",
                          "assignee_id", "breached", "title", "opened_at", "closed_at",
                          "policy_version", "next_due_at", "next_due_key"):
                values[field] = getattr(projection, field)
            values["projection_seq"] = seq
        table = Case.__table__
        session.execute(update(table).where(table.c.case_id == bindparam("case")),
                        values | {"case": projection.case_id})
        return change if (change.closed or change.met or change.breached) else None

    @staticmethod
    def _recipients(session: Session, record: EscalationRecord) -> list[str]:
        if record.notify == "assignee" and record.assignee_id:
            return [record.assignee_id]
        role = "supervisor" if record.notify == "assignee" else record.notify
        return directory.ids_with_role(session, role, record.hospital_id)

    @staticmethod
    def _enqueue(session: Session, case_id: str, key: str, notice: NoticeRequest,
                 hospital_id: str) -> None:
        if notice.to_person_id:
            recipients = [notice.to_person_id]
        elif notice.to_role:
            recipients = directory.ids_with_role(session, notice.to_role.value, hospital_id)
        else:
            recipients = []
        now = datetime.now(timezone.utc)
        subject, body = render(notice.template, notice.params, "zh-CN", None, notice.subject,
                               notice.body)
        if recipients:  # one statement for all of them (the table's defaults: pending...)
            session.execute(insert(Notification.__table__), [dict(
                dedupe_key=f"{key}/{person_id}", case_id=case_id, person_id=person_id,
                subject=subject[:300], body=body, urgent=notice.urgent,
                template=notice.template, params=notice.params or None, created_at=now)
                for person_id in recipients])
