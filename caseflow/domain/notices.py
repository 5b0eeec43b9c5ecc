"""Notifications written as a template code and its parameters, worded when they are sent in
the recipient's language (zh-CN or en) and with times in their zone (Asia/Shanghai unless
said otherwise). A notification without a template is sent as it was written.

Parameters ending in `_at` are instants (ISO text) shown as local date and time (with the
zone's abbreviation outside Asia/Shanghai); the values of the parameters named in `WORDED`
(a commitment's key, a trigger, whom a rung told...) are words of the domain, worded from
the one table of domain/words.py.
The outbox row keeps the zh-CN wording too, for a reader of the rows.
"""

from __future__ import annotations

import re
from datetime import datetime
from string import Formatter
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from caseflow.domain.words import DEFAULT_ZONE, LANGUAGES, commitment_word, local_text, word

# code -> language -> (subject, body); {name} takes a parameter. `case_id` names the case,
# `unit` the modality and serial, `hospital` the hospital's name, `text` what a person typed.
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "repair-opened": {"zh-CN": ("新报修 {case_id}", "{hospital} {unit}:{text}"),
                      "en": ("New repair {case_id}", "{hospital} {unit}: {text}")},
    "assigned": {"zh-CN": ("派工:{case_id} 由您负责", "{unit} {text}"),
                 "en": ("Case {case_id} is assigned to you", "{unit} {text}")},
    "critical-repair": {"zh-CN": ("紧急:维修 {case_id} 为危急故障", "需启动应急响应。"),
                        "en": ("Critical repair {case_id}", "An emergency response is required.")},
    "approve-work": {"zh-CN": ("待批准开工 {case_id}", "{text}"),
                     "en": ("Approve the start of work on {case_id}", "{text}")},
    "work-approved": {"zh-CN": ("可以开工 {case_id}", "{text}"),
                      "en": ("Work approved on {case_id}", "{text}")},
    "quotation": {"zh-CN": ("报价待客户确认 {case_id}", "{amount} {currency}"),
                  "en": ("Quotation for {case_id} awaits the customer", "{amount} {currency}")},
    "quotation-approved": {"zh-CN": ("报价已同意 {case_id}", "{text}"),
                           "en": ("Quotation approved on {case_id}", "{text}")},
    "quotation-declined": {"zh-CN": ("报价被拒绝 {case_id}", "{text}"),
                           "en": ("Quotation declined on {case_id}", "{text}")},
    "confirm-repair": {"zh-CN": ("请客户确认 {case_id}", "{text}"),
                       "en": ("Ask the customer to confirm {case_id}", "{text}")},
    "disputed": {"zh-CN": ("客户异议 {case_id}", "{text}"),
                 "en": ("The customer disputes the repair {case_id}", "{text}")},
    "dissatisfied": {"zh-CN": ("客户不满意 {case_id}", "满意度 {satisfaction}/5:{text}"),
                     "en": ("Dissatisfied callback {case_id}", "satisfaction {satisfaction}/5: {text}")},
    "alarm": {"zh-CN": ("设备告警 {case_id}", "{code} 告警 {alarms} 次 {values}"),
              "en": ("Unit alarm on {case_id}", "{code}: {alarms} alarms {values}")},
    "alarm-cleared": {"zh-CN": ("告警已自行恢复 {case_id}",
                                "{code} 告警 {alarms} 次均已恢复,无人处理前已恢复,可按自行恢复结案。"),
                      "en": ("Alarm cleared by itself on {case_id}",
                             "{code}: all {alarms} alarms cleared before anyone acted; it may "
                             "be closed as self-resolved.")},
    "self-resolved": {"zh-CN": ("自行恢复结案 {case_id}", "{text}"),
                      "en": ("{case_id} closed as self-resolved", "{text}")},
    "link-trouble": {"zh-CN": ("{event}({case_id})", "{text}"),
                     "en": ("{event} ({case_id})", "{text}")},
    "corrective-action": {"zh-CN": ("整改措施 {action_id}({case_id})", "{text}(截止 {due_at})"),
                          "en": ("Corrective action {action_id} ({case_id})",
                                 "{text} (due {due_at})")},
    "review-opened": {"zh-CN": ("待可报告性评审 {case_id}", "评审对象 {origin};规则标记:{flags}"),
                      "en": ("Reportability review {case_id} to decide",
                             "of {origin}; flagged by: {flags}")},
    "complaint-opened": {"zh-CN": ("新投诉 {case_id}", "{text}"),
                         "en": ("New complaint {case_id}", "{text}")},
    "complaint-handler": {"zh-CN": ("投诉 {case_id} 由您负责", "{text}"),
                          "en": ("Complaint {case_id} is yours", "{text}")},
    "complaint-reopened": {"zh-CN": ("投诉重开 {case_id}(第 {level} 级)", "{text}"),
                           "en": ("Complaint {case_id} reopened at level {level}", "{text}")},
    "installation-ordered": {"zh-CN": ("新装机 {case_id}", "{unit} {hospital}"),
                             "en": ("New installation {case_id}", "{unit} {hospital}")},
    "installation-assigned": {"zh-CN": ("装机 {case_id} 由您负责", "{unit} {hospital}"),
                              "en": ("Installation {case_id} is yours", "{unit} {hospital}")},
    "site-fix": {"zh-CN": ("现场整改 {case_id}", "待医院整改:{text}"),
                 "en": ("The site of {case_id} needs the hospital's fix", "to fix: {text}")},
    "out-of-spec": {"zh-CN": ("性能验证不合格 {case_id}", "{text}"),
                    "en": ("{case_id} out of spec", "{text}")},
    "accepted": {"zh-CN": ("验收通过 {case_id}", "{unit} 投入使用"),
                 "en": ("{case_id} accepted", "{unit} in service")},
    "acceptance-refused": {"zh-CN": ("验收被拒 {case_id}({party})", "{text}"),
                           "en": ("{case_id} refused by the {party}", "{text}")},
    "plan-not-started": {"zh-CN": ("维护计划未启动 {case_id}", "{text}"),
                         "en": ("The maintenance plan of {case_id} did not start", "{text}")},
    "visit-due": {"zh-CN": ("预防性维护待派工 {case_id}", "{unit},{due_on} 前完成"),
                  "en": ("Maintenance visit {case_id} to assign", "{unit}, due {due_on}")},
    "visit-assigned": {"zh-CN": ("预防性维护 {case_id} 由您负责", "{unit} {hospital},{due_on} 前完成"),
                       "en": ("Maintenance visit {case_id} is yours",
                              "{unit} {hospital}, due {due_on}")},
    "emergency-declared": {"zh-CN": ("应急 {case_id}:{hospital} {unit}", "{trigger}:{text}"),
                           "en": ("Emergency {case_id}: {hospital} {unit}", "{trigger}: {text}")},
    "page": {"zh-CN": ("应急呼叫 {case_id}:{hospital} {unit}",
                       "{trigger}:{impact}。请在 {due_at} 前应答。"),
             "en": ("EMERGENCY {case_id}: {hospital} {unit}",
                    "{trigger}: {impact}. Acknowledge by {due_at}.")},
    "nobody-on-call": {"zh-CN": ("应急呼叫 {case_id}:{hospital} {unit} 无人值班",
                                 "{trigger}:{impact}。无人值班,{due_at} 再次呼叫。"),
                       "en": ("EMERGENCY {case_id}: {hospital} {unit}, nobody on call",
                              "{trigger}: {impact}. Nobody on call; paging again at {due_at}.")},
    "emergency-acknowledged": {"zh-CN": ("应急已应答 {case_id}({person})", "{text}"),
                               "en": ("Emergency {case_id} acknowledged by {person}", "{text}")},
    "emergency-team": {"zh-CN": ("应急派工 {case_id}:您在抢修组中", "{text}"),
                       "en": ("Emergency {case_id}: you are on the team", "{text}")},
    "emergency-restored": {"zh-CN": ("应急已恢复 {case_id}", "{text}"),
                           "en": ("Emergency {case_id} restored", "{text}")},
    "check-failed": {"zh-CN": ("应急复查未通过 {case_id}", "{text}"),
                     "en": ("Emergency {case_id}: post-incident check failed", "{text}")},
    "stood-down": {"zh-CN": ("应急解除 {case_id}", "{text}"),
                   "en": ("Emergency {case_id} stood down", "{text}")},
    "escalation": {"zh-CN": ("超时第 {level} 级:{case_id} {commitment}",
                             "{commitment}应于 {due_at} 完成,已超时;已通知{notify}。"),
                   "en": ("Breach, level {level}: {case_id} {commitment}",
                          "{commitment}: due {due_at}, now late; {notify} told.")},
    "warning": {"zh-CN": ("即将超时:{case_id} {commitment}", "{commitment}应于 {due_at} 完成。"),
                "en": ("About to be late: {case_id} {commitment}",
                       "{commitment}: due {due_at}.")},
    "adverse-event-opened": {"zh-CN": ("不良事件 {case_id}:{event_type}", "{text}"),
                             "en": ("Adverse event {case_id}: {event_type}", "{text}")},
    "adverse-event-assigned": {"zh-CN": ("不良事件 {case_id} 由您负责", "{text}"),
                               "en": ("Adverse event {case_id} is yours", "{text}")},
    "reminder": {"zh-CN": ("提醒:{case_id} {commitment}", "{commitment}应于 {due_at} 完成。"),
                 "en": ("Reminder: {case_id} {commitment}", "{commitment}: due {due_at}.")},
}

