"""InstallationAcceptanceWorkflow: a new CT or MR unit from the order to clinical service
(DOMAIN.md section 3).

The unit cannot go into service before its site was assessed, every performance parameter
was measured inside its specification, its users were trained and both parties signed. A
failed site check pauses the case's clock (the delivery date moves by the time the hospital
takes) while the hotline is reminded every 2 days to chase the fix; an out-of-spec measurement
round sends the case back to commissioning (every round is kept); missing signatures are
reminded every 2 days and escalate after 7. On acceptance the unit is registered in service
with its warranty, and its preventive-maintenance plan starts as a workflow of its own.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from caseflow.workflows.case import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, CaseWorkflow, Outcome

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from caseflow.domain import installation as i
    from caseflow.domain.cases import OPENED_LEAN, CaseAction, LinkedCase
    from caseflow.domain.enums import InstallationStatus, Role, SigningParty, TrainingTopic
    from caseflow.domain.errors import InvalidPayload, InvalidTransition, NotPermitted
    from caseflow.domain.maintenance import EquipmentStatusChange, PlanStart, plan_id
    from caseflow.domain.policy import SITE_PAUSE
    from caseflow.domain.records import (
        ACCEPT_INSTALLATION,
        SET_EQUIPMENT_STATUS,
        START_MAINTENANCE_PLAN,
        SYSTEM,
        Actor,
        CaseProjection,
        NoticeRequest,
    )
    from caseflow.domain.words import local_text, word

I = InstallationStatus  # noqa: E741
# The signature clock runs from the passing verification (DOMAIN.md: 7 days after it), a
# refusal reopens the commissioning window, and training given before a refusal is kept.
# Histories recorded before this patch started the clock at training.
SIGN_AFTER_VERIFICATION = "installation-signatures-from-verification"
# The commissioning window runs until the performance verification passes (commissioned but
# not verified, the case had no clock); histories before this patch met it at commissioning.
COMMISSIONED_UNTIL_VERIFIED = "installation-commissioning-until-verified"
VENDOR_SIGNERS = frozenset({Role.supervisor, Role.manager, Role.director})


@workflow.defn
class InstallationAcceptanceWorkflow(CaseWorkflow):
    kind = "installation"
    rules = i.INSTALLATION_ACTIONS
    carry = i.InstallationCarry

    @workflow.init
    def __init__(self, start: i.InstallationStart) -> None:
        assert start.policy.installation is not None, "the pinned policy has no installation"
        self.start = start
        self.commitments = start.policy.installation
        if self._resumed(start.carried):
            self.revised = self.until_verified = True
            return
        self._open_case(start.case_id, start.policy, start.intake.hospital_id, start.opened_by)
        self.status = I.ordered
        self.assessments: list[i.Recorded] = []
        self.verifications: list[i.Recorded] = []
        self.training: i.Recorded | None = None
        self.signatures: dict[SigningParty, i.Recorded] = {}
        self.refusals: list[i.Recorded] = []
        self.accepted: i.AcceptedUnit | None = None
        self.linked_cases: list[LinkedCase] = []
        self.cancel_reason: str | None = None
        self.revised = self._patched(SIGN_AFTER_VERIFICATION)
        self.until_verified = self._since(OPENED_LEAN, COMMISSIONED_UNTIL_VERIFIED)
        order = start.intake
        due = max(order.delivery_due_at, self.opened_at + timedelta(minutes=1))
        self.deadlines.start_until("site_assessment", label="现场评估",
                                   at=self.opened_at, due_at=due)
        self.deadlines.start_until("delivery", label="到货", at=self.opened_at,
                                   due_at=due, pausable=True)
        self._intake_events.append(self._event(
            "opened", start.opened_by,
            f"装机订单:{order.modality.value} {order.brand} {order.model} "
            f"{order.serial},{start.hospital_name} {order.department},应于 "
            f"{local_text(order.delivery_due_at)} 到货",
            {"intake": order.model_dump(mode="json"), "contract_code": start.contract_code,
             "policy_version": self.policy.policy_version},
            [NoticeRequest(to_role=Role.supervisor, template="installation-ordered",
                           params=self._told())]))

    @workflow.run
    async def run(self, start: i.InstallationStart) -> i.InstallationResult:
        await self._live()
        if self.status == I.accepted:
            await self._start_plan()
        elif self.status == I.cancelled and self.revised:
            await self._release_unit()
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self.closed_at is not None
        return i.InstallationResult(case_id=self.case_id, status=self.status,
                                    accepted=self.accepted, closed_at=self.closed_at)

    # ----- reads --------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.status in (I.accepted, I.cancelled)

    def view(self) -> i.InstallationView:
        return i.InstallationView(
            **self._case_view(), status=self.status, intake=self.start.intake,
            hospital_name=self.start.hospital_name, contract_code=self.start.contract_code,
            assessments=self.assessments, verifications=self.verifications,
            training=self.training, signatures=list(self.signatures.values()),
            refusals=self.refusals, linked_cases=self.linked_cases,
            accepted=i.Recorded(at=self.closed_at or workflow.now(), by=SYSTEM,
                                data=self.accepted.model_dump(mode="json"))
            if self.accepted is not None else None,
            paused=self.deadlines.paused, pauses=self.deadlines.pauses,
            cancel_reason=self.cancel_reason)

    # ----- checks beyond the rule table ---------------------------------------------------------

    def _refusal(self, action: str) -> str | None:
        if action == "sign" and len(self.signatures) == 2:
            return "both parties have signed"
        return None

    def _check_person(self, request: CaseAction, payload: BaseModel) -> None:
        """An engineer acts only as the installation's lead; the vendor signs through staff."""
        super()._check_person(request, payload)
        role = request.actor.role
        if isinstance(payload, i.Signature | i.Refusal) and payload.party == SigningParty.vendor \
                and role not in VENDOR_SIGNERS:
            raise NotPermitted(f"a {role} may not sign for the vendor; a supervisor, manager or "
                               "director signs for the vendor")

    def _check_payload(self, action: str, payload: BaseModel) -> None:
        if isinstance(payload, i.SiteAssessment):
            needed = i.site_items(self.start.intake.modality)
            for item in needed:
                if item not in payload.items:
                    raise InvalidPayload(f"a {self.start.intake.modality.value} site needs "
                                         f"{item.value} checked", field=f"items.{item.value}")
            for item in payload.items:
                if item not in needed:
                    raise InvalidPayload(f"{item.value} does not apply to a "
                                         f"{self.start.intake.modality.value} site",
                                         field=f"items.{item.value}")
        if isinstance(payload, i.Training):
            missing = [t.value for t in TrainingTopic if t not in payload.topics]
            if missing:
                raise InvalidPayload(f"training must cover {', '.join(missing)} too",
                                     field="topics")
        if isinstance(payload, i.Signature | i.Refusal) and payload.party in self.signatures:
            raise InvalidTransition(f"the {payload.party.value} has signed already")

    # ----- step handlers ------------------------------------------------------------------------

    def _assign(self, actor: Actor, p: i.AssignLead) -> Outcome:
        self.assignee = Actor(id=p.engineer_id, name=p.engineer_name or p.engineer_id,
                              role=Role.engineer)
        return (f"负责工程师:{self.assignee.name}", p.model_dump(mode="json"),
                [NoticeRequest(to_person_id=p.engineer_id, template="installation-assigned",
                               params=self._told())])

    def _assess_site(self, actor: Actor, p: i.SiteAssessment) -> Outcome:
        now = workflow.now()
        self.assessments.append(i.Recorded(at=now, by=actor, data=p.model_dump(mode="json")))
        self.deadlines.meet("site_assessment", now)
        failed = p.failed
        data = p.model_dump(mode="json") | {"failed": [f.value for f in failed]}
        if failed:
            names = ", ".join(f.value for f in failed)
            if self.deadlines.paused is None:
                self.deadlines.pause(at=now, reason=SITE_PAUSE, note=names, by=actor.id)
            if self.status != I.site_not_ready:
                self.deadlines.start("site_fix", self.commitments.site_fix, at=now)
            self.status = I.site_not_ready
            return (f"现场不合格({names}):等待医院整改,计时暂停", data,
                    [NoticeRequest(to_role=Role.hotline, template="site-fix",
                                   params={"case_id": self.case_id, "text": names})])
        self.deadlines.meet("site_fix", now)
        if self.deadlines.paused is not None:
            self.deadlines.resume(at=now, by=actor.id)
        self.status = I.site_ready
        return "现场合格:各项均通过", data, []

    def _deliver(self, actor: Actor, p: i.Step) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("delivery", now)
        self.deadlines.start("commissioning", self.commitments.commissioning, at=now)
        self.status = I.delivered
        return f"到货 {p.note}".strip(), p.model_dump(mode="json"), []

    def _install(self, actor: Actor, p: i.Step) -> Outcome:
        self.status = I.installed
        return f"安装 {p.note}".strip(), p.model_dump(mode="json"), []

    def _commission(self, actor: Actor, p: i.Step) -> Outcome:
        if not self.until_verified:
            self.deadlines.meet("commissioning", workflow.now())
        self.status = I.commissioned
        return f"调试完成 {p.note}".strip(), p.model_dump(mode="json"), []

    def _verify(self, actor: Actor, p: i.Verification) -> Outcome:
        now = workflow.now()
        out = p.out_of_spec
        data = p.model_dump(mode="json") | {"round": len(self.verifications) + 1,
                                            "out_of_spec": [m.name for m in out]}
        self.verifications.append(i.Recorded(at=now, by=actor, data=data))
        if out:
            self.status = I.installed  # back to commissioning; its window keeps counting
            self.deadlines.reopen("commissioning", now)
            names = "; ".join(f"{m.name} {m.value:g}{m.unit} (spec {m.low}..{m.high})"
                              for m in out)
            return (f"性能验证不合格,返回调试:{names}", data,
                    [NoticeRequest(to_role=Role.supervisor, template="out-of-spec",
                                   params={"case_id": self.case_id, "text": names})])
        self.status = I.verified
        self.deadlines.meet("commissioning", now)  # met already when commissioned (older cases)
        if self.revised:
            self.deadlines.start("signatures", self.commitments.signatures, at=now)
            if self.training is not None:  # trained before a refusal: ready to sign again
                self.status = I.trained
        return (f"性能验证合格:{len(p.parameters)} 项参数均在规格内"
                f"(第 {data['round']} 轮)", data, [])

    def _train(self, actor: Actor, p: i.Training) -> Outcome:
        self.training = i.Recorded(at=workflow.now(), by=actor, data=p.model_dump(mode="json"))
        self.status = I.trained
        if not self.revised:
            self.deadlines.start("signatures", self.commitments.signatures, at=workflow.now())
        names = ", ".join(a.name for a in p.attendees)
        return (f"培训 {len(p.attendees)} 人({names}):"
                f"{', '.join(t.value for t in p.topics)}", p.model_dump(mode="json"), [])

    def _sign(self, actor: Actor, p: i.Signature) -> Outcome:
        now = workflow.now()
        self.signatures[p.party] = i.Recorded(at=now, by=actor, data=p.model_dump(mode="json"))
        summary = f"签字({word('party', p.party)}):{p.signer_name} {p.signer_title}".strip()
        if len(self.signatures) < 2:
            return summary, p.model_dump(mode="json"), []
        self.deadlines.meet("signatures", now)
        self.status = I.accepted
        self.closed_at = now
        return (f"{summary};双方签字,验收通过", p.model_dump(mode="json"),
                [NoticeRequest(to_role=Role.supervisor, template="accepted",
                               params=self._told())])

    def _refuse(self, actor: Actor, p: i.Refusal) -> Outcome:
        now = workflow.now()
        self.refusals.append(i.Recorded(at=now, by=actor, data=p.model_dump(mode="json")))
        self.signatures.clear()
        self.deadlines.waive("signatures", now, f"refused by the {p.party.value}")
        if self.revised:  # the rework runs on the commissioning window again
            self.deadlines.start("commissioning", self.commitments.commissioning, at=now)
        self.status = I.installed  # rework, then commission and verify again
        return (f"拒签({word('party', p.party)},{p.signer_name}):{p.reason};返回调试",
                p.model_dump(mode="json"),
                [NoticeRequest(to_role=Role.supervisor, urgent=True,
                               template="acceptance-refused",
                               params={"case_id": self.case_id, "party": p.party.value,
                                       "text": p.reason})])

    def _cancel(self, actor: Actor, p: i.Cancel) -> Outcome:
        now = workflow.now()
        self._settle(now, "cancelled")
        if self.deadlines.paused is not None:
            self.deadlines.resume(at=now, by=actor.id)
        self.cancel_reason = p.reason
        self.status = I.cancelled
        self.closed_at = now
        return f"取消:{p.reason}", p.model_dump(mode="json"), []

    # ----- the register ---------------------------------------------------------------------

    async def _release_unit(self) -> None:
        """A cancelled order leaves the register: the unit is `cancelled` (its serial may be
        ordered again)."""
        await workflow.execute_activity(
            SET_EQUIPMENT_STATUS,
            EquipmentStatusChange(serial=self.start.intake.serial, status="cancelled",
                                  reason=f"installation {self.case_id} cancelled: "
                                         f"{self.cancel_reason}", by=SYSTEM),
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY)
        await self._record("unit-released", SYSTEM,
                           f"取消登记:{self.start.intake.serial} 已移出设备登记")

    async def _start_plan(self) -> None:
        """Register the unit in service with its warranty, then start its maintenance plan
        (a workflow of its own, started by an activity: it outlives this case by years).
        Trouble is recorded, never lost."""
        order = self.start.intake
        try:
            self.accepted = await workflow.execute_activity(
                ACCEPT_INSTALLATION,
                i.AcceptUnit(case_id=self.case_id, serial=order.serial,
                             accepted_at=self.closed_at or workflow.now()),
                result_type=i.AcceptedUnit, start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY)
            await self._record("in-service", SYSTEM,
                               f"投入使用:{order.serial} 于 "
                               f"{self.accepted.in_service_on};保修 "
                               f"{self.accepted.warranty_start} .. {self.accepted.warranty_end}",
                               self.accepted.model_dump(mode="json"))
            first_due = self.accepted.in_service_on + timedelta(
                days=self.accepted.maintenance_interval_days)
            await workflow.execute_activity(
                START_MAINTENANCE_PLAN,
                PlanStart(serial=order.serial, hospital_id=self.hospital_id,
                          interval_days=self.accepted.maintenance_interval_days,
                          first_due=first_due, timezone=self.policy.timezone,
                          opened_by=SYSTEM, origin_case_id=self.case_id,
                          ends_on=self.accepted.contract_ends_on),
                start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY)
        except ActivityError as error:
            cause = error.cause if error.cause is not None else error
            await self._record("plan-not-started", SYSTEM,
                               f"未能启动维护计划:{cause}",
                               {"error": str(cause)},
                               [NoticeRequest(to_role=Role.supervisor, urgent=True,
                                              template="plan-not-started",
                                              params={"case_id": self.case_id,
                                                      "text": str(cause)})])
            return
        self.linked_cases.append(LinkedCase(case_id=plan_id(order.serial), kind="plan",
                                            relation="maintenance plan", status="active",
                                            opened_at=workflow.now()))
        await self._record("plan-started", SYSTEM,
                           f"预防性维护计划:每 "
                           f"{self.accepted.maintenance_interval_days} 天,首次 "
                           f"{first_due} 前", {"plan_id": plan_id(order.serial),
                                            "first_due": first_due.isoformat()})

    # ----- recording ----------------------------------------------------------------------------

    def _told(self) -> dict[str, str]:
        """The parameters of this case's notices: the case, the unit, the hospital."""
        order = self.start.intake
        return {"case_id": self.case_id, "unit": f"{order.modality.value} {order.serial}",
                "hospital": self.start.hospital_name}

    def _projection(self) -> CaseProjection:
        order = self.start.intake
        return CaseProjection(
            case_id=self.case_id, kind=self.kind, status=self.status.value, severity=None,
            hospital_id=self.hospital_id, equipment_serial=order.serial,
            assignee_id=self.assignee.id if self.assignee else None,
            breached=self.deadlines.breached,
            title=f"{order.modality.value} {order.brand} {order.model} {order.serial}"[:200],
            opened_at=self.opened_at, closed_at=self.closed_at,
            policy_version=self.policy.policy_version)
