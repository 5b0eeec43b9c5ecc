"""No case without a clock, over every saved history (the scenario tests check it live: see
the autouse fixture in conftest.py).

Histories recorded before a gap was closed replay as they ran: there the case waited without a
clock in exactly that status, and only where the history has no marker of the patch that closed
the gap. Anything else is a violation.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from caseflow.replay import replayer
from caseflow.workflows.emergency import CLOSING_CLOCK_PATCH
from caseflow.workflows.installation import COMMISSIONED_UNTIL_VERIFIED
from caseflow.workflows.repair import CLASSIFICATION_CLOCK_PATCH
from tests import invariants

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))

# (workflow type, status) the case waited in without a clock before the patch that gave it one
CLOSED_GAPS = {
    ("RepairWorkflow", "awaiting_classification"): CLASSIFICATION_CLOCK_PATCH,
    ("EmergencyResponseWorkflow", "reviewed"): CLOSING_CLOCK_PATCH,
    ("InstallationAcceptanceWorkflow", "commissioned"): COMMISSIONED_UNTIL_VERIFIED,
    ("InstallationAcceptanceWorkflow", "verified"): COMMISSIONED_UNTIL_VERIFIED,
}


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_every_saved_case_has_an_open_commitment_until_it_is_final(path: Path):
    text = path.read_text("utf-8")
    history = WorkflowHistory.from_json(path.stem, text)
    invariants.SEEN.clear()
    result = await replayer([invariants.OpenCommitmentWatch()]).replay_workflow(
        history, raise_on_replay_failure=False)
    seen, invariants.SEEN[:] = list(invariants.SEEN), []
    assert result.replay_failure is None, result.replay_failure
    for violation in seen:
        patch = CLOSED_GAPS.get((violation.workflow_type, violation.status))
        assert patch is not None and patch not in text, str(violation)


async def test_the_watch_sees_a_case_without_a_clock():
    """The check can fail: an installation recorded before its gap was closed is seen waiting
    for its verification with no open commitment."""
    path = next(p for p in HISTORIES if p.stem == "installation_site_fix_to_acceptance")
    history = WorkflowHistory.from_json(path.stem, path.read_text("utf-8"))
    invariants.SEEN.clear()
    await replayer([invariants.OpenCommitmentWatch()]).replay_workflow(history)
    seen, invariants.SEEN[:] = list(invariants.SEEN), []
    assert {v.status for v in seen} == {"commissioned", "verified"}
