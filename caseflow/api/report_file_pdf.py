"""The printable report file of an adverse event (不良事件报告档案), in zh-CN or English: the
file's JSON (domain/report_file.py) through a Jinja2 HTML template, rendered by WeasyPrint with
a CJK font from Debian (fonts-wqy-zenhei), as the service report is. One language at a time: the
words are ours in the chosen language, what people wrote is theirs as they wrote it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from caseflow.api.service_report import TEMPLATES
from caseflow.domain.report_file import ReportFile
from caseflow.domain.words import WORDS as WORDS_OF
from caseflow.domain.words import local_text, word

WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "不良事件报告档案", "case": "事件编号", "made": "生成于", "status": "状态",
        "device": "器械", "name": "名称", "serial": "序列号", "udi": "UDI", "hospital": "医院",
        "registered": "注册地", "dates": "日期", "aware": "获知时间", "occurred": "事件发生时间",
        "opened": "立案时间", "closed": "结案时间", "submitted": "报告提交",
        "complainant": "报告人/投诉人", "contact": "联系方式", "department": "科室",
        "from_case": "来源工单", "nature": "事件性质", "event_type": "事件类型",
        "description": "事件经过", "harm": "患者/使用者伤害", "investigation": "调查及结果",
        "findings": "调查结果", "root_cause": "根本原因", "corrective": "纠正措施",
        "evidence": "证据", "evaluation": "评价结论", "reply": "给投诉人的答复",
        "reports": "向监管机构的报告", "jurisdiction": "辖区", "regulator": "监管机构",
        "report": "报告", "due": "截止时间", "channel": "途径", "reference": "监管机构编号",
        "by": "提交人", "clock": "时限", "source": "依据", "state": "是否按时",
        "deliberations": "决策记录", "when": "时间", "who": "人员", "what": "事项",
        "why": "理由/内容", "escalations": "超时升级", "level": "级别", "record": "档案封存",
        "sealed": "已封存,链上位置 {position},记录指纹 {sha}",
        "matches": "本档案的来源与封存记录一致", "differs": "本档案的来源与封存记录不一致",
        "unsealed": "尚未封存(结案且记录完整后封存)", "none": "无", "unknown": "未记录", "hours": "小时",
    },
    "en": {
        "title": "Adverse event report file", "case": "Event", "made": "made", "status": "Status",
        "device": "Device", "name": "Name", "serial": "Serial", "udi": "UDI",
        "hospital": "Hospital", "registered": "Registered in", "dates": "Dates",
        "aware": "Aware at", "occurred": "Event occurred", "opened": "Opened",
        "closed": "Closed", "submitted": "Reports submitted", "complainant": "Complainant",
        "contact": "Contact", "department": "Department", "from_case": "From case",
        "nature": "Nature of the event", "event_type": "Event type",
        "description": "What happened", "harm": "Harm to patient or user",
        "investigation": "Investigation and results", "findings": "Findings",
        "root_cause": "Root cause", "corrective": "Corrective action", "evidence": "Evidence",
        "evaluation": "Evaluation", "reply": "Reply to the complainant",
        "reports": "Reports to regulators", "jurisdiction": "Jurisdiction",
        "regulator": "Regulator", "report": "Report", "due": "Due", "channel": "Channel",
        "reference": "Regulator's reference", "by": "Submitted by", "clock": "Clock",
        "source": "Source", "state": "On time", "deliberations": "Deliberations",
        "when": "When", "who": "Who", "what": "What", "why": "Why / content",
        "escalations": "Escalations", "level": "Level", "record": "Record",
        "sealed": "sealed, link {position}, record fingerprint {sha}",
        "matches": "the source of this file is the sealed record",
        "differs": "the source of this file is NOT the sealed record",
        "unsealed": "not sealed yet (sealed once closed and final)", "none": "none",
        "unknown": "not recorded",
        "hours": "h",
    },
}
_environment = Environment(loader=FileSystemLoader(TEMPLATES),
                           autoescape=select_autoescape(["html"]))


def _local(value: datetime | None) -> str:
    return local_text(value) if value else ""


def file_html(found: ReportFile, lang: str) -> str:
    def term(vocabulary: str | tuple[str, ...], code: str | None) -> str:
        """`code` in the file's language, from the first of `vocabulary` that knows it."""
        for name in (vocabulary,) if isinstance(vocabulary, str) else vocabulary:
            if code in WORDS_OF.get(name, {}):
                return word(name, code, lang)
        return code or ""

    def detail(step: str, data: dict[str, Any]) -> str:
        """What a step recorded beyond its reason: the type it classified to, the report."""
        if step in ("classify", "opened") and data.get("event_type"):
            before = f"{term('event_type', data['before'])} → " if data.get("before") else ""
            return f"{before}{term('event_type', data['event_type'])}"
        if step == "submit":
            return f"{term('jurisdiction', data.get('jurisdiction'))} {data.get('report', '')} · " \
                   f"{data.get('channel', '')}"
        if step == "request-follow-up":
            return f"{term('jurisdiction', data.get('jurisdiction'))} {term('report', data.get('kind'))}"
        return ""

    record = found.record
    return _environment.get_template("adverse_event_file.html").render(
        lang=lang, w=WORDS[lang], term=term, local=_local, f=found, detail=detail,
        sealed=(WORDS[lang]["sealed"].format(position=record.seal.position,
                                             sha=record.seal.record_sha256)
                if record.seal else WORDS[lang]["unsealed"]))


def file_pdf(found: ReportFile, lang: str) -> bytes:
    from weasyprint import HTML  # imported when a file is asked for: it loads Pango

    return HTML(string=file_html(found, lang)).write_pdf()
