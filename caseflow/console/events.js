// What happened on a case, in the reader's language: a timeline entry, a live message or a
// notice worded from its event code and data (never from a stored summary), and commitments
// named by their key.

import { el } from "./dom.js";
import { language, say, t, word } from "./i18n.js";
import { when } from "./time.js";

const COMMITMENTS = {
  classification: ["分级", "classification"],
  handover: ["交接确认", "hand-over check"], arrival: ["到场/远程接入", "on site or connected"],
  restore: ["修复", "restore"], progress: ["进度报告", "progress report"],
  customer_confirmation: ["客户确认", "customer confirmation"], callback: ["回访", "callback"],
  first_feedback: ["首次反馈", "first feedback"], team: ["成立调查组", "investigation team"],
  plan: ["原因与整改方案", "root cause and plan"], answer: ["答复投诉人", "answer to the complainant"],
  close: ["结案", "closing"], notify: ["通知值班", "on call notified"], acknowledge: ["应答", "acknowledgement"],
  on_site: ["到场/远程接入", "team on site or connected"], check: ["事后性能检查", "post-incident check"],
  survey: ["满意度调查", "satisfaction survey"], review: ["事后复盘", "post-incident review"],
  site_fix: ["现场整改", "site fixed by the hospital"], site_assessment: ["场地评估", "site assessment"],
  delivery: ["到货", "delivery"], commissioning: ["安装调试", "installation and commissioning"],
  signatures: ["验收签字", "acceptance signatures"], assign: ["派工", "engineer assigned"],
  visit: ["预防性维护", "maintenance visit"], confirmation: ["客户确认", "customer confirmation"],
  evaluation: ["调查评价", "investigation and evaluation"],
  decision: ["可报告性评审结论", "reportability decision"],
};
// The jurisdictions of the default policy's regulatory section, by their codes (another code is
// shown as it is).
const JURISDICTIONS = { CN: ["中国", "China"], EU: ["欧盟", "the EU"], US: ["美国", "the US"] };
const place = (code) => (JURISDICTIONS[code] ? say(...JURISDICTIONS[code]) : code);
export const jurisdictionName = place;

// A commitment by its key ("action-A1": a corrective action; "report:CN", "follow_up:EU:F1":
// an adverse event's report to a regulator, named by its jurisdiction's code; "group_case:CN":
// an event's own report as a case of a group event).
export function commitmentName(key, round = 1) {
  let name;
  const action = /^action-(.+)$/.exec(key || "");
  const report = /^report:(\w+)$/.exec(key || "");
  const followUp = /^follow_up:(\w+):(\w+)$/.exec(key || "");
  const groupCase = /^group_case:(\w+)$/.exec(key || "");
  if (action) name = say(`整改措施 ${action[1]}`, `corrective action ${action[1]}`);
  else if (report) name = say(`向${place(report[1])}监管机构报告`, `report to ${place(report[1])}'s regulator`);
  else if (followUp) name = say(`向${place(followUp[1])}监管机构补充报告 ${followUp[2]}`,
                                `follow-up ${followUp[2]} to ${place(followUp[1])}'s regulator`);
  else if (groupCase) name = say(`群体事件个例向${place(groupCase[1])}监管机构报告`,
                                `report of a group event's case to ${place(groupCase[1])}'s regulator`);
  else if (COMMITMENTS[key]) name = say(...COMMITMENTS[key]);
  else name = String(key || "").replace(/[_-]+/g, " ");
  return round > 1 ? `${name} (#${round})` : name;
}

const NOTIFY = {
  assignee: ["负责人", "the assignee"], supervisor: ["技术主管", "the supervisors"],
  manager: ["服务经理", "the service manager"], director: ["总监", "the director"],
  hotline: ["热线", "the hotline"], next_on_call: ["下一位值班人员", "the next person on call"],
  owner: ["负责人", "the owner"], regulatory: ["法规事务", "regulatory affairs"],
};

function notified(value) {
  return NOTIFY[value] ? say(...NOTIFY[value]) : word(value);
}

// A rung of the ladder: the warning, a breach level, a reminder.
function rung(data) {
  const what = commitmentName(data.commitment, data.round);
  const level = Number(data.level);
  if (level < 0) return say(`提醒:${what}`, `reminder: ${what}`);
  if (level === 0) return say(`预警:${what} 即将超时`, `warning: ${what} is about to be late`);
  return say(`超时第 ${level} 级:${what},已通知${notified(data.notify)}`,
    `breach, level ${level}: ${what}; ${notified(data.notify)} told`);
}

