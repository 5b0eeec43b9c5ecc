"""Moving open cases to another policy: what a case is asked and what it answers
(docs/sla-policy.md "Changing the policy of open cases").

A case's commitments are recomputed from each one's original start on its calendar, with the
paused time kept; rungs fired stay fired, a rung the new policy makes past due fires once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from caseflow.domain.policy import CasePolicy
from caseflow.domain.records import Actor
from caseflow.domain.search import KindName

# Why a case is left alone (codes; the console words them)
CLOSED = "closed"                    # final status: nothing to move
SAME_POLICY = "same_policy"          # pinned to the candidate already
MIGRATED_BEFORE = "migrated_before"  # this migration moved it already (a retry)
POLICY_CHANGED = "policy_changed"    # moved to another policy since the preview
NO_SECTION = "no_section"            # the candidate has no commitments for its kind
CALENDAR_MISSING = "calendar_missing"  # a commitment runs on a calendar the candidate lacks


class CommitmentMove(BaseModel):
    """One open commitment under the candidate policy."""

    key: str
    round: int
    from_due: datetime | None = Field(description="due now (None while paused)")
    to_due: datetime | None = Field(description="due under the candidate (None while paused)")
    from_seconds: float = Field(description="its working time now, on its calendar")
    to_seconds: float = Field(description="its working time under the candidate")
    paused: bool = Field(description="the case is paused: the due times move by the pause")
    fired: list[int] = Field(description="rungs fired already: they stay fired")
    due_at_once: list[int] = Field(description="rungs the candidate makes past due: each "
                                               "fires once when the case moves")


class CasePreview(BaseModel):
    """What moving one case would change (a query: nothing changes)."""

    case_id: str
    kind: str
    contract_code: str | None
    from_version: str
    to_version: str
    moves: list[CommitmentMove] = []
    left_alone: str | None = Field(default=None, description="why the case would not move")
    detail: str = ""


class PolicyMigration(BaseModel):
    """The update that moves a case: the candidate pinned for its contract and kind."""

    migration_id: str
    policy: CasePolicy
    expected_version: str = Field(description="the case's policy version at the preview")
    reason: str
    actor: Actor


class MigrationOutcome(BaseModel):
    """A case's answer (small: the timeline has the details)."""

    case_id: str
    status: Literal["migrated"]
    from_version: str
    to_version: str
    moved: int = Field(description="commitments whose due time moved")


# ----- the migration run (workflows/policy_migration.py) ----------------------------------------

NEXT_CASES = "next_migration_cases"
MIGRATE_CASE = "migrate_case"
FINISH_MIGRATION = "finish_migration"


class MigrationRun(BaseModel):
    """The migration workflow's input (id = the migration's id); a new run carries its count."""

    migration_id: str
    batch: int = Field(default=20, ge=1, le=200)
    per_minute: int = Field(default=600, ge=1, le=60_000)
    batches: int = 0


class CaseAsk(BaseModel):
    migration_id: str
    case_id: str


class NextCases(BaseModel):
    migration_id: str
    limit: int


class CaseResult(BaseModel):
    case_id: str
    result: Literal["migrated", "left_alone", "refused"]
    reason: str = ""


class Selection(BaseModel):
    """Which open cases a migration is about: every field narrows it (none: every open case)."""

    model_config = {"extra": "forbid"}

    kinds: list[KindName] = Field(default=[], max_length=20)
    contracts: list[str] = Field(default=[], max_length=500)
    hospitals: list[str] = Field(default=[], max_length=500)
    case_ids: list[str] = Field(default=[], max_length=10_000)


class MigrationCaseView(BaseModel):
    case_id: str
    kind: str
    contract_code: str | None
    from_version: str
    moves: list[CommitmentMove]
    left_alone: str | None = Field(description="why the preview leaves it alone (a code)")
    detail: str = ""
    result: Literal["pending", "migrated", "left_alone", "refused"]
    reason: str = Field(default="", description="why it was left alone or refused")
    done_at: datetime | None = None


class MigrationView(BaseModel):
    migration_id: str
    status: Literal["previewed", "running", "done"]
    policy_version: str = Field(description="the policy the cases move to")
    in_force_version: str = Field(description="the policy in force at the preview")
    selection: Selection
    created_by: str
    created_at: datetime
    reason: str
    applied_by: str | None
    applied_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int] = Field(description="cases by result: pending, migrated, "
                                               "left_alone, refused")
    cases: list[MigrationCaseView]
