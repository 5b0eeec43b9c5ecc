"""Who may do what: the authorization matrix of roles and capabilities (docs/security.md).

Each API route declares the one capability it needs; the steps of a case are allowed further
by their action rules (domain/<kind>.py), checked by the API and again by the workflow's
update validator. Which cases an engineer may read is `case_scope`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from caseflow.domain.enums import Role

R = Role


class Capability(StrEnum):
    """What a route needs; WHAT below says each in words."""

    read_cases = "read_cases"
    open_repair = "open_repair"
    open_complaint = "open_complaint"
    open_emergency = "open_emergency"
    open_installation = "open_installation"
    report_steps = "report_steps"
    replay_cases = "replay_cases"
    read_reports = "read_reports"
    read_equipment = "read_equipment"
    change_plans = "change_plans"
    read_rosters = "read_rosters"
    maintain_rosters = "maintain_rosters"
    read_policy = "read_policy"
    check_policy = "check_policy"
    maintain_policy = "maintain_policy"
    read_events = "read_events"
    manage_subscriptions = "manage_subscriptions"
    manage_people = "manage_people"
    read_self = "read_self"
    read_directory = "read_directory"
    import_history = "import_history"
    report_alarms = "report_alarms"
    open_adverse_event = "open_adverse_event"
    read_regulatory = "read_regulatory"


EVERYONE = frozenset(Role)
PEOPLE = EVERYONE - {R.monitoring}  # a monitoring integration is a machine, not a colleague
CASE_READERS = frozenset({R.hotline, R.supervisor, R.engineer, R.manager, R.director, R.auditor,
                          R.regulatory})
MANAGERS = frozenset({R.manager, R.director})

MATRIX: dict[Capability, frozenset[Role]] = {
    Capability.read_cases: CASE_READERS,
    Capability.open_repair: frozenset({R.hotline, R.supervisor, R.manager}),
    Capability.open_complaint: frozenset({R.hotline, R.supervisor, R.manager, R.director}),
    Capability.open_emergency: frozenset({R.hotline, R.supervisor, R.manager, R.director}),
    Capability.open_installation: frozenset({R.supervisor, R.manager, R.director}),
    Capability.report_steps: frozenset({R.hotline, R.supervisor, R.engineer, R.manager,
                                        R.director, R.regulatory}),
    Capability.replay_cases: frozenset({R.auditor, R.manager, R.director}),
    Capability.read_reports: frozenset({R.supervisor, R.manager, R.director, R.auditor,
                                        R.regulatory}),
    Capability.read_equipment: CASE_READERS,
    Capability.change_plans: frozenset({R.supervisor, R.manager, R.director}),
    Capability.read_rosters: CASE_READERS | {R.admin},
    Capability.maintain_rosters: MANAGERS | {R.admin},
    Capability.read_policy: CASE_READERS,
    Capability.check_policy: MANAGERS | {R.auditor},
    Capability.maintain_policy: MANAGERS,
    Capability.read_events: frozenset({R.hotline, R.supervisor, R.manager, R.director,
                                       R.auditor, R.admin}),
    Capability.manage_subscriptions: frozenset({R.admin}),
    Capability.manage_people: frozenset({R.admin}),
    Capability.read_self: PEOPLE,
    Capability.read_directory: PEOPLE,
    Capability.import_history: MANAGERS | {R.admin},
    Capability.report_alarms: frozenset({R.monitoring}),
    Capability.open_adverse_event: frozenset({R.regulatory}),
    Capability.read_regulatory: frozenset({R.regulatory, R.auditor, R.manager, R.director}),
}

WHAT = {
    Capability.read_cases: "list and read cases: state, timeline, history, export, CSV; the "
                           "kinds of case",
    Capability.open_repair: "open a repair",
    Capability.open_complaint: "record a complaint",
    Capability.open_emergency: "declare an emergency",
    Capability.open_installation: "record an installation order",
    Capability.report_steps: "report a step on a case (then the action's own rule)",
    Capability.replay_cases: "replay a case against today's code",
    Capability.read_reports: "SLA and reliability reports, uptime guarantees, fault patterns, "
                             "annual and visit reports",
    Capability.read_equipment: "a unit's record and service history",
    Capability.change_plans: "pause, resume or end a maintenance plan",
    Capability.read_rosters: "on-call rosters",
    Capability.maintain_rosters: "replace on-call shifts",
    Capability.read_policy: "the SLA policy in force",
    Capability.check_policy: "check a candidate SLA policy; follow policy migrations",
    Capability.maintain_policy: "put an SLA policy in force for new cases; preview and apply "
                                "a migration of open cases to one",
    Capability.read_events: "re-fetch a case event as subscribers receive it",
    Capability.manage_subscriptions: "event subscriptions of outside tools",
    Capability.manage_people: "people, roles, log-ins and API tokens",
    Capability.read_self: "who am I; sign out; their own notifications (inbox, read marks) "
                          "and the live feed (of the cases they may read)",
    Capability.read_directory: "hospitals; colleagues' names and roles (to assign, to put on call)",
    Capability.import_history: "import past service records (all of a file or nothing)",
    Capability.report_alarms: "post a unit's alarms (remote monitoring)",
    Capability.open_adverse_event: "open an adverse-event case (regulatory affairs)",
    Capability.read_regulatory: "an adverse event's report file (JSON, PDF) and the regulatory "
                                "board",
}


def may(role: Role, capability: Capability) -> bool:
    return role in MATRIX[capability]


@dataclass(frozen=True)
class CaseScope:
    """Which cases a person may read: everything, or (an engineer serving one hospital) the
    cases assigned to them, those at that hospital and those they were notified about (a page,
    a hand-over). store/search.py `visible` applies it."""

    person_id: str
    hospital_id: str | None
    everything: bool

    @property
    def limited(self) -> bool:
        """True when the scope narrows anything: an engineer with a hospital (one without
        serves every hospital)."""
        return not self.everything and self.hospital_id is not None


def case_scope(role: Role, person_id: str, hospital_id: str | None) -> CaseScope:
    return CaseScope(person_id=person_id, hospital_id=hospital_id,
                     everything=role is not Role.engineer)
