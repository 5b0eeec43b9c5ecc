"""A unit's record: status, warranty, its maintenance plan and its service history
(GET /v1/equipment/{serial}); pausing, resuming and ending its plan."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep, SessionDep, SettingsDep, TemporalDep, in_thread
from caseflow.api.errors import ServiceUnavailable, domain_error_from_update, workflow_status
from caseflow.domain.access import Capability
from caseflow.domain.cases import Payload, Text
from caseflow.domain.errors import InvalidTransition, UnknownRecord
from caseflow.domain.maintenance import PlanChange, PlanView, plan_id
from caseflow.store import directory
from caseflow.store.equipment import unit_record

router = APIRouter(prefix="/v1/equipment", tags=["equipment"])
Serial = Annotated[str, Path(max_length=100, description="e.g. CT-DH-0001")]


class ServiceEntry(BaseModel):
    case_id: str
    kind: str
    status: str
    title: str
    opened_at: datetime
    closed_at: datetime | None
    breached: bool


class ContractFacts(BaseModel):
    """The service contract the unit is under: its term, warranty and maintenance interval."""

    code: str
    starts_on: date
    ends_on: date
    in_force: bool  # today is within [starts_on, ends_on]
    warranty_months: int
    maintenance_interval_days: int


class EquipmentRecord(BaseModel):
    serial: str
    hospital_id: str
    hospital_name: str
    modality: str
    brand: str
    model: str
    department: str
    contract_code: str | None
    contract: ContractFacts | None = Field(default=None, description="the contract's terms")
    status: str
    status_reason: str
    status_changed_at: datetime | None
    in_service_on: date | None
    warranty_start: date | None
    warranty_end: date | None
    in_warranty: bool
    plan: PlanView | None
    plan_unavailable: bool = Field(default=False, description="the plan exists but could not "
                                   "be read now (Temporal); the rest is from the register")
    cases: list[ServiceEntry]


class PlanChangeBody(Payload):
    reason: Text


@router.get("/{serial}", response_model=EquipmentRecord)
async def get_equipment(serial: Serial,
                        principal: Annotated[Principal, allowed(Capability.read_equipment)],
                        session: SessionDep, temporal: TemporalDep, settings: SettingsDep,
                        policy: PolicyDep) -> EquipmentRecord:
    """The unit: status, warranty, its contract's terms, its plan (next visits) and every case
    of it, newest first."""
    found = await in_thread(session, unit_record, serial, principal.scope)
    if found is None:
        raise UnknownRecord(f"no equipment with serial {serial!r}")
    unit, hospital, contract, cases = found
    today = datetime.now(ZoneInfo(policy.defaults.timezone)).date()
    record = EquipmentRecord(
        serial=unit.serial, hospital_id=unit.hospital_id, hospital_name=hospital.name,
        modality=unit.modality, brand=unit.brand, model=unit.model,
        department=unit.department, contract_code=unit.contract_code,
        contract=None if contract is None else ContractFacts(
            code=contract.code, starts_on=contract.starts_on, ends_on=contract.ends_on,
            in_force=contract.starts_on <= today <= contract.ends_on,
            warranty_months=contract.warranty_months,
            maintenance_interval_days=contract.maintenance_interval_days),
        status=unit.status, status_reason=unit.status_reason,
        status_changed_at=unit.status_changed_at, in_service_on=unit.install_date,
        warranty_start=unit.warranty_start, warranty_end=unit.warranty_end,
        in_warranty=directory.in_warranty(unit, today), plan=None, cases=[
            ServiceEntry(case_id=c.case_id or "", kind=c.kind, status=c.status, title=c.title,
                         opened_at=c.opened_at, closed_at=c.closed_at, breached=c.breached)
            for c in cases])
    try:
        record.plan = await temporal.get_workflow_handle(plan_id(serial)).query(
            "state", result_type=PlanView,
            rpc_timeout=timedelta(seconds=settings.query_timeout_seconds))
    except RPCError as error:  # no plan (NOT_FOUND), or Temporal away: the register answers
        record.plan_unavailable = error.status != RPCStatusCode.NOT_FOUND
    except WorkflowQueryFailedError:
        record.plan_unavailable = True
    return record


@router.post("/{serial}/plan/{change}", response_model=PlanView)
async def change_plan(
    serial: Serial, change: Literal["pause", "resume", "end"], body: PlanChangeBody,
    principal: Annotated[Principal, allowed(Capability.change_plans)],
    temporal: TemporalDep, settings: SettingsDep,
) -> PlanView:
    """Pause the unit's plan (out of service), resume it, or end it (decommissioned), with a
    reason: 409 if the plan is not in a state that allows it, 404 if the unit has none."""
    handle = temporal.get_workflow_handle(plan_id(serial))
    try:
        return await handle.execute_update(
            "change", PlanChange(change=change, reason=body.reason, actor=principal.actor),
            result_type=PlanView, rpc_timeout=timedelta(seconds=settings.update_timeout_seconds))
    except WorkflowUpdateFailedError as error:
        raise domain_error_from_update(error) from None
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise ServiceUnavailable(f"Temporal did not answer: {error.message}") from None
        status = await workflow_status(temporal, plan_id(serial))
        if isinstance(status, ServiceUnavailable):
            raise status from None
        if status is None:
            raise UnknownRecord(f"no maintenance plan for {serial!r}") from None
        if status == WorkflowExecutionStatus.RUNNING:  # its run continued as new meanwhile
            raise ServiceUnavailable(f"the plan of {serial} moved on to a new run; retry") \
                from None
        raise InvalidTransition(f"the plan of {serial} has ended") from None