// A rule of the reportability review that flagged a case ("patient_harmed:yes"), in words.
export function flagWords(flag) {
  const [rule, value] = String(flag).split(":");
  return `${word(`flag:${rule}`)} ${word(value)}`;
}

// What people typed or named (a name, a note, a symptom): shown as it is, in whatever
// language it was written, and marked so (translate="no").
function v(value) {
  if (value === null || value === undefined || value === "") return null;
  return el("span", { translate: "no", class: "datum" }, String(value));
}

const people = (list) => v((list || []).map((p) => p.name || p.person_name || p.id || p.person_id).join(language() === "en" ? ", " : "、"));

// Measured values of an alarm, as the unit sent them.
export function readings(values) {
  return (values || []).length ? v(values.map((x) => `${x.name} ${x.value}${x.unit || ""}`).join(", ")) : null;
}

// Parts joined by " · ", empty ones left out.
function parts(...items) {
  const kept = items.flat().filter((p) => p !== null && p !== undefined && p !== "");
  return kept.flatMap((p, i) => (i ? [" · ", p] : [p]));
}

// The words of one case event from its code and data (`actor`: who did it), as nodes.
export function describe(event, data = {}, actor = null) {
  const d = data || {};
  switch (event) {
    case "opened": {
      const intake = d.intake || {};
      if (d.origin_kind) {  // a reportability review: what it reviews, the rules that flagged it
        return parts(word(d.origin_kind), v(d.origin), (d.flags || []).length
          ? [say("规则标记:", "flagged by: "), (d.flags || []).map(flagWords).join(language() === "en" ? ", " : "、")]
          : say("无规则标记", "no rule flagged it"));
      }
      return parts(intake.channel === "remote_monitoring" ? say("远程监测告警", "remote monitoring alarm") : null,
        v(intake.symptom || intake.matter || intake.impact), intake.serial ? v(`${intake.modality || ""} ${intake.serial}`) : null,
        intake.trigger ? word(intake.trigger) : null, readings(intake.alarm_values));
    }
    case "alarm":
      return parts(v(d.code), say(`${d.alarms} 次告警`, `${d.alarms} alarms`), readings(d.values), v(d.message));
    case "alarm-cleared":
      return parts(v(d.code), say(`${d.alarms} 次告警均已恢复`, `all ${d.alarms} alarms cleared`),
        d.self_resolvable ? say("无人处理前已恢复,可按自行恢复结案", "cleared before anyone acted: may close as self-resolved") : null);
    case "classify": case "reclassify":
      return parts(d.to || d.severity || d.category ? word(d.to || d.severity || d.category) : null, v(d.reason));
    case "assign":
      return parts([say("派给 ", "to "), v(d.engineer_name || d.handler_name || d.engineer_id || d.handler_id)], v(d.note));
    case "arrive": case "on-site":
      return parts(d.mode === "remote" ? say("远程接入", "connected remotely") : say("到达现场", "on site"), v(d.note));
    case "page":
      return (d.people || []).length
        ? [say(`呼叫第 ${d.level} 级:`, `paged level ${d.level}: `), people(d.people), say(`(第 ${d.round} 轮)`, ` (round ${d.round})`)]
        : [say("无人值班,稍后再次呼叫", "nobody on call; paging again shortly")];
    case "acknowledge":
      return parts(d.level ? say(`第 ${d.level} 级应答`, `answered at level ${d.level}`) : null, v(d.note));
    case "dispatch":
      return parts(people(d.team), d.mode ? word(d.mode) : null, v((d.parts || []).join(", ")));
    case "warning": case "escalation": case "reminder":
      return [rung(d)];
    case "diagnose":
      return parts(d.fault_category ? word(d.fault_category) : null, v(d.findings));
    case "quote":
      return parts(v(`${d.amount ?? ""} ${d.currency ?? ""}`.trim()), say("计时暂停", "clock paused"));
    case "order-parts":
      return parts(v((d.parts || []).map((p) => `${p.name} ×${p.quantity}`).join(", ")));
    case "resolve": case "restored":
      return parts(v(d.summary));
    case "confirm":
      return parts(v(d.confirmed_by));
    case "callback": case "survey":
      return parts(d.satisfaction ? say(`满意度 ${d.satisfaction}/5`, `satisfaction ${d.satisfaction}/5`) : null,
        d.satisfied === false ? say("不满意", "not satisfied") : null, v(d.comment),
        d.complaint_requested ? say("转投诉", "complaint requested") : null);
    case "pause":
      return parts(word(d.reason), d.resume_at ? say(`至 ${when(d.resume_at)}`, `until ${when(d.resume_at)}`) : null, v(d.note));
    case "resume":
      return parts(actor && actor.id === "system" ? say("到期自动恢复", "resumed on the scheduled date") : null, v(d.note));
    case "performance-check": case "verify":
      return parts(v((d.parameters || []).map((p) => `${p.name} ${p.value}${p.unit || ""}`).join(", ")));
    case "safety-measures":
      return parts(v((d.measures || []).join("; ")), v(d.note));
    case "complaint-opened": return parts(v(d.complaint_id));
    case "complaint-closed": return parts(v(d.complaint_id), word(d.outcome));
    case "emergency-opened": return parts(v(d.emergency_id));
    case "group-joined": return parts(v(d.group_case_id));
    case "group-member-added": return parts(v(d.member_id));
    case "group-closed": return parts(v(d.group_case_id));
    case "review-opened": return parts(v(d.review_id));
    case "adverse_event-opened": return parts(v(d.adverse_event_id));
    case "decide":
      return parts(d.decision ? word(d.decision) : null, d.event_type ? word(d.event_type) : null, v(d.reason));
    case "screened":
      return parts(word(d.decision), say("无规则命中(规则筛查)", "no rule matched (screened by the rules)"),
        d.policy_version ? v(d.policy_version) : null);
    case "sign": return parts(word(d.party), v(d.signer_name), v(d.signer_title));
    case "form-team": return parts(people(d.members));
    case "plan": return parts(v(d.summary), say(`${(d.actions || []).length} 项措施`, `${(d.actions || []).length} actions`));
    case "complete-action": return parts(v(d.action_id), v(d.result));
    case "progress": return parts(v(d.note || d.message));
    default:
      return parts(v(d.note), v(d.reason), v(d.summary), v(d.findings), v(d.facts), v(d.root_cause), v(d.answer),
        v(d.condition), v(d.message), v(d.result), v(d.lessons_learned));
  }
}

