"""Group events (群体不良事件): an adverse event placed by its key (the values it shares with
others under the policy's group rule: the unit's make and model, the fault), decided in one
transaction under a lock on the key's head row, so events arriving at once agree: exactly one
of them forms the group, the others join it (docs/regulatory.md "Group events").

An event that forms a group reserves the group's case number in the same transaction, so every
later event of the group knows the case it joins.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseflow.domain.adverse_event import (
    AdverseEventCreate,
    AdverseEventStart,
    GroupMember,
    GroupOf,
    GroupPlacement,
    Placed,
    UnitRegistration,
    group_words,
)
from caseflow.domain.cases import CODE_VERSION
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.records import SYSTEM
from caseflow.domain.regulatory_policy import GROUP, GroupRule
from caseflow.domain.reliability_policy import wall_clock
from caseflow.store import directory
from caseflow.store.cases import Draft, case_status, reserve_case
from caseflow.store.db import insert_of
from caseflow.store.models import (
    AdverseEventGroup,
    AdverseEventGroupHead,
    AdverseEventGroupMember,
)

DETECTION = "group-detection"  # who reserves a group's case number


def place_event(session: Session, placement: GroupPlacement, *, now: datetime,
                local_day: date) -> tuple[Placed, AdverseEventGroup | None]:
    """Place the event: in the group it is in already, in the current group of its key if its
    awareness lies within the rule's window of that group's span, in a new group if it makes
    `count` events (at `hospitals` hospitals) within the window with events in no group yet,
    else in none (it waits there for others)."""
    member, rule = placement.member, placement.rule
    earlier = session.get(AdverseEventGroupMember, member.case_id)
    keys = {placement.key}
    if earlier is not None and earlier.group_id is None:
        keys.add(earlier.key)  # it moves from one key to another: both pools are locked
    heads = _lock_heads(session, sorted(keys))
    if earlier is not None:
        session.refresh(earlier)  # read again under the locks
        if earlier.group_id is not None:  # a retry, or a fault changed after it was grouped
            group = session.get(AdverseEventGroup, earlier.group_id)
            assert group is not None
            return Placed(outcome="member", group_case_id=group.case_id), group
        earlier.key, earlier.aware_at = placement.key, member.aware_at
        earlier.jurisdictions = list(member.jurisdictions)
        row = earlier
    else:
        row = AdverseEventGroupMember(
            case_id=member.case_id, key=placement.key, hospital_id=member.hospital_id,
            serial=member.serial, jurisdictions=list(member.jurisdictions),
            aware_at=member.aware_at, placed_at=now)
        session.add(row)
    session.flush()
    window = wall_clock(rule.within)
    head = heads[placement.key]
    current = session.get(AdverseEventGroup, head.group_id) if head.group_id else None
    if current is not None and case_status(session, current.case_id) not in ("closed", "void") and \
            current.first_at - window <= member.aware_at <= current.last_at + window:
        row.group_id = current.id
        current.first_at = min(current.first_at, member.aware_at)
        current.last_at = max(current.last_at, member.aware_at)
        return Placed(outcome="joined", group_case_id=current.case_id), current
    run = _run(session, placement.key, row, rule)
    if run is None:
        return Placed(outcome="ungrouped"), None
    group = _form(session, placement, run, now=now, local_day=local_day)
    head.group_id = group.id
    return Placed(outcome="formed", group_case_id=group.case_id), group


def _lock_heads(session: Session, keys: list[str]) -> dict[str, AdverseEventGroupHead]:
    """The head rows of `keys`, created if new and locked in one order (two events moving
    between keys never wait on each other in a circle)."""
    insert = insert_of(session)
    session.execute(insert(AdverseEventGroupHead).values(
        [{"key": key, "group_id": None} for key in keys]).on_conflict_do_nothing())
    heads = session.scalars(select(AdverseEventGroupHead)
                            .where(AdverseEventGroupHead.key.in_(keys))
                            .order_by(AdverseEventGroupHead.key).with_for_update())
    return {head.key: head for head in heads}


def _run(session: Session, key: str, row: AdverseEventGroupMember,
         rule: GroupRule) -> list[AdverseEventGroupMember] | None:
    """The first `count` events in no group (the new one among them) whose awareness times lie
    within the window, at enough hospitals, and the others of that window: None if none."""
    window = wall_clock(rule.within)
    pool = list(session.scalars(
        select(AdverseEventGroupMember)
        .where(AdverseEventGroupMember.key == key, AdverseEventGroupMember.group_id.is_(None),
               AdverseEventGroupMember.aware_at >= row.aware_at - window,
               AdverseEventGroupMember.aware_at <= row.aware_at + window)
        .order_by(AdverseEventGroupMember.aware_at, AdverseEventGroupMember.case_id)
        .with_for_update()))
    for index, first in enumerate(pool):
        span = [m for m in pool[index:] if m.aware_at <= first.aware_at + window]
        if row in span and len(span) >= rule.count and \
                len({m.hospital_id for m in span}) >= rule.hospitals:
            return span
    return None


def _form(session: Session, placement: GroupPlacement, run: list[AdverseEventGroupMember], *,
          now: datetime, local_day: date) -> AdverseEventGroup:
    """A new group of `run`, its case number reserved: it became known with the event that
    made it `count` events at enough hospitals."""
    rule = placement.rule
    known_at, hospitals = run[-1].aware_at, set()
    for index, member in enumerate(run):
        hospitals.add(member.hospital_id)
        if index + 1 >= rule.count and len(hospitals) >= rule.hospitals:
            known_at = member.aware_at
            break
    first = run[0]
    title = f"群体不良事件:{group_words(placement.same)}"
    key = f"group:{first.case_id}"  # a member is the first of one group at most
    case, _ = reserve_case(session, kind="adverse_event", created_by=DETECTION, key=key,
                           request_hash=hashlib.sha256(key.encode()).hexdigest(),
                           draft=Draft(hospital_id=first.hospital_id, equipment_serial=None,
                                       title=title), now=now, local_day=local_day)
    assert case.case_id is not None
    group = AdverseEventGroup(key=placement.key, case_id=case.case_id, first_at=first.aware_at,
                              last_at=run[-1].aware_at, aware_at=known_at, formed_at=now)
    session.add(group)
    session.flush()
    for member in run:
        member.group_id = group.id
    return group


def group_start(session: Session, group: AdverseEventGroup, placement: GroupPlacement, *,
                book: PolicyBook, now: datetime) -> AdverseEventStart:
    """The workflow input of the group's case: its events so far, the first event's unit (the
    make and model they share) and hospital, one report per jurisdiction of its events that has
    a group clock in the policy pinned now (no contract's: a group spans contracts)."""
    members = list(session.scalars(
        select(AdverseEventGroupMember).where(AdverseEventGroupMember.group_id == group.id)
        .order_by(AdverseEventGroupMember.aware_at, AdverseEventGroupMember.case_id)))
    first = members[0]
    found = directory.equipment(session, first.serial)
    assert found is not None, first.serial
    unit, hospital = found
    policy = book.pin(None, now, "adverse_event")
    rule = policy.regulatory.group if policy.regulatory is not None else None
    clocks = rule.clocks if rule is not None else {}
    places = sorted({code for m in members for code in m.jurisdictions if code in clocks})
    values = placement.same
    hospitals = len({m.hospital_id for m in members})
    body = AdverseEventCreate(
        hospital_id=first.hospital_id, equipment_serial=first.serial, event_type=GROUP,
        description=f"群体不良事件:{group_words(values)},{len(members)} 例,"
                    f"{hospitals} 家医院",
        aware_at=group.aware_at, fault_category=values.get("fault_category"),
        fault_code=values.get("fault_code"))
    start = AdverseEventStart(
        case_id=group.case_id, intake=body, hospital_name=hospital.name,
        equipment=directory.snapshot(unit, hospital),
        registration=UnitRegistration(jurisdictions=places), aware_at=group.aware_at,
        policy=policy, opened_by=SYSTEM, version=CODE_VERSION,
        group=GroupOf(group_id=group.id, key=group.key, same=values, members=[
            GroupMember(case_id=m.case_id, hospital_id=m.hospital_id, serial=m.serial,
                        aware_at=m.aware_at, jurisdictions=list(m.jurisdictions))
            for m in members]))
    return start
