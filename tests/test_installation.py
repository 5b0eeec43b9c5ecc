"""An installation acceptance on the time-skipping test server (DOMAIN.md section 3).

The unit goes into service only after the site assessment, every parameter in spec, training
and both signatures; a failed site check pauses the clock and reminds the hotline; an
out-of-spec round goes back to commissioning, every round kept; a refusal goes back too;
missing signatures are reminded every 2 days and escalate after 7. Acceptance registers the
unit in service with its warranty and starts its maintenance plan. Checked in the workflow's
view and in what the activities wrote to PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from caseflow.domain.installation import AcceptedUnit, InstallationView
from caseflow.domain.maintenance import PlanView, plan_id
from caseflow.domain.records import Actor
from caseflow.store.equipment import warranty_end
from caseflow.store.models import CaseEventRow, Equipment, Escalation, Notification
from tests.installation_driver import (
    ENGINEER,
    HOTLINE,
    IN_SPEC,
    MANAGER,
    SUPERVISOR,
    TRAINING,
    InstallationDriver,
    site,
)
from tests.test_deadlines import advance_to

DAY = timedelta(days=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")
Opener = Callable[..., Awaitable[InstallationDriver]]


@pytest.fixture
def order(private_env, sessions, policy_book) -> Opener:  # type: ignore[no-untyped-def]
    env, queue = private_env

    async def _order(**fields: Any) -> InstallationDriver:
        return await InstallationDriver.open(env, queue, sessions, policy_book, **fields)

    return _order


def commitment(view: InstallationView, key: str):  # type: ignore[no-untyped-def]
    return [c for c in view.commitments if c.key == key][-1]


def unit(sessions, serial: str) -> Equipment:  # type: ignore[no-untyped-def]
    with sessions() as session:
        found = session.get(Equipment, serial)
        assert found is not None
        return found


def events(sessions, case_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(select(CaseEventRow.event).where(
            CaseEventRow.case_id == case_id).order_by(CaseEventRow.seq)))


def escalations(sessions, case_id: str, key: str) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return [(r.level, r.notify) for r in session.scalars(select(Escalation).where(
            Escalation.case_id == case_id, Escalation.commitment == key)
            .order_by(Escalation.id))]


async def refused(case: InstallationDriver, action: str, actor: Actor, kind: str,
                  field: str | None = None, **payload: Any) -> ApplicationError:
    before = await case.state()
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await case.act(action, actor, **payload)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == kind, (cause, kind)
    if field is not None:
        assert cause.details and cause.details[0] == {"field": field}, cause.details
    after = await case.state()
    assert after.steps == before.steps and after.status == before.status
    return cause


async def finished(env: WorkflowEnvironment, case: InstallationDriver) -> None:
    with env.auto_time_skipping_disabled():
        await asyncio.wait_for(case.handle.result(), 60)


async def test_a_full_acceptance_puts_the_unit_in_service_and_starts_its_plan(order, env,
                                                                               sessions):
    case = await order()
    assert unit(sessions, case.serial).status == "installing"
    early = {"deliver": {}, "verify": {"parameters": IN_SPEC}, "train": TRAINING,
             "sign": {"party": "vendor", "signer_name": "赵敏", "signature_ref": "x"}}
    for action, payload in early.items():  # nothing out of order, whoever asks
        await refused(case, action, MANAGER, "InvalidTransition", **payload)
    await refused(case, "assess-site", ENGINEER, "NotAssignee", **site())  # not the lead yet
    view = await case.walk_to("verified")
    assert commitment(view, "signatures").due_at == view.steps[-1].at + 7 * DAY
    view = await case.walk_to("trained")
    await refused(case, "sign", ENGINEER, "NotPermitted", party="vendor", signer_name="张伟",
                  signature_ref="x")  # an engineer does not sign for the vendor
    view = await case.walk_to("accepted")
    assert [s.data["party"] for s in view.signatures] == ["vendor", "hospital"]
    assert all(c.state == "met" for c in view.commitments), view.commitments
    await finished(env, case)
    view = await case.state()
    # Every record of the case has one shape, who did what when: {at, by, data}.
    shown = view.model_dump(mode="json")
    records = [shown["training"], shown["accepted"], *shown["signatures"],
               *shown["verifications"], *shown["assessments"]]
    assert all(set(r) == {"at", "by", "data"} for r in records), records
    assert shown["training"]["by"]["id"] == "EN-01" and shown["accepted"]["by"]["id"] == "system"
    assert view.accepted is not None and view.closed_at is not None
    accepted = AcceptedUnit.model_validate(view.accepted.data)
    today = view.closed_at.astimezone(SHANGHAI).date()  # the policy's day, not the host's
    assert accepted.in_service_on == today and accepted.warranty_start == today
    assert accepted.warranty_end == warranty_end(today, 24)  # the contract's 24 months
    assert accepted.contract_ends_on == date(2027, 12, 31)
    registered = unit(sessions, case.serial)
    assert (registered.status, registered.install_date, registered.warranty_end) == (
        "in_service", today, accepted.warranty_end)
    plan = await env.client.get_workflow_handle(plan_id(case.serial)).query(
        "state", result_type=PlanView)
    assert plan.status == "active" and plan.interval_days == 90
    assert plan.next_due == today + 90 * DAY and plan.origin_case_id == case.case_id
    assert plan.ends_on == date(2027, 12, 31) and all(d <= plan.ends_on for d in plan.upcoming)
    assert events(sessions, case.case_id)[-3:] == ["sign", "in-service", "plan-started"]
    await env.client.get_workflow_handle(plan_id(case.serial)).execute_update(
        "change", {"change": "end", "reason": "测试结束", "actor": SUPERVISOR.model_dump()},
        result_type=PlanView)


async def test_an_out_of_spec_round_returns_to_commissioning_and_every_round_is_kept(
        order, env, sessions):
    case = await order()
    await case.walk_to("commissioned")
    bad = [dict(IN_SPEC[0], value=9.5), *IN_SPEC[1:]]
    view = await case.act("verify", ENGINEER, parameters=bad)
    assert view.status == "installed"
    assert view.verifications[-1].data["out_of_spec"] == ["CT值 水模"]
    assert commitment(view, "commissioning").state == "open", "its window keeps counting"
    await refused(case, "verify", ENGINEER, "InvalidTransition", parameters=IN_SPEC)
    await case.act("commission", ENGINEER, note="重新校准")
    view = await case.act("verify", ENGINEER, parameters=IN_SPEC)
    assert view.status == "verified"
    assert [r.data["round"] for r in view.verifications] == [1, 2]
    assert [r.data["out_of_spec"] for r in view.verifications] == [["CT值 水模"], []]
    await case.act("cancel", SUPERVISOR, reason="测试结束")


async def test_a_failed_site_check_pauses_the_delivery_clock_and_reminds_every_2_days(
        order, env, sessions):
    case = await order(delivery_in=timedelta(days=10))
    view = await case.walk_to("ordered")  # the lead engineer is named
    delivery_due = commitment(view, "delivery").due_at
    await refused(case, "assess-site", ENGINEER, "InvalidPayload", field="items.rf_shielding",
                  items=dict(site("CT")["items"], rf_shielding={"passed": True}))
    await refused(case, "assess-site", ENGINEER, "InvalidPayload",
                  field="items.radiation_protection",
                  items={k: v for k, v in site("CT")["items"].items()
                         if k != "radiation_protection"})
    view = await case.act("assess-site", ENGINEER, **site("CT", failing=("grounding", "power")))
    failed_at = view.steps[-1].at
    assert view.status == "site_not_ready" and view.paused is not None
    assert view.paused.reason == "site_not_ready"
    assert commitment(view, "site_assessment").state == "met"
    await refused(case, "deliver", ENGINEER, "InvalidTransition")
    await advance_to(env, failed_at + 5 * DAY)
    fix = commitment(await case.state(), "site_fix")
    assert [f.level for f in fix.fired] == [-1, -2], "reminders at 2 and 4 days"
    assert [f.scheduled_at - failed_at for f in fix.fired] == [2 * DAY, 4 * DAY]
    with sessions() as session:
        reminded = session.scalars(select(Notification.person_id).where(
            Notification.case_id == case.case_id,
            Notification.dedupe_key.like(f"{case.case_id}/esc/site_fix/%")))
        assert set(reminded) == {"HL-01"}  # the hotline chases the hospital
    assert events(sessions, case.case_id).count("reminder") == 2
    view = await case.act("assess-site", ENGINEER, **site("CT"))
    assert view.status == "site_ready" and view.paused is None
    assert commitment(view, "site_fix").state == "met"
    # The delivery date moved by exactly the time (five days) the site was not ready.
    (pause,) = view.pauses
    assert pause.ended_at is not None and pause.ended_at - pause.started_at >= 5 * DAY
    assert commitment(view, "delivery").due_at == delivery_due + (pause.ended_at
                                                                  - pause.started_at)
    assert len(view.assessments) == 2
    await case.act("cancel", SUPERVISOR, reason="测试结束")


async def test_a_refused_signature_goes_back_to_commissioning_and_needs_both_again(
        order, env, sessions):
    case = await order()
    await case.walk_to("trained")
    await case.act("sign", MANAGER, party="vendor", signer_name="赵敏", signature_ref="v.pdf")
    await refused(case, "sign", SUPERVISOR, "InvalidTransition", party="vendor",
                  signer_name="李强", signature_ref="v2.pdf")  # the vendor signed already
    await refused(case, "refuse", SUPERVISOR, "InvalidTransition", party="vendor",
                  signer_name="李强", reason="改主意")  # nor can it refuse now
    view = await case.act("refuse", HOTLINE, party="hospital", signer_name="吴工",
                          reason="图像均匀性不达标,需复测")
    assert view.status == "installed" and view.signatures == []
    assert commitment(view, "signatures").state == "waived"
    assert view.refusals[-1].data["reason"] == "图像均匀性不达标,需复测"
    assert commitment(view, "commissioning").state == "open", "the rework has its window"
    await case.act("commission", ENGINEER)
    view = await case.act("verify", ENGINEER, parameters=IN_SPEC)
    assert view.status == "trained", "the training before the refusal is kept"
    signatures = commitment(view, "signatures")
    assert signatures.round == 2 and signatures.started_at == view.steps[-1].at
    await case.act("sign", MANAGER, party="vendor", signer_name="赵敏", signature_ref="v2.pdf")
    view = await case.act("sign", HOTLINE, party="hospital", signer_name="吴工",
                          signature_ref="h2.pdf")
    assert view.status == "accepted" and len(view.signatures) == 2
    await finished(env, case)
    await env.client.get_workflow_handle(plan_id(case.serial)).execute_update(
        "change", {"change": "end", "reason": "测试结束", "actor": SUPERVISOR.model_dump()},
        result_type=PlanView)


async def test_missing_signatures_are_reminded_every_2_days_then_escalate(order, env, sessions):
    case = await order()
    view = await case.walk_to("verified")
    verified_at = view.steps[-1].at  # DOMAIN.md: signed 7 days after the verification
    assert commitment(view, "signatures").started_at == verified_at
    await case.walk_to("trained")
    await case.act("sign", MANAGER, party="vendor", signer_name="赵敏", signature_ref="v.pdf")
    await advance_to(env, verified_at + 11 * DAY)
    signatures = commitment(await case.state(), "signatures")
    # Reminders at 2, 4 and 6 days, the warning at 75% (5.25 days), the breach at 7 days to
    # the supervisors, at 10.5 days to the service manager.
    assert [(f.level, f.notify, f.scheduled_at - verified_at) for f in signatures.fired] == [
        (-1, "supervisor", 2 * DAY), (-2, "supervisor", 4 * DAY), (0, "supervisor", 5.25 * DAY),
        (-3, "supervisor", 6 * DAY), (1, "supervisor", 7 * DAY), (2, "manager", 10.5 * DAY)]
    assert escalations(sessions, case.case_id, "signatures")[-2:] == [(1, "supervisor"),
                                                                      (2, "manager")]
    view = await case.act("sign", HOTLINE, party="hospital", signer_name="吴工",
                          signature_ref="h.pdf")
    assert view.status == "accepted" and commitment(view, "signatures").state == "met_late"
    await finished(env, case)
    await env.client.get_workflow_handle(plan_id(case.serial)).execute_update(
        "change", {"change": "end", "reason": "测试结束", "actor": SUPERVISOR.model_dump()},
        result_type=PlanView)
