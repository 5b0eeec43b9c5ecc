"""Finding cases through Temporal visibility: a case list's filters as a visibility query over
the search attributes the workflows keep, one page at a time."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError, RPCStatusCode

from caseflow.api.errors import ServiceUnavailable
from caseflow.domain import search_attributes as search
from caseflow.domain.errors import InvalidPayload
from caseflow.domain.kinds import KINDS
from caseflow.domain.search import CaseFilter, CaseSort

ATTRIBUTES = {"kind": search.CASE_KIND, "status": search.CASE_STATUS,
              "severity": search.SEVERITY, "hospital_id": search.HOSPITAL_ID,
              "equipment_serial": search.EQUIPMENT_SERIAL, "assignee_id": search.ASSIGNEE_ID}


def visibility_query(found: CaseFilter, sort: CaseSort) -> str:
    """The filter in Temporal's list-filter language. The workflow's start time stands for the
    case's opening. Temporal lists in its own order (running workflows first, newest first,
    then closed ones by close time); due times and other orders live only in the database."""
    if found.due_before is not None:
        raise InvalidPayload("due times are kept in the database, not in Temporal: use "
                             "source=database", field="query.due_before")
    for name in ("q", "open"):
        if getattr(found, name) is not None:
            raise InvalidPayload("the text and closing of a case are kept in the database, not "
                                 "in Temporal: use source=database", field=f"query.{name}")
    if sort is not CaseSort.newest:
        raise InvalidPayload("Temporal lists in its own order (running cases first, newest "
                             f"first): use source=database to sort by {sort.value}",
                             field="query.sort")
    parts = [] if found.kind else [
        f"{search.CASE_KIND.name} IN ({', '.join(repr(k) for k in KINDS)})"]
    for name, key in ATTRIBUTES.items():
        value = getattr(found, name)
        if value is not None:
            parts.append(f"{key.name} = '{value}'")
    if found.breached is not None:
        parts.append(f"{search.SLA_BREACHED.name} = {'true' if found.breached else 'false'}")
    if found.opened_from is not None:
        parts.append(f"StartTime >= '{_utc(found.opened_from)}'")
    if found.opened_to is not None:
        parts.append(f"StartTime < '{_utc(found.opened_to)}'")
    return " AND ".join(parts)


def _utc(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def encode_cursor(query: str, token: bytes) -> str:
    """Temporal's page token wrapped with the query it pages (opaque base64 text)."""
    raw = json.dumps(["temporal", _digest(query), base64.b64encode(token).decode()],
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, query: str) -> bytes:
    """The page token in a cursor this list gave for this query; 422 naming `cursor` for
    anything else (checked before Temporal is asked, which would take a malformed token for a
    reason to retry)."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        source, digest, token = json.loads(raw)
        if source != "temporal" or not isinstance(digest, str) or not isinstance(token, str):
            raise ValueError("not a Temporal cursor")
        found = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidPayload("not a cursor this list gave (with source=temporal)",
                             field="query.cursor") from None
    if digest != _digest(query) or not found:
        raise InvalidPayload("this cursor belongs to other filters; pass the same filters with "
                             "it", field="query.cursor")
    return found


def _digest(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]


async def list_page(client: Client, query: str, limit: int, cursor: str | None,
                    timeout: timedelta) -> tuple[list[WorkflowExecution], str | None]:
    """One page of the workflows the query finds, and the next page's cursor."""
    token = decode_cursor(cursor, query) if cursor else None
    pages = client.list_workflows(query, page_size=limit, next_page_token=token,
                                  rpc_timeout=timeout)
    try:
        await pages.fetch_next_page()
    except RPCError as error:
        if error.status == RPCStatusCode.INVALID_ARGUMENT and token:
            raise InvalidPayload("not a cursor this list gave", field="query.cursor") from None
        raise ServiceUnavailable(f"Temporal visibility did not answer: {error.message}") from None
    following = pages.next_page_token
    return list(pages.current_page or []), encode_cursor(query, following) if following else None


def attributes(execution: WorkflowExecution) -> dict[str, Any]:
    """The case's search attributes as Temporal has them (name -> value)."""
    found = execution.typed_search_attributes
    return {name: found.get(key) for name, key in ATTRIBUTES.items()} | {
        "breached": found.get(search.SLA_BREACHED)}
