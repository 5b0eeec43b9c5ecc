"""The kinds of case the API serves: each kind's workflow, action rules and view."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from caseflow.domain.cases import ActionRule
from caseflow.domain.complaint import COMPLAINT_ACTIONS, ComplaintView
from caseflow.domain.emergency import EMERGENCY_ACTIONS, EmergencyView
from caseflow.domain.installation import INSTALLATION_ACTIONS, InstallationView
from caseflow.domain.maintenance import VISIT_ACTIONS, VisitView
from caseflow.domain.repair import REPAIR_ACTIONS, RepairView


@dataclass(frozen=True)
class Kind:
    name: str
    rules: dict[str, ActionRule]
    view: type[BaseModel]


KINDS: dict[str, Kind] = {
    "repair": Kind("repair", REPAIR_ACTIONS, RepairView),
    "complaint": Kind("complaint", COMPLAINT_ACTIONS, ComplaintView),
    "emergency": Kind("emergency", EMERGENCY_ACTIONS, EmergencyView),
    "installation": Kind("installation", INSTALLATION_ACTIONS, InstallationView),
    "maintenance": Kind("maintenance", VISIT_ACTIONS, VisitView),
}
