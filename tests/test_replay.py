"""Saved histories replay against today's workflow code; a changed history is caught."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from caseflow.domain import complaint as c
from caseflow.replay import replayer
from caseflow.workflows.complaint import ComplaintWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
# A history from before the lean patch: its steps are recorded by scheduled activities, which
# the tampering tests below rename.
WITH_ACTIVITIES = Path(__file__).parent / "histories" / "complaint_reopened_then_closed.json"


def test_there_is_a_saved_history_per_workflow():
    from caseflow.workflows.catalog import workflows

    saved = {json.loads(p.read_text("utf-8"))["events"][0]
             ["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
             for p in HISTORIES}
    assert {w.__name__ for w in workflows()} <= saved


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_saved_history_replays_against_current_code(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text("utf-8"))
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_replay_reports_a_history_the_code_would_not_produce():
    raw = json.loads(WITH_ACTIVITIES.read_text("utf-8"))
    for event in raw["events"]:
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if scheduled:
            scheduled["activityType"]["name"] = "some_other_activity"
            break
    history = WorkflowHistory.from_json("tampered", raw)
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "some_other_activity" in str(result.replay_failure)


async def test_a_divergence_names_its_event_and_says_why():
    from caseflow.replay import replay_one

    raw = json.loads(WITH_ACTIVITIES.read_text("utf-8"))
    changed = None
    for event in raw["events"]:
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if scheduled:
            scheduled["activityType"]["name"] = "some_other_activity"
            changed = int(event["eventId"])
            break
    outcome = await replay_one(replayer(), "tampered", raw)
    assert not outcome.ok and outcome.event_id == changed
    assert outcome.event_type == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    assert "some_other_activity" in outcome.reason and "Failure {" not in outcome.reason


@workflow.defn(name="ComplaintWorkflow", sandboxed=False)
class ChangedComplaint(ComplaintWorkflow):
    """Today's code, changed: a timer before the complaint's life that no history has."""

    @workflow.run
    async def run(self, start: c.ComplaintStart) -> c.ComplaintResult:
        await workflow.sleep(1)
        return await super().run(start)


async def test_a_changed_workflow_is_reported_divergent_at_its_event():
    """Replayed against changed code (in the test), a saved complaint history diverges, and
    the report says where and why; against today's code it replays."""
    from temporalio.worker import Replayer

    from caseflow.replay import replay_one
    from caseflow.temporal import DATA_CONVERTER
    from caseflow.workflows.catalog import sandbox

    path = next(p for p in HISTORIES if p.stem.startswith("complaint_"))
    raw = json.loads(path.read_text("utf-8"))
    changed = Replayer(workflows=[ChangedComplaint], data_converter=DATA_CONVERTER,
                       workflow_runner=sandbox("full"))
    outcome = await replay_one(changed, path.stem, raw)
    assert not outcome.ok, "the changed code does not produce the recorded trace"
    assert outcome.reason, outcome
    assert (await replay_one(replayer(), path.stem, raw)).ok, "today's code still does"


async def test_replay_in_several_processes_reports_what_one_process_reports(tmp_path):
    """`caseflow replay --jobs 2`: the same OK / divergence lines, in the same order, as one
    process; a tampered history among them is still named."""
    import io

    from rich.console import Console

    from caseflow.replay import replay_files

    raw = json.loads(WITH_ACTIVITIES.read_text("utf-8"))
    for event in raw["events"]:
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if scheduled:
            scheduled["activityType"]["name"] = "some_other_activity"
            break
    (tmp_path / "tampered.json").write_text(json.dumps(raw), "utf-8")
    paths = [*HISTORIES[:6], tmp_path / "tampered.json"]
    lines = {}
    for jobs in (1, 2):
        out = io.StringIO()
        failures = await replay_files(paths, Console(file=out, soft_wrap=True), jobs=jobs,
                                      progress_to=Console(file=io.StringIO()))
        lines[jobs] = out.getvalue().splitlines()
        assert failures == 1
    assert lines[1] == lines[2] and len(lines[1]) == len(paths)
    assert lines[2][-1].startswith("FAIL") and "some_other_activity" in lines[2][-1]


