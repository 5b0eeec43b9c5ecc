"""Rendering the reports: Jinja2 HTML templates (templates/), then WeasyPrint for the PDF.

The documents are in Chinese (zh-CN), the language of the hospitals that file them; times are in
the policy's time zone. WeasyPrint finds the CJK font (WenQuanYi Zen Hei or Noto Sans CJK, from
Debian) through fontconfig; it is imported only when a PDF is made.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from caseflow.documents.charts import count_bars, uptime_bars
from caseflow.domain.annual import AnnualReport, Recommendation, VisitReportData

SEVERITY = {"critical": "紧急", "severe": "严重", "general": "一般", "minor": "轻微"}
CATEGORY = {"workstation_software_crash": "工作站软件崩溃", "xray_tube": "X 射线球管",
            "detector_large_area": "探测器大面积故障", "other": "其他",
            "undiagnosed": "未诊断"}
ROLE = {"supervisor": "技术主管", "manager": "服务经理", "director": "总监"}
PERIOD = {"month": "每月", "quarter": "每季度", "year": "每年"}


def _number(value: float | int | None, digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{suffix}"


def recommendation_text(item: Recommendation) -> str:
    """A recommendation in words (Chinese)."""
    p = item.params
    unit = f"{item.serial}:" if item.serial else ""
    category = CATEGORY.get(str(p.get("category")), str(p.get("category")))
    texts = {
        "recurring_fault": f"{unit}本年度「{category}」故障 {p.get('count')} 次,故障反复出现,"
                           "建议加强该部件的巡检并分析根本原因。",
        "repeat_repairs": f"{unit}有 {p.get('count')} 次复修(30 天内同一故障再次报修),"
                          "建议复核首次修复质量。",
        "overdue_maintenance": f"{unit}预防性维护计划 {p.get('planned')} 次,逾期或未完成 "
                               f"{p.get('count')} 次,建议补做并调整派工。",
        "guarantee_missed": f"{unit}{p.get('period')} 开机率 {_number(p.get('uptime'), 2)}% "
                            f"低于合同保证的 {_number(p.get('guarantee'), 0)}%。",
        "low_satisfaction": f"{unit}客户满意度平均 {_number(p.get('satisfaction'), 2)} 分"
                            f"({p.get('answers')} 次回访),建议回访了解原因。",
        "fleet_pattern": f"{p.get('brand')} {p.get('model')} 在全网出现「{category}」故障规律"
                         f"({p.get('count')} 次),涉及本院设备 "
                         f"{'、'.join(p.get('serials') or []) or '—'},建议通报厂家质量部门。",
        "all_well": "本年度设备运行良好,各项指标均无异常,无特别建议。",
    }
    return texts.get(item.code, item.code)


def _environment(zone: str) -> Environment:
    env = Environment(loader=PackageLoader("caseflow.documents", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True)
    tz = ZoneInfo(zone)

    def local(value: datetime | None, form: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(tz).strftime(form) if value else "—"

    env.filters.update(local=local, number=_number, severity=lambda v: SEVERITY.get(v or "", "—"),
                       category=lambda v: CATEGORY.get(v or "", v or "—"),
                       role=lambda v: ROLE.get(v, v), recommendation=recommendation_text,
                       period=lambda v: PERIOD.get(v, v))
    return env


def annual_html(report: AnnualReport) -> str:
    env = _environment(report.timezone)
    charts: dict[str, Any] = {
        "months": Markup(uptime_bars(report.months, None, "各月开机率")),
        "faults": Markup(count_bars([(CATEGORY.get(k, k), v) for k, v in report.faults.items()],
                                    "故障分类")) if report.faults else None,
        "units": {s.year.serial: Markup(uptime_bars(
            s.year.months, s.year.guarantee.percent if s.year.guarantee else None,
            f"{s.year.serial} 各月开机率")) for s in report.units},
    }
    return env.get_template("annual.html.j2").render(r=report, charts=charts,
                                                     css=_css())


def visit_html(data: VisitReportData, zone: str) -> str:
    return _environment(zone).get_template("visit.html.j2").render(v=data, css=_css())


def _css() -> Markup:
    from importlib import resources

    return Markup(resources.files("caseflow.documents").joinpath("templates/report.css")
                  .read_text("utf-8"))


def pdf(html: str) -> bytes:
    """The PDF of a rendered report (WeasyPrint; fonts from fontconfig)."""
    from weasyprint import HTML

    return HTML(string=html).write_pdf()
