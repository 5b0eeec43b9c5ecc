"""The domain's closed vocabularies worded in zh-CN and en: one table for all the server words
itself (notifications, the timeline summaries workflows write, the Temporal UI's details).

The console has its own tables (caseflow/console/i18n.js) and words the API's codes itself;
this one is for text the server writes. A code the table does not know is shown as the code,
its underscores as spaces.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
DEFAULT_ZONE = "Asia/Shanghai"


def _pairs(**words: tuple[str, str]) -> dict[str, dict[str, str]]:
    return {code: {"zh-CN": zh, "en": en} for code, (zh, en) in words.items()}


# vocabulary -> code -> language -> word
WORDS: dict[str, dict[str, dict[str, str]]] = {
    "kind": _pairs(repair=("维修", "repair"), complaint=("投诉", "complaint"),
                   emergency=("应急", "emergency"), installation=("安装验收", "installation"),
                   maintenance=("预防性维护", "maintenance visit"),
                   adverse_event=("不良事件", "adverse event"),
                   review=("可报告性评审", "reportability review")),
    "severity": _pairs(critical=("紧急", "critical"), severe=("严重", "severe"),
                       general=("一般", "general"), minor=("轻微", "minor")),
    "status": _pairs(
        # repairs
        awaiting_classification=("待分级", "awaiting classification"),
        awaiting_assignment=("待分派", "awaiting assignment"), assigned=("已分派", "assigned"),
        acknowledged=("已接单", "acknowledged"), on_site=("已到场", "on site"),
        site_reported=("已报现场", "site reported"), work_approved=("已批准开工", "work approved"),
        awaiting_quotation=("待报价", "awaiting quotation"),
        awaiting_quote_decision=("待客户决定报价", "awaiting quote decision"),
        repairing=("维修中", "repairing"),
        awaiting_confirmation=("待客户确认", "awaiting confirmation"),
        awaiting_callback=("待回访", "awaiting callback"), closed=("已结案", "closed"),
        # complaints
        recorded=("已登记", "recorded"), team_formed=("已成立调查组", "team formed"),
        investigating=("调查中", "investigating"), root_cause_found=("已找到原因", "root cause found"),
        planned=("已制定计划", "planned"), briefed=("已通报", "briefed"),
        answered=("已答复", "answered"), resolved=("已解决", "resolved"),
        reopened=("已重开", "reopened"), withdrawn=("已撤诉", "withdrawn"),
        # emergencies
        paging=("呼叫中", "paging"), dispatched=("已派遣", "dispatched"),
        restored=("已恢复", "restored"), checked=("已检查", "checked"),
        surveyed=("已调查", "surveyed"), reviewed=("已复盘", "reviewed"),
        stood_down=("已解除", "stood down"),
        # installations, maintenance visits and plans, adverse events
        ordered=("已下单", "ordered"), site_not_ready=("场地未就绪", "site not ready"),
        site_ready=("场地就绪", "site ready"), delivered=("已到货", "delivered"),
        installed=("已安装", "installed"), commissioned=("已调试", "commissioned"),
        verified=("已验证", "verified"), trained=("已培训", "trained"),
        accepted=("已验收", "accepted"), cancelled=("已取消", "cancelled"),
        scheduled=("已排期", "scheduled"), done=("已完成", "done"),
        confirmed=("已确认", "confirmed"), reported=("已报告", "reported"),
        active=("执行中", "active"), paused=("已暂停", "paused"), ended=("已结束", "ended"),
        in_service=("在用", "in service"), out_of_service=("停用", "out of service"),
        decommissioned=("已报废", "decommissioned"),
        # reportability reviews
        pending=("待评审", "pending"), decided=("已评审", "decided")),
    "outcome": _pairs(repaired=("已修复", "repaired"),
                      quotation_declined=("拒绝报价", "quotation declined"),
                      self_resolved=("自行恢复", "self-resolved"), resolved=("已解决", "resolved"),
                      withdrawn=("已撤诉", "withdrawn"), restored=("已恢复", "restored"),
                      stood_down=("已解除", "stood down")),
    "trigger": _pairs(patient_safety=("危及患者安全", "patient safety at risk"),
                      diagnosis_blocked=("影响患者诊断", "patients' diagnosis blocked"),
                      multiple_departments=("多个科室受影响", "several departments affected")),
    "mode": _pairs(on_site=("到场", "on site"), remote=("远程接入", "connected remotely")),
    "fault_category": _pairs(
        workstation_software_crash=("工作站软件崩溃", "workstation software crash"),
        xray_tube=("X 射线球管", "X-ray tube"),
        detector_large_area=("探测器大面积故障", "detector large-area failure"),
        other=("其他", "other")),
    "complaint_category": _pairs(
        service_attitude=("服务态度", "service attitude"),
        technical_quality=("技术质量", "technical quality"),
        process_management=("流程管理", "process management"),
        equipment_failure=("设备故障", "equipment failure")),
    # why a case's clock pauses (the policy's pause_reasons)
    "pause_reason": _pairs(
        awaiting_quotation_approval=("等待客户确认报价", "awaiting the customer's decision on the quotation"),
        device_unavailable=("设备暂不可用", "device not available"),
        customer_postponed=("客户要求推迟", "postponed by the customer"),
        awaiting_customer_answer=("等待客户答复", "awaiting the customer's answer"),
        site_not_ready=("场地未就绪", "site not ready")),
    "party": _pairs(vendor=("厂家", "vendor"), hospital=("医院", "hospital")),
    # adverse events: the default policy's event types and the kinds of report
    "event_type": _pairs(death=("死亡", "death"), serious_injury=("严重伤害", "serious injury"),
                         malfunction=("可能导致严重伤害或死亡的故障",
                                      "malfunction that could cause serious injury or death"),
                         public_health_threat=("严重公共健康威胁", "serious public health threat"),
                         group=("群体不良事件", "group adverse event")),
    # a reportability review's decision, and the patient harm its rules read
    "decision": _pairs(not_adverse_event=("非不良事件", "not an adverse event"),
                       possibly_reportable=("可能需报告的不良事件",
                                            "possibly a reportable adverse event")),
    "report_state": _pairs(on_time=("按时", "on time"), late=("逾期提交", "submitted late"),
                           due=("待报告", "due"), overdue=("已逾期未报告", "overdue")),
    "jurisdiction": _pairs(CN=("中国", "China"), EU=("欧盟", "the EU"), US=("美国", "the US")),
    "role": _pairs(regulatory=("法规事务", "regulatory affairs"), hotline=("热线", "hotline"),
                   supervisor=("技术主管", "supervisor"), engineer=("工程师", "engineer"),
                   manager=("服务经理", "manager"), director=("总监", "director"),
                   auditor=("审核员", "auditor"), monitoring=("远程监测", "remote monitoring"),
                   admin=("管理员", "administrator"), system=("系统", "system")),
    # an adverse event's steps, as its report file lists the decisions
    "ae_step": _pairs(**{"opened": ("立案", "opened"), "assign": ("指定法规负责人", "officer assigned"),
                         "classify": ("事件分类", "classified"), "investigate": ("调查评价", "investigation"),
                         "submit": ("向监管机构报告", "report submitted"),
                         "request-follow-up": ("需补充报告", "follow-up report due"),
                         "close": ("结案", "closed")}),
    "patient_harmed": _pairs(yes=("是", "yes"), no=("否", "no"), unknown=("不详", "unknown")),
    "report": _pairs(initial=("首次报告", "initial report"), follow_up=("跟踪报告", "follow-up report"),
                     supplemental=("补充报告", "supplemental report"),
                     final=("最终报告", "final report"),
                     group_case=("群体事件个例报告", "report as a case of a group event")),
    # commitments, by their key (an improvement action "action-<id>" is worded by its id)
    "commitment": _pairs(
        classification=("分级", "classification"), handover=("交接确认", "hand-over check"),
        arrival=("到场/远程接入", "on site or connected"), restore=("修复", "restore"),
        progress=("进度报告", "progress report"),
        customer_confirmation=("客户确认", "customer confirmation"),
        callback=("回访", "callback"), first_feedback=("首次反馈", "first feedback"),
        team=("成立调查组", "investigation team"), plan=("原因与整改方案", "root cause and plan"),
        answer=("答复投诉人", "answer to the complainant"), close=("结案", "closing"),
        notify=("通知值班", "on call notified"), acknowledge=("应答", "acknowledgement"),
        on_site=("到场/远程接入", "team on site or connected"),
        check=("事后性能检查", "post-incident check"), survey=("满意度调查", "satisfaction survey"),
        review=("事后复盘", "post-incident review"),
        site_fix=("现场整改", "site fixed by the hospital"),
        site_assessment=("场地评估", "site assessment"), delivery=("到货", "delivery"),
        commissioning=("安装调试", "installation and commissioning"),
        signatures=("验收签字", "acceptance signatures"), assign=("派工", "engineer assigned"),
        visit=("预防性维护", "maintenance visit"), confirmation=("客户确认", "customer confirmation"),
        evaluation=("调查评价", "investigation and evaluation"),
        decision=("可报告性评审结论", "reportability decision")),
    # whom a rung of the ladder told
    "notify": _pairs(assignee=("负责人", "the assignee"), supervisor=("技术主管", "the supervisors"),
                     manager=("服务经理", "the service manager"), director=("总监", "the director"),
                     hotline=("热线", "the hotline"),
                     next_on_call=("下一位值班人员", "the next person on call"),
                     owner=("负责人", "the owner"), regulatory=("法规事务", "regulatory affairs")),
    # the rungs of the escalation ladder, by level (a reminder is a negative level)
    "level": _pairs(**{"0": ("预警", "warning"), "1": ("超时(第 1 级)", "breached (level 1)"),
                       "2": ("升级第 2 级", "escalated to level 2"),
                       "3": ("升级第 3 级", "escalated to level 3")}),
    # what went wrong with a linked case
    "event": _pairs(**{
        "complaint-not-opened": ("未能开立关联投诉", "The linked complaint could not be opened"),
        "emergency-not-opened": ("未能开立关联应急", "The linked emergency could not be opened"),
        "repair-not-opened": ("未能开立关联维修", "The linked repair could not be opened"),
        "complaint-ended": ("关联投诉异常结束", "The linked complaint ended abnormally"),
        "group-not-placed": ("未能判定群体不良事件", "The group-event detection failed"),
        "group-member-not-told": ("未能通知群体事件的个例",
                                  "An event of the group event could not be told"),
        "review-not-opened": ("未能开立可报告性评审",
                              "The reportability review could not be opened"),
        "adverse_event-not-opened": ("未能开立不良事件", "The adverse event could not be opened")}),
}


def word(vocabulary: str, code: object, language: str = DEFAULT_LANGUAGE, *,
         default: str | None = None, **params: object) -> str:
    """`code` of `vocabulary` in `language` (zh-CN unless one of LANGUAGES); an unknown code
    as `default`, else as written with its underscores as spaces. `params` fill the word's
    {name}s."""
    text = str(getattr(code, "value", code))
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    worded = WORDS.get(vocabulary, {}).get(text, {}).get(language)
    if worded is None:
        return default if default is not None else text.replace("_", " ")
    return worded.format(**params) if params else worded


def commitment_word(key: str, language: str = DEFAULT_LANGUAGE, *,
                    default: str | None = None) -> str:
    """A commitment by its key, as the console names it (console/events.js): "action-A1" a
    corrective action, "report:CN" / "follow_up:EU:F1" / "group_case:CN" an adverse event's
    reports by their jurisdiction, else the `commitment` vocabulary (`default` if unknown)."""
    zh = language != "en"
    parts = key.split(":")
    if key.startswith("action-"):
        return f"整改措施 {key[7:]}" if zh else f"corrective action {key[7:]}"
    if len(parts) > 1 and parts[0] in ("report", "follow_up", "group_case"):
        place = word("jurisdiction", parts[1], language)
        if parts[0] == "report":
            return f"向{place}监管机构报告" if zh else f"report to {place}'s regulator"
        if parts[0] == "group_case":
            return (f"群体事件个例向{place}监管机构报告" if zh
                    else f"report of a group event's case to {place}'s regulator")
        number = parts[2] if len(parts) > 2 else ""
        return (f"向{place}监管机构补充报告 {number}" if zh
                else f"follow-up {number} to {place}'s regulator").strip()
    return word("commitment", key, language, default=default)


# Loaded with the module (workflows word their summaries in it: no file read in a workflow task).
_HOME = ZoneInfo(DEFAULT_ZONE)


def local_text(at: datetime, zone: str = DEFAULT_ZONE) -> str:
    """An instant as local date and time to the minute (Asia/Shanghai unless said), as people
    read it; the zone's abbreviation after it outside Asia/Shanghai."""
    local = at.astimezone(_HOME if zone == DEFAULT_ZONE else ZoneInfo(zone))
    shown = local.strftime("%Y-%m-%d %H:%M")
    return shown if zone == DEFAULT_ZONE else f"{shown} {local.strftime('%Z')}"