async def test_a_changed_local_activity_of_a_lean_case_is_reported_at_its_marker():
    """A lean case records through local activities, whose markers keep the activity type:
    replay catches a history whose record is not the one today's code makes."""
    import base64

    from caseflow.replay import replay_one

    raw = json.loads((HISTORIES[0].parent / "lean_repair_happy_path.json").read_text("utf-8"))
    changed = None
    for event in raw["events"]:
        marker = event.get("markerRecordedEventAttributes")
        if marker and marker["markerName"] == "core_local_activity":
            payload = marker["details"]["data"]["payloads"][0]
            data = json.loads(base64.b64decode(payload["data"]))
            assert data["activity_type"] == "record_case_events"
            data["activity_type"] = "some_other_activity"
            payload["data"] = base64.b64encode(json.dumps(data).encode()).decode()
            changed = int(event["eventId"])
            break
    outcome = await replay_one(replayer(), "tampered", raw)
    assert not outcome.ok and outcome.event_id == changed
    assert outcome.event_type == "EVENT_TYPE_MARKER_RECORDED"
    assert "some_other_activity" in outcome.reason


async def test_the_sandbox_compiles_its_snippets_once_and_still_catches_a_changed_workflow():
    """The replayer's sandbox (the SDK's, compiling its snippets once per process) replays a
    saved history a second time without compiling anything again, and still reports the
    changed workflow of the test as divergent."""
    from temporalio.worker import Replayer

    from caseflow.replay import replay_one
    from caseflow.temporal import DATA_CONVERTER
    from caseflow.workflows.catalog import _compiled, sandbox

    path = next(p for p in HISTORIES if p.stem.startswith("complaint_"))
    raw = json.loads(path.read_text("utf-8"))
    assert (await replay_one(replayer(), path.stem, raw)).ok
    compiled = _compiled.cache_info()
    assert (await replay_one(replayer(), path.stem, raw)).ok
    again = _compiled.cache_info()
    assert again.misses == compiled.misses, "nothing compiled the second time"
    assert again.hits > compiled.hits, "the snippets came from the cache"
    changed = Replayer(workflows=[ChangedComplaint], data_converter=DATA_CONVERTER,
                       workflow_runner=sandbox("full"))
    assert not (await replay_one(changed, path.stem, raw)).ok


class _ContextCodec(PayloadCodec, WithSerializationContext):
    """A codec that changes nothing but notes each serialization context it is given."""

    def __init__(self, seen: list[SerializationContext], context: SerializationContext | None
                 = None) -> None:
        self.seen, self.context = seen, context

    def with_context(self, context: SerializationContext) -> _ContextCodec:
        return _ContextCodec(self.seen, context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if self.context is not None:
            self.seen.append(self.context)
        return list(payloads)


async def test_a_case_is_asked_for_payload_contexts_only_by_a_converter_that_uses_them(
        monkeypatch: pytest.MonkeyPatch):
    """caseflow's converter ignores serialization contexts, so its sandbox does not enter a
    case to ask for them; a converter with a part that takes contexts still gets them, per
    payload, from inside the case (the SDK's way)."""
    import dataclasses

    from temporalio.worker import Replayer
    from temporalio.worker.workflow_sandbox._runner import _Instance

    from caseflow.replay import replay_one
    from caseflow.temporal import DATA_CONVERTER
    from caseflow.workflows.catalog import context_free, sandbox, workflows

    asked: list[object] = []
    sdk_asks = _Instance.get_serialization_context

    def counted(self: _Instance, command_info: object) -> object:  # the SDK's, counted
        asked.append(command_info)
        return sdk_asks(self, command_info)  # type: ignore[arg-type]

    monkeypatch.setattr(_Instance, "get_serialization_context", counted)
    path = HISTORIES[0].parent / "lean_repair_happy_path.json"
    raw = json.loads(path.read_text("utf-8"))
    assert context_free(DATA_CONVERTER)
    assert (await replay_one(replayer(), path.stem, raw)).ok
    assert asked == [], "a case was entered to ask for a context nothing uses"

    seen: list[SerializationContext] = []
    aware = dataclasses.replace(DATA_CONVERTER, payload_codec=_ContextCodec(seen))
    assert not context_free(aware)
    replaying = Replayer(workflows=workflows(), data_converter=aware,
                         workflow_runner=sandbox("full", aware))
    assert (await replay_one(replaying, path.stem, raw)).ok
    assert asked, "the case was asked for each payload's context"
    # The first activation is decoded in the workflow's context without asking the case; the
    # results of its (local) activities only in theirs, which the case gives when asked.
    assert any(isinstance(c, WorkflowSerializationContext) for c in seen)
    assert any(isinstance(c, ActivitySerializationContext) and c.activity_type for c in seen)
