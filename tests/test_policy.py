"""The SLA policy file: the packaged one loads, contracts override only what they name, and a bad
file stops with a PolicyError naming the file, the field and the reason."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from caseflow.domain.calendar import Duration
from caseflow.domain.enums import Severity
from caseflow.domain.policy_loader import PolicyError, load_policy

CONTRACT = "HT-2025-RJ-001"


def default_raw() -> dict[str, Any]:
    text = resources.files("caseflow.policy").joinpath("default.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def write(tmp_path: Path, raw: Any, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    return str(caught.value)


# ----- the packaged policy -----------------------------------------------------------------------

def test_packaged_policy_loads_with_the_domain_defaults():
    book = load_policy()
    assert book.source == "caseflow/policy/default.yaml"
    assert book.version.startswith("2026.1#")
    policy = book.defaults
    assert policy.timezone == "Asia/Shanghai"
    assert policy.repair.handover.within == Duration.model_validate("1h")
    assert policy.repair.handover.owner == "hotline"
    for severity in ("critical", "severe", "general"):
        assert policy.repair.arrival[Severity(severity)].within == Duration.model_validate("30m")
    assert policy.repair.arrival[Severity.minor].within == Duration.model_validate("24h")
    assert policy.repair.restore[Severity.severe].within == Duration.model_validate("24h")
    assert policy.repair.restore[Severity.general].within == Duration.model_validate("72h")
    assert policy.repair.restore[Severity.minor].within == Duration.model_validate("7d")
    assert policy.repair.customer_confirmation.within == Duration.model_validate("48h")
    assert policy.repair.callback.by == "end_of_day"
    assert policy.ladder.warning_at == 0.75
    assert [(s.level, s.at, s.notify.value) for s in policy.ladder.levels] == [
        (1, 1.0, "supervisor"), (2, 1.5, "manager"), (3, 2.5, "director")]
    assert "customer_postponed" in policy.pause_reasons
    assert CONTRACT in book.contracts


def test_same_file_gives_the_same_version_and_a_changed_file_another(tmp_path):
    raw = default_raw()
    assert load_policy(write(tmp_path, raw, "a.yaml")).version == \
        load_policy(write(tmp_path, raw, "b.yaml")).version
    raw["defaults"]["repair"]["handover"]["within"] = "2h"
    assert load_policy(write(tmp_path, raw, "c.yaml")).version != load_policy().version


def test_contract_override_changes_only_what_it_names():
    book = load_policy()
    default, contract = book.defaults, book.for_contract(CONTRACT)
    assert default.repair.restore[Severity.general].within == Duration.model_validate("72h")
    assert contract.repair.restore[Severity.general].within == Duration.model_validate("48h")
    assert contract.repair.restore[Severity.minor].calendar == "business"
    assert contract.repair.arrival[Severity.minor].calendar == "business"
    assert contract.repair.arrival[Severity.minor].within == Duration.model_validate("1d")

    named = [("restore", "general"), ("restore", "minor"), ("arrival", "minor")]
    left, right = default.model_dump(), contract.model_dump()
    for table, severity in named:
        del left["repair"][table][severity]
        del right["repair"][table][severity]
    assert (left["reliability"].pop("calendar"), right["reliability"].pop("calendar")) == (
        "7x24", "business")  # the contract covers working hours
    assert left == right
    # What the override left out of a named entry is inherited (here the label).
    assert contract.repair.restore[Severity.general].label == \
        default.repair.restore[Severity.general].label


def test_unknown_contract_gets_the_defaults_and_pinning_records_the_contract():
    book = load_policy()
    at = datetime(2026, 11, 22, tzinfo=UTC)
    assert book.for_contract("HT-NOPE") == book.defaults
    assert book.for_contract(None) == book.defaults
    assert book.pin(CONTRACT, at).contract_code == CONTRACT
    assert book.pin("HT-NOPE", at).contract_code is None
    pinned = book.pin(CONTRACT, at)
    assert pinned.policy_version == book.version
    assert pinned.repair.restore[Severity.general].within == Duration.model_validate("48h")
    assert pinned.calendar("business").working_time(Duration.model_validate("1d")) == \
        timedelta(hours=9, minutes=30)


# ----- bad files: refused at load, naming the file, the field and the reason -------------------

def _set(*path: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        target = raw
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _delete(*path: str) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        target = raw
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


LEVELS = ("defaults", "ladder", "levels")
BAD_FILES = {
    "bad duration": (_set("defaults", "repair", "handover", "within", value="1 hour"),
                     ["defaults.repair.handover.within", "'1 hour' is not a duration"]),
    "bad duration in a contract": (
        _set("contracts", CONTRACT, "repair", "restore", "general", "within", value="fast"),
        [f"contracts.{CONTRACT}.repair.restore.general.within", "'fast' is not a duration"]),
    "unknown calendar": (_set("defaults", "repair", "arrival", "minor", "calendar",
                              value="bizness"),
                         ["repair.arrival.minor", "unknown calendar 'bizness'"]),
    "unknown key": (_set("defaults", "repair", "handover", "whithin", value="1h"),
                    ["defaults.repair.handover.whithin", "Extra inputs are not permitted"]),
    "unknown top-level key": (_set("defualts", value={}), ["defualts", "unknown top-level key"]),
    "ladder out of order": (
        _set(*LEVELS, value=[{"level": 1, "at": 1.0, "notify": "supervisor"},
                             {"level": 2, "at": 2.5, "notify": "manager"},
                             {"level": 3, "at": 1.5, "notify": "director"}]),
        ["defaults.ladder.levels", "increasing 'at'"]),
    "ladder skips a level": (
        _set(*LEVELS, value=[{"level": 1, "at": 1.0, "notify": "supervisor"},
                             {"level": 3, "at": 2.5, "notify": "director"}]),
        ["defaults.ladder.levels", "numbered 1, 2, 3"]),
    "missing severity": (_delete("defaults", "repair", "restore", "minor"),
                         ["defaults.repair.restore", "missing severities: minor"]),
    "missing version": (_delete("version"), ["version", "required"]),
    "quotation pause left out": (_set("defaults", "pause_reasons", value=["customer_postponed"]),
                                 ["awaiting_quotation_approval"]),
    "unknown time zone": (_set("defaults", "timezone", value="Asia/Shanghia"),
                          ["defaults.timezone", "Asia/Shanghia"]),
    "unknown holidays country": (
        _set("defaults", "calendars", "business", "holidays_country", value="XX"),
        ["defaults.calendars.business.holidays_country", "XX"]),
    "urgent rung not on the ladder": (
        _set("defaults", "ladder", "at_once", "general", value=[1, 7]),
        ["defaults.ladder", "at_once.general: no rung [7]"]),
    "calendar without a working day": (
        _set("defaults", "calendars", "business", "workdays", value=[]),
        ["defaults.calendars.business", "at least one working day"]),
    "group clock of an unknown jurisdiction": (
        _set("defaults", "regulatory", "group", "clocks", "BR",
             value={"report": {"within": "12h", "source": "?"}}),
        ["defaults.regulatory", "group.clocks.BR: unknown jurisdiction 'BR'"]),
    "group as an event type": (
        _set("defaults", "regulatory", "event_types",
             value=["death", "serious_injury", "malfunction", "public_health_threat", "group"]),
        ["defaults.regulatory", "'group' is the type of a group event"]),
    "group of one event": (_set("defaults", "regulatory", "group", "count", value=1),
                           ["defaults.regulatory.group.count", "greater than or equal to 2"]),
    "group on an unknown field": (_set("defaults", "regulatory", "group", "same",
                                       value=["model", "colour"]),
                                  ["defaults.regulatory.group.same.1", "'fault_category'"]),
}


@pytest.mark.parametrize("change, fragments", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_policy_file_is_refused_naming_file_field_and_reason(tmp_path, change, fragments):
    raw = default_raw()
    change(raw)
    path = write(tmp_path, raw)
    message = refused(path)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_invalid_yaml_names_file_and_reason(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("version: '1'\ndefaults: [unclosed\n", "utf-8")
    message = refused(path)
    assert str(path) in message
    assert "not valid YAML" in message


def test_missing_file_names_file_and_reason(tmp_path):
    path = tmp_path / "nowhere.yaml"
    message = refused(path)
    assert str(path) in message
    assert "cannot read" in message and "No such file" in message


def test_a_good_override_file_loads(tmp_path):
    raw = copy.deepcopy(default_raw())
    raw["contracts"]["HT-TEST"] = {"repair": {"handover": {"within": "2h"}}}
    book = load_policy(write(tmp_path, raw))
    assert book.source == str(tmp_path / "policy.yaml")
    assert book.for_contract("HT-TEST").repair.handover.within == Duration.model_validate("2h")
    assert book.for_contract("HT-TEST").repair.handover.owner == "hotline"


def test_a_contract_may_turn_an_end_of_day_commitment_into_a_duration(tmp_path):
    source = (Path(__file__).parent.parent / "caseflow" / "policy" / "default.yaml").read_text()
    path = tmp_path / "policy.yaml"
    path.write_text(source.replace("contracts:\n", "contracts:\n  HT-X:\n    repair:\n"
                                   "      callback: {within: 4h}\n", 1), "utf-8")
    book = load_policy(path)
    assert book.contracts["HT-X"].repair.callback.within == Duration.model_validate("4h")
    assert book.contracts["HT-X"].repair.callback.by is None
    assert book.defaults.repair.callback.by == "end_of_day"


def test_a_case_is_pinned_with_its_own_kind_of_commitments_only():
    """The pinned policy is part of a case's start event: a repair carries the repair section,
    not the other kinds' (their cases pin their own)."""
    from datetime import datetime, timezone

    book = load_policy()
    at = datetime(2026, 12, 1, tzinfo=timezone.utc)
    whole = book.pin(None, at)
    repair = book.pin(None, at, "repair")
    complaint = book.pin(None, at, "complaint")
    assert repair.repair == whole.repair and repair.complaint is None and repair.emergency is None
    assert complaint.complaint == whole.complaint and complaint.repair is None
    assert repair.ladder == whole.ladder
    # Every calendar but those only the regulators' clocks name (FDA work days): an adverse
    # event pins those with its own section.
    assert repair.calendars == {k: v for k, v in whole.calendars.items() if k != "us-workdays"}
    assert book.pin(None, at, "adverse_event").calendars == whole.calendars
    assert len(repair.model_dump_json()) < len(whole.model_dump_json()) * 0.7
    other = whole.only("toy")  # a kind without a section of its own: no commitments at all
    assert (other.repair, other.complaint, other.emergency, other.installation,
            other.maintenance) == (None,) * 5 and other.ladder == whole.ladder


def test_which_rungs_go_out_at_once_is_set_per_severity_and_level(tmp_path):
    ladder = load_policy(write(tmp_path, default_raw())).for_contract("HT-ANY").ladder
    # The packaged default: breaches of critical and severe cases at once, warnings and every
    # rung of general and minor cases in their recipients' working hours.
    assert [ladder.urgent(Severity.severe, level) for level in range(4)] == [False, True, True, True]
    assert [ladder.urgent(Severity.general, level) for level in range(4)] == [False] * 4
    assert ladder.urgent(None, 1)  # not classified yet: as critical
    raw = copy.deepcopy(default_raw())
    raw["defaults"]["ladder"]["at_once"]["general"] = [1]
    ladder = load_policy(write(tmp_path, raw)).for_contract("HT-ANY").ladder
    assert [ladder.urgent(Severity.general, level) for level in range(4)] == [False, True, False, False]
