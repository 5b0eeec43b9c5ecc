"""Finding cases in the projection: filters, sort orders with keyset pages, what is due soon."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from caseflow.domain.access import CaseScope
from caseflow.domain.errors import NotPermitted, UnknownCase
from caseflow.domain.search import CaseFilter, CaseSort, Cursor
from caseflow.domain.text_search import query_grams, query_text
from caseflow.store.models import Case, Notification


def case_query(filters: dict[str, Any]) -> Select[tuple[Case]]:
    """The cases whose columns equal `filters` (column name -> value; None: any), reserved
    ones (not started yet) left out, and void numbers unless they are asked for."""
    hidden = ["opening"] if filters.get("status") == "void" else ["opening", "void"]
    query = select(Case).where(Case.case_id.is_not(None), Case.status.not_in(hidden))
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(Case, name) == value)
    return query


def visible(query: Select[tuple[Case]], scope: CaseScope) -> Select[tuple[Case]]:
    """Only the cases `scope` may read: for an engineer serving one hospital, those assigned to
    them, those at that hospital and those they were notified about."""
    if not scope.limited:
        return query
    notified = select(Notification.case_id).where(Notification.person_id == scope.person_id)
    return query.where(or_(Case.assignee_id == scope.person_id,
                           Case.hospital_id == scope.hospital_id, Case.case_id.in_(notified)))


def readable(session: Session, case_id: str, scope: CaseScope) -> tuple[Case | None, bool]:
    """The case row (None: no such case) and whether `scope` may read it."""
    row = session.scalar(select(Case).where(Case.case_id == case_id))
    if row is None or not scope.limited:
        return row, row is not None
    return row, session.scalar(visible(select(Case).where(Case.case_id == case_id), scope)) \
        is not None


def visible_by_id(session: Session, case_ids: list[str], scope: CaseScope) -> dict[str, Case]:
    """The rows of these cases that `scope` may read, by case id."""
    query = visible(select(Case).where(Case.case_id.in_(case_ids)), scope)
    return {r.case_id: r for r in session.scalars(query) if r.case_id}


def known_case(session: Session, case_id: str, scope: CaseScope | None) -> Case:
    """The case's row: UnknownCase (404) if there is none or its number is void, NotPermitted
    (403) if `scope` may not read it (None: the caller checks what it may do with it, e.g. a
    step, which its workflow decides)."""
    if scope is None:
        row, may_read = session.scalar(select(Case).where(Case.case_id == case_id)), True
    else:
        row, may_read = readable(session, case_id, scope)
    if row is None:
        raise UnknownCase(f"no case {case_id}")
    if row.status == "void":
        raise UnknownCase(f"no case {case_id}: the number was issued but is void "
                          f"({row.void_reason})")
    if not may_read:
        raise NotPermitted(f"case {case_id} is neither assigned to you nor at a hospital you "
                           "serve")
    return row


def filtered(found: CaseFilter, scope: CaseScope, dialect: str = "postgresql") -> Select[tuple[Case]]:
    query = visible(case_query(found.columns), scope)
    if found.opened_from is not None:
        query = query.where(Case.opened_at >= found.opened_from)
    if found.opened_to is not None:
        query = query.where(Case.opened_at < found.opened_to)
    if found.due_before is not None:
        query = query.where(Case.closed_at.is_(None), Case.next_due_at < found.due_before)
    if found.open is not None:
        query = query.where(Case.closed_at.is_(None) if found.open else Case.closed_at.is_not(None))
    if found.q is not None:
        query = containing(query, found.q, dialect)
    return query


def containing(query: Select[tuple[Case]], text: str, dialect: str) -> Select[tuple[Case]]:
    """Cases whose text contains `text` (domain/text_search.py): on PostgreSQL the GIN index of
    their pieces finds the candidates and the substring match decides; SQLite scans."""
    wanted = query_text(text)
    escaped = wanted.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    match = func.lower(Case.search_text).like(f"%{escaped}%", escape="!")
    if dialect == "postgresql":
        pieces = array(query_grams(text), type_=Text)
        return query.where(Case.search_grams.op("@>")(pieces.cast(ARRAY(Text))), match)
    return query.where(match)


def find_cases(session: Session, found: CaseFilter, scope: CaseScope, sort: CaseSort,
               after: Cursor | None, limit: int) -> tuple[list[Case], Cursor | None]:
    """One page of the cases matching `found` in `sort` order (empty values last, ties by row
    number in the same direction), and the cursor of the next page (None on the last)."""
    column = getattr(Case, sort.column)
    query = filtered(found, scope, session.get_bind().dialect.name)
    if after is not None:
        query = query.where(_after(column, sort.descending, after))
    order = column.desc() if sort.descending else column.asc()
    tie = Case.seq.desc() if sort.descending else Case.seq.asc()
    rows = list(session.scalars(query.order_by(order.nulls_last(), tie).limit(limit + 1)))
    page = rows[:limit]
    if len(rows) <= limit:
        return page, None
    last = page[-1]
    value: datetime | None = getattr(last, sort.column)
    return page, Cursor(sort=sort, value=value.isoformat() if value else None, seq=last.seq)


def _after(column: Any, descending: bool, cursor: Cursor) -> Any:
    """Rows after the cursor's row in (column, seq) order with empty values last."""
    beyond = Case.seq < cursor.seq if descending else Case.seq > cursor.seq
    if cursor.at is None:
        return and_(column.is_(None), beyond)
    further = column < cursor.at if descending else column > cursor.at
    return or_(further, and_(column == cursor.at, beyond), column.is_(None))


def due_soon(session: Session, found: CaseFilter, scope: CaseScope, before: datetime,
             limit: int) -> list[Case]:
    """Open cases whose next commitment is due before `before` (overdue ones first), by due
    time."""
    query = filtered(found, scope, session.get_bind().dialect.name).where(
        Case.closed_at.is_(None), Case.next_due_at.is_not(None),
                                  Case.next_due_at < before)
    return list(session.scalars(query.order_by(Case.next_due_at, Case.seq).limit(limit)))