// The same as plain text (a desktop alert).
export function describeText(event, data, actor = null) {
  return describe(event, data, actor).map((p) => (typeof p === "string" ? p : p ? p.textContent : "")).join("");
}

// A timeline entry of the outbox or the seal, from its data.
export function describeRecord(entry) {
  const d = entry.data || {};
  const to = d.to ? d.to.name || d.to.id : "";
  if (entry.event.startsWith("notification")) return notificationRecord(entry.event, d, to);
  switch (entry.event) {
    case "sealed":
      return say(`历史已封存为哈希链第 ${d.position} 环(SHA-256 ${String(d.history_sha256 || "").slice(0, 16)}…)`,
        `history sealed as link ${d.position} of the chain (SHA-256 ${String(d.history_sha256 || "").slice(0, 16)}…)`);
    case "attachment":
      return [say("附件 ", "attachment "), v(d.name), ` (SHA-256 ${d.sha256 || ""})`];
    default:
      return "";
  }
}

function notificationRecord(event, d, to) {
  const channels = (d.channels || []).map(word).join(language() === "en" ? ", " : "、");
  if (event === "notification-queued") return [say(d.urgent ? "紧急通知 " : "通知 ", d.urgent ? "urgent message to " : "message to "), v(to)];
  if (event === "notification-sent") return [say("已送达 ", "delivered to "), v(to), ` (${channels})`];
  return [say("未能送达 ", "not delivered to "), v(to), say(`(尝试 ${d.attempts} 次)`, ` after ${d.attempts} attempts`)];
}

// A notice of the inbox: its title (what happened, on which case) and whether it stands out.
export function noticeTitle(notice) {
  return [notice.event ? word(notice.event) : t("inbox.notice"), " · ", v(notice.case_id)];
}

export function noticeTitlePlain(notice) {
  return `${notice.event ? word(notice.event) : t("inbox.notice")} · ${notice.case_id}`;
}

export function noticeText(notice) {
  return notice.event ? describe(notice.event, notice.data) : [];
}

export function noticePlain(notice) {
  return notice.event ? describeText(notice.event, notice.data) : "";
}

// A page for an emergency, or a breach: shown first and raised as a system notification.
export function pressing(notice) {
  return notice.event === "page" || (notice.event === "escalation" && Number(notice.data?.level) >= 1) || notice.urgent;
}