# a parameter's name -> the vocabulary (domain/words.py) its value is worded from
WORDED = {"status": "status", "severity": "severity", "trigger": "trigger",
          "commitment": "commitment", "notify": "notify", "party": "party", "event": "event",
          "event_type": "event_type"}


def _value(name: str, value: Any, language: str, zone: ZoneInfo) -> str:
    if name.endswith("_at") and isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
        if when.tzinfo is not None:
            return local_text(when, zone.key)
    if name == "commitment" and isinstance(value, str):
        return commitment_word(value, language)
    if name in WORDED and isinstance(value, str):
        return word(WORDED[name], value, language)
    return str(value)


def render(template: str | None, params: dict[str, Any] | None, language: str,
           zone: str | None, subject: str, body: str) -> tuple[str, str]:
    """The subject and body for one recipient; the written ones without a (known) template."""
    texts = TEMPLATES.get(template or "")
    if texts is None:
        return subject, body
    language = language if language in LANGUAGES else "zh-CN"
    try:
        where = ZoneInfo(zone or DEFAULT_ZONE)
    except (ValueError, ZoneInfoNotFoundError):
        where = ZoneInfo(DEFAULT_ZONE)
    values = {k: _value(k, v, language, where) for k, v in (params or {}).items()}
    fields = {name for text in texts[language] for _, name, _, _ in Formatter().parse(text) if name}
    values.update({name: "" for name in fields - set(values)})
    wanted_subject, wanted_body = texts[language]
    return _tidy(wanted_subject.format(**values)), _tidy(wanted_body.format(**values))


def _tidy(text: str) -> str:
    """Without the gaps a parameter left empty."""
    return re.sub(r" {2,}", " ", text).strip()
