"""Notifications written as a template code and its parameters, worded when they are sent in
the recipient's language (zh-CN or en) and with times in their zone (Asia/Shanghai unless
said otherwise). A notification without a template is sent as it was written.

Parameters ending in `_at` are instants (ISO text) shown as local date and time; `action`,
`status`, `severity`, `trigger` and `commitment` values are words of the domain, worded here.
"""

from __future__ import annotations

from datetime import datetime
from string import Formatter
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("zh-CN", "en")
DEFAULT_ZONE = "Asia/Shanghai"

# code -> language -> (subject, body); {name} takes a parameter.
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "repair-opened": {"zh-CN": ("新报修 {case_id}", "{hospital} {unit}:{symptom}"),
                      "en": ("New repair {case_id}", "{hospital} {unit}: {symptom}")},
    "assigned": {"zh-CN": ("派工:{case_id} 由您负责", "{symptom}"),
                 "en": ("Case {case_id} is assigned to you", "{symptom}")},
    "page": {"zh-CN": ("应急呼叫 {case_id}:{hospital} {unit}",
                       "{trigger}:{impact}。请在 {due_at} 前应答。"),
             "en": ("EMERGENCY {case_id}: {hospital} {unit}",
                    "{trigger}: {impact}. Acknowledge by {due_at}.")},
    "escalation": {"zh-CN": ("超时第 {level} 级:{case_id} {commitment}",
                             "{commitment} 应于 {due_at} 完成,已超时。"),
                   "en": ("Breach, level {level}: {case_id} {commitment}",
                          "{commitment} was due {due_at} and is late.")},
    "warning": {"zh-CN": ("即将超时:{case_id} {commitment}", "{commitment} 应于 {due_at} 完成。"),
                "en": ("About to be late: {case_id} {commitment}",
                       "{commitment} is due {due_at}.")},
}

WORDS: dict[str, dict[str, str]] = {
    "patient_safety": {"zh-CN": "危及患者安全", "en": "patient safety at risk"},
    "diagnosis_blocked": {"zh-CN": "影响患者诊断", "en": "patients' diagnosis blocked"},
    "multiple_departments": {"zh-CN": "多个科室受影响", "en": "several departments affected"},
    "arrival": {"zh-CN": "到场/远程接入", "en": "on site or connected"},
    "restore": {"zh-CN": "修复", "en": "restore"},
    "handover": {"zh-CN": "交接确认", "en": "hand-over check"},
    "acknowledge": {"zh-CN": "应答", "en": "acknowledgement"},
    "progress": {"zh-CN": "进度报告", "en": "progress report"},
    "callback": {"zh-CN": "回访", "en": "callback"},
}
WORDED = ("action", "status", "severity", "trigger", "commitment")


def _value(name: str, value: Any, language: str, zone: ZoneInfo) -> str:
    if name.endswith("_at") and isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
        if when.tzinfo is not None:
            return when.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if name in WORDED and isinstance(value, str):
        return WORDS.get(value, {}).get(language, value.replace("_", " "))
    return str(value)


def render(template: str | None, params: dict[str, Any] | None, language: str,
           zone: str | None, subject: str, body: str) -> tuple[str, str]:
    """The subject and body for one recipient; the written ones without a (known) template."""
    texts = TEMPLATES.get(template or "")
    if texts is None:
        return subject, body
    language = language if language in LANGUAGES else "zh-CN"
    where = ZoneInfo(zone or DEFAULT_ZONE)
    values = {k: _value(k, v, language, where) for k, v in (params or {}).items()}
    fields = {name for text in texts[language] for _, name, _, _ in Formatter().parse(text) if name}
    values.update({name: "" for name in fields - set(values)})
    wanted_subject, wanted_body = texts[language]
    return wanted_subject.format(**values), wanted_body.format(**values)
