"""Activities of a policy migration (workflows/policy_migration.py): the next pending cases, one
case moved (the `migrate_policy` update) and its result written once, the migration finished."""

from __future__ import annotations

from datetime import datetime, timezone

import structlog
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from caseflow.domain import migration as m
from caseflow.domain.enums import Role
from caseflow.domain.policy_loader import PolicyBook, parse_text
from caseflow.domain.records import Actor
from caseflow.store import directory
from caseflow.store import policy_migrations as store
from caseflow.store.models import Case

log = structlog.get_logger(__name__)


class PolicyMigrations:
    def __init__(self, sessions: sessionmaker[Session], client: Client) -> None:
        self.sessions = sessions
        self.client = client
        self._books: dict[str, PolicyBook] = {}

    @activity.defn(name=m.NEXT_CASES)
    def next_cases(self, ask: m.NextCases) -> list[str]:
        with self.sessions() as session:
            return store.next_pending(session, ask.migration_id, ask.limit)

    @activity.defn(name=m.FINISH_MIGRATION)
    def finish_migration(self, migration_id: str) -> None:
        with self.sessions.begin() as session:
            store.finish(session, migration_id, datetime.now(timezone.utc))
        log.info("policy migration done", migration_id=migration_id)

    @activity.defn(name=m.MIGRATE_CASE)
    async def migrate_case(self, ask: m.CaseAsk) -> m.CaseResult:
        """Send the case its update and write what it answered (once)."""
        with self.sessions() as session:
            migration = store.get(session, ask.migration_id)
            row = store.case(session, ask.migration_id, ask.case_id)
            case = session.query(Case).filter(Case.case_id == ask.case_id).one_or_none()
            assert migration is not None and row is not None, ask
            if row.result != "pending":
                return m.CaseResult(case_id=row.case_id, result=row.result,  # type: ignore[arg-type]
                                    reason=row.reason)
            person = directory.person(session, migration.applied_by or "")
            actor = Actor(id=migration.applied_by or "system",
                          name=person.name if person else (migration.applied_by or "system"),
                          role=Role(person.role) if person else Role.manager)
            reason, text, from_version = migration.reason, migration.policy_text, row.from_version
            opened_at = case.opened_at if case is not None else datetime.now(timezone.utc)
            kind, contract = row.kind, row.contract_code
        book = self._books.get(ask.migration_id) or parse_text(text, "candidate")
        self._books[ask.migration_id] = book
        request = m.PolicyMigration(
            migration_id=ask.migration_id, policy=book.pin(contract, opened_at, kind),
            expected_version=from_version, reason=reason, actor=actor)
        result = await self._ask(ask.case_id, request)
        with self.sessions.begin() as session:
            store.record(session, ask.migration_id, result, datetime.now(timezone.utc))
        return result

    async def _ask(self, case_id: str, request: m.PolicyMigration) -> m.CaseResult:
        try:
            await self.client.get_workflow_handle(case_id).execute_update(
                "migrate_policy", request, result_type=m.MigrationOutcome)
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == "LeftAlone":
                code = (cause.details[0] or {}).get("code", "") if cause.details else ""
                if code == m.MIGRATED_BEFORE:  # this migration moved it; the answer was lost
                    return m.CaseResult(case_id=case_id, result="migrated")
                return m.CaseResult(case_id=case_id, result="left_alone", reason=code)
            return m.CaseResult(case_id=case_id, result="refused", reason=str(cause or error))
        except RPCError as error:
            if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                return m.CaseResult(case_id=case_id, result="left_alone", reason=m.CLOSED)
            raise  # Temporal is away: the activity is retried
        return m.CaseResult(case_id=case_id, result="migrated")
