"""Closed vocabularies of the domain (roles, severities, channels, statuses)."""

from enum import StrEnum


class Role(StrEnum):
    hotline = "hotline"
    supervisor = "supervisor"
    engineer = "engineer"
    manager = "manager"
    director = "director"
    auditor = "auditor"
    admin = "admin"
    monitoring = "monitoring"  # a remote-monitoring integration: posts alarms, nothing else
    regulatory = "regulatory"  # regulatory affairs (法规事务): reportability, adverse events


class CaseKind(StrEnum):
    repair = "repair"
    complaint = "complaint"
    emergency = "emergency"


class Severity(StrEnum):
    critical = "critical"
    severe = "severe"
    general = "general"
    minor = "minor"


class Channel(StrEnum):
    phone = "phone"
    web = "web"
    app = "app"
    sms = "sms"
    email = "email"
    remote_monitoring = "remote_monitoring"  # opened by a unit's own alarm (docs/monitoring.md)


class Modality(StrEnum):
    CT = "CT"
    MR = "MR"
    DR = "DR"
    US = "US"
    OTHER = "OTHER"


class FaultCategory(StrEnum):
    """Fault found at diagnosis; some have their own restore commitment (DOMAIN.md section 1)."""

    workstation_software_crash = "workstation_software_crash"
    xray_tube = "xray_tube"
    detector_large_area = "detector_large_area"
    other = "other"


class ArrivalMode(StrEnum):
    on_site = "on_site"
    remote = "remote"


class RepairStatus(StrEnum):
    awaiting_classification = "awaiting_classification"
    awaiting_assignment = "awaiting_assignment"
    assigned = "assigned"
    acknowledged = "acknowledged"
    on_site = "on_site"
    site_reported = "site_reported"
    work_approved = "work_approved"
    awaiting_quotation = "awaiting_quotation"
    awaiting_quote_decision = "awaiting_quote_decision"
    repairing = "repairing"
    awaiting_confirmation = "awaiting_confirmation"
    awaiting_callback = "awaiting_callback"
    closed = "closed"


class RepairOutcome(StrEnum):
    repaired = "repaired"
    quotation_declined = "quotation_declined"
    self_resolved = "self_resolved"  # the alarm cleared before anyone acted; closed with a reason


class ComplaintCategory(StrEnum):
    """The four categories of the complaint procedure (DOMAIN.md section 2)."""

    service_attitude = "service_attitude"  # 服务态度
    technical_quality = "technical_quality"  # 技术质量
    process_management = "process_management"  # 流程管理
    equipment_failure = "equipment_failure"  # 设备故障


class ComplaintChannel(StrEnum):
    front_desk = "front_desk"
    hotline = "hotline"
    mailbox = "mailbox"
    web_form = "web_form"
    email = "email"
    callback = "callback"  # opened by a dissatisfied repair callback


class ComplaintStatus(StrEnum):
    recorded = "recorded"
    team_formed = "team_formed"
    investigating = "investigating"
    root_cause_found = "root_cause_found"
    planned = "planned"
    briefed = "briefed"
    answered = "answered"
    awaiting_callback = "awaiting_callback"
    resolved = "resolved"
    reopened = "reopened"
    closed = "closed"
    withdrawn = "withdrawn"


class ComplaintOutcome(StrEnum):
    resolved = "resolved"
    withdrawn = "withdrawn"


class TeamRole(StrEnum):
    physician = "physician"
    technician = "technician"
    quality_control = "quality_control"
    patient_service = "patient_service"
    engineer = "engineer"
    other = "other"


class PatientHarm(StrEnum):
    """The intake's answer to "was a patient or user harmed?" (a rule of the reportability
    review reads it; docs/regulatory.md)."""

    yes = "yes"
    no = "no"
    unknown = "unknown"


class EmergencyTrigger(StrEnum):
    """Why an emergency is declared (DOMAIN.md section 4), highest first."""

    patient_safety = "patient_safety"  # 患者安全受威胁
    diagnosis_blocked = "diagnosis_blocked"  # 患者诊断受阻
    multiple_departments = "multiple_departments"  # 多个科室受影响


class EmergencyStatus(StrEnum):
    paging = "paging"
    acknowledged = "acknowledged"
    dispatched = "dispatched"
    on_site = "on_site"
    restored = "restored"
    checked = "checked"
    surveyed = "surveyed"
    reviewed = "reviewed"
    closed = "closed"
    stood_down = "stood_down"


class EmergencyOutcome(StrEnum):
    restored = "restored"
    stood_down = "stood_down"  # declared in error or a duplicate


class InstallationStatus(StrEnum):
    ordered = "ordered"
    site_not_ready = "site_not_ready"  # a site check failed: waiting for the hospital's fix
    site_ready = "site_ready"
    delivered = "delivered"
    installed = "installed"  # also: back here for re-commissioning after an out-of-spec round
    commissioned = "commissioned"
    verified = "verified"
    trained = "trained"
    accepted = "accepted"
    cancelled = "cancelled"


class SiteItem(StrEnum):
    """Site assessment checklist (DOMAIN.md section 3)."""

    power = "power"
    grounding = "grounding"
    temperature = "temperature"
    humidity = "humidity"
    rf_shielding = "rf_shielding"  # MR only
    radiation_protection = "radiation_protection"  # CT (and other X-ray units) only
    floor_load = "floor_load"
    network = "network"


class TrainingTopic(StrEnum):
    operation = "operation"
    maintenance = "maintenance"
    safety = "safety"


class SigningParty(StrEnum):
    vendor = "vendor"
    hospital = "hospital"


class VisitStatus(StrEnum):
    scheduled = "scheduled"
    assigned = "assigned"
    done = "done"  # checklist reported, waiting for the customer's confirmation
    confirmed = "confirmed"
    cancelled = "cancelled"


class PlanStatus(StrEnum):
    active = "active"
    paused = "paused"
    ended = "ended"
