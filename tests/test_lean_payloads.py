"""A pinned policy in a workflow's history leaves out what is at its defaults (LeanInHistory):
the payload is shorter, reads back the same, and the defaults it relies on never change."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

import pytest

from caseflow.domain.calendar import LeanInHistory, WorkingCalendar
from caseflow.domain.policy import CasePolicy, CommitmentSpec
from caseflow.domain.policy_loader import load_policy
from caseflow.temporal import DATA_CONVERTER

CONVERTER = DATA_CONVERTER.payload_converter

# What every history written since the lean payloads leaves out. Changing one of these would
# change what those histories mean on replay: give a new meaning a new field instead.
FROZEN_DEFAULTS = {
    CommitmentSpec: {"within": None, "by": None, "calendar": "7x24", "pausable": True,
                     "owner": "assignee", "label": "", "paging": False, "remind_every": None},
    WorkingCalendar: {"timezone": "Asia/Shanghai", "always_open": False,
                      "workdays": (0, 1, 2, 3, 4), "opens": time(8, 0), "closes": time(17, 30),
                      "holidays": (), "extra_workdays": ()},
}


def _lean_models() -> set[type]:
    found, todo = set(), [LeanInHistory]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return found


def test_the_defaults_a_lean_history_leaves_out_are_frozen() -> None:
    assert _lean_models() == set(FROZEN_DEFAULTS), "list a new LeanInHistory model's defaults"
    for model, defaults in FROZEN_DEFAULTS.items():
        now = {name: field.default for name, field in model.model_fields.items()
               if not field.is_required()}
        assert now == defaults, model.__name__


@pytest.mark.parametrize("kind", ["repair", "complaint", "emergency", "installation",
                                  "maintenance", "review"])
def test_a_pinned_policy_is_shorter_in_a_payload_and_reads_back_the_same(kind: str) -> None:
    policy = load_policy().pin(None, datetime(2026, 12, 6, 9, tzinfo=UTC), kind)
    payload = CONVERTER.to_payloads([policy])[0]
    assert len(payload.data) < 0.85 * len(policy.model_dump_json().encode())
    assert CONVERTER.from_payloads([payload], [CasePolicy])[0] == policy


def test_a_payload_leaves_out_exactly_the_fields_at_their_defaults() -> None:
    spec = CommitmentSpec(within="30m", pausable=False, owner="hotline", label="到场")
    written = json.loads(CONVERTER.to_payloads([spec])[0].data)
    assert written == {"within": "30m", "pausable": False, "owner": "hotline", "label": "到场"}
    calendar = WorkingCalendar(name="business", holidays=(date(2026, 10, 1),),
                               timezone="Europe/Berlin")
    written = json.loads(CONVERTER.to_payloads([calendar])[0].data)
    assert written == {"name": "business", "timezone": "Europe/Berlin",
                       "holidays": ["2026-10-01"]}


def test_outside_a_history_the_models_are_whole() -> None:
    spec = CommitmentSpec(within="30m")
    assert set(spec.model_dump(mode="json")) == set(CommitmentSpec.model_fields)
    assert set(json.loads(spec.model_dump_json())) == set(CommitmentSpec.model_fields)
    assert set(WorkingCalendar(name="7x24", always_open=True).model_dump(mode="json")) == \
        set(WorkingCalendar.model_fields)

