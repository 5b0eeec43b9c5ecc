"""The printable service report of a repair (服务确认单): its steps, parts, verification, the
customer's confirmation and satisfaction, as a PDF (a Jinja2 HTML template rendered by
WeasyPrint with a CJK font from Debian: fonts-wqy-zenhei)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from caseflow.domain.repair import RepairView

TEMPLATES = Path(__file__).parent / "templates"
ZONE = ZoneInfo("Asia/Shanghai")

WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {"title": "服务确认单", "case": "工单", "printed": "打印于", "unit": "设备与报修",
              "hospital": "医院", "equipment": "设备", "department": "科室/地点",
              "reporter": "报修人", "symptom": "故障现象", "opened": "报修时间",
              "engineer": "工程师", "steps": "服务过程", "parts": "更换备件",
              "verification": "维修验证", "passed": "通过", "failed": "未通过",
              "reference": "参考值", "customer": "客户确认", "confirmed": "确认人",
              "satisfaction": "满意度", "engineer_sign": "工程师签字",
              "customer_sign": "客户签字"},
    "en": {"title": "Service report", "case": "Case", "printed": "printed", "unit": "Unit and fault",
           "hospital": "Hospital", "equipment": "Unit", "department": "Department / room",
           "reporter": "Reported by", "symptom": "Fault", "opened": "Reported at",
           "engineer": "Engineer", "steps": "Service steps", "parts": "Parts replaced",
           "verification": "Verification", "passed": "passed", "failed": "failed",
           "reference": "reference", "customer": "Customer", "confirmed": "Confirmed by",
           "satisfaction": "Satisfaction", "engineer_sign": "Engineer's signature",
           "customer_sign": "Customer's signature"},
}
STEPS = {
    "zh-CN": {"classify": "分级", "assign": "派工", "acknowledge": "接单", "confirm-handover": "交接确认",
              "arrive": "到场/远程接入", "report-site": "现场情况", "approve-start": "批准开工",
              "diagnose": "诊断", "quote": "报价", "approve-quote": "客户同意报价",
              "decline-quote": "客户拒绝报价", "order-parts": "订购备件", "parts-arrived": "备件到货",
              "progress": "进度", "resolve": "维修完成", "confirm": "客户确认", "dispute": "客户异议",
              "callback": "回访", "pause": "暂停计时", "resume": "恢复计时", "reclassify": "重新分级"},
    "en": {},
}
CHECKS = {"zh-CN": {"function_test": "功能测试", "image_quality": "图像质量",
                    "stability_run": "稳定性运行", "electrical_safety": "电气安全"},
          "en": {"function_test": "Function test", "image_quality": "Image quality",
                 "stability_run": "Stability run", "electrical_safety": "Electrical safety"}}
DETAIL = ("findings", "summary", "note", "condition", "reason", "comment", "confirmed_by")

_environment = Environment(loader=FileSystemLoader(TEMPLATES),
                           autoescape=select_autoescape(["html"]))


def _local(value: datetime) -> str:
    return value.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")


def report_html(case: RepairView, lang: str, now: datetime) -> str:
    steps: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    verification = None
    confirmed = None
    for step in case.steps:
        data = step.data or {}
        detail = " · ".join(str(data[k]) for k in DETAIL if data.get(k))
        steps.append({"when": _local(step.at), "by": step.by.name,
                      "what": STEPS[lang].get(step.action, step.action.replace("-", " ")),
                      "detail": detail})
        if step.action in ("order-parts",):
            parts += data.get("parts") or []
        if step.action == "resolve":
            found = data.get("verification") or {}
            verification = {"checks": [(CHECKS[lang][k], found.get(k) or {}) for k in CHECKS[lang]],
                            "accuracy": found.get("accuracy") or []}
        if step.action == "confirm":
            confirmed = f"{data.get('confirmed_by', '')} {_local(step.at)}"
    return _environment.get_template("service_report.html").render(
        lang=lang, w=WORDS[lang], case=case, steps=steps, parts=parts,
        verification=verification, confirmed=confirmed, opened=_local(case.opened_at),
        printed=_local(now))


def report_pdf(case: RepairView, lang: str, now: datetime) -> bytes:
    from weasyprint import HTML  # imported when a report is asked for: it loads Pango

    return HTML(string=report_html(case, lang, now)).write_pdf()
