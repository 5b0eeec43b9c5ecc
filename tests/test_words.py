"""The one table of the domain's words (domain/words.py): every closed vocabulary the server
words in summaries, notices and the Temporal UI has a zh-CN and an English word, and the
summaries a case starts with say words, not codes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from caseflow.domain import adverse_event, emergency
from caseflow.domain.enums import (
    ArrivalMode,
    ComplaintCategory,
    ComplaintOutcome,
    ComplaintStatus,
    EmergencyOutcome,
    EmergencyStatus,
    EmergencyTrigger,
    FaultCategory,
    InstallationStatus,
    PlanStatus,
    RepairOutcome,
    RepairStatus,
    Severity,
    SigningParty,
    VisitStatus,
)
from caseflow.domain.notices import render
from caseflow.domain.policy import CommitmentSpec
from caseflow.domain.policy_loader import load_policy
from caseflow.domain.words import WORDS, local_text, word

VOCABULARIES = {
    "severity": [Severity],
    "status": [RepairStatus, ComplaintStatus, EmergencyStatus, InstallationStatus, VisitStatus,
               PlanStatus, adverse_event.AdverseEventStatus],
    "outcome": [RepairOutcome, ComplaintOutcome, EmergencyOutcome],
    "trigger": [EmergencyTrigger],
    "mode": [ArrivalMode],
    "fault_category": [FaultCategory],
    "complaint_category": [ComplaintCategory],
    "party": [SigningParty],
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def policy():  # type: ignore[no-untyped-def]
    return load_policy().pin(None, datetime(2026, 9, 1, tzinfo=UTC))


def test_every_code_of_every_vocabulary_has_a_word_in_each_language():
    pinned = policy()
    wanted = {name: {code.value for enum in enums for code in enum}
              for name, enums in VOCABULARIES.items()}
    wanted["pause_reason"] = set(pinned.pause_reasons)
    wanted["event_type"] = set(pinned.regulatory.event_types)
    wanted["commitment"] = {key for section in ("repair", "complaint", "emergency",
                                                 "installation", "maintenance")
                            for key, value in getattr(pinned, section)
                            if isinstance(value, CommitmentSpec | dict)
                            and not key.startswith("restore_")}
    for name, codes in wanted.items():
        missing = sorted(codes - set(WORDS[name]))
        assert missing == [], f"{name}: {missing}"
    for name, words in WORDS.items():
        for code, worded in words.items():
            assert set(worded) == {"zh-CN", "en"}, (name, code)
            assert CJK.search(worded["zh-CN"]), (name, code, "zh-CN in Chinese")
            assert not CJK.search(worded["en"]), (name, code, "English without Chinese")


def test_a_word_is_looked_up_in_its_vocabulary_and_an_unknown_code_is_readable():
    assert word("severity", Severity.severe) == "严重"
    assert word("severity", "severe", "en") == "severe"
    assert word("mode", "on_site") == "到场" and word("status", "on_site") == "已到场"
    assert word("status", "no_such_status") == "no such status"
    assert word("commitment", "action-3", default="整改 3") == "整改 3"
    assert word("severity", "minor", "fr") == "轻微", "an unknown language: zh-CN"
    at = datetime(2026, 12, 5, 8, 9, 55, tzinfo=UTC)
    assert local_text(at) == "2026-12-05 16:09"
    assert local_text(at, "Europe/Berlin") == "2026-12-05 09:09 CET"


def test_the_summaries_a_case_starts_with_say_words_not_codes():
    unit = {"hospital_id": "H-DH", "hospital_name": "东湖县人民医院", "serial": "CT-DH-0001",
            "modality": "CT", "brand": "GE", "model": "Revolution"}
    start = emergency.EmergencyStart.model_construct(
        equipment=emergency.EquipmentSnapshot.model_construct(**unit),
        intake=emergency.EmergencyCreate.model_construct(
            trigger=EmergencyTrigger.patient_safety, impact="检查床无法退出"))
    assert emergency.KIND.summary(start) == "应急 CT CT-DH-0001 危及患者安全:检查床无法退出"
    event = adverse_event.AdverseEventStart.model_construct(
        equipment=emergency.EquipmentSnapshot.model_construct(**unit),
        intake=adverse_event.AdverseEventCreate.model_construct(event_type="serious_injury"),
        registration=adverse_event.UnitRegistration.model_construct(jurisdictions=["CN", "EU"]))
    assert adverse_event.KIND.summary(event) == "不良事件 严重伤害 CT-DH-0001(CN、EU)"


def test_an_adverse_event_notice_is_worded_for_its_recipient():
    params = {"case_id": "AE-1", "event_type": "death", "text": "扫描中患者死亡"}
    assert render("adverse-event-opened", params, "zh-CN", None, "", "") == (
        "不良事件 AE-1:死亡", "扫描中患者死亡")
    assert render("adverse-event-opened", params, "en", None, "", "") == (
        "Adverse event AE-1: death", "扫描中患者死亡")
