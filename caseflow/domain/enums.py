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


class CaseKind(StrEnum):
    repair = "repair"


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
