"""Photos and signed forms of a case: POST /v1/cases/{case_id}/attachments (the file's bytes as
the body), GET the list, GET one file. Kept in the database with the case, so its backup keeps
them; each file's SHA-256 is on the timeline and in the export. Who may read the case may
read its files; who may report its steps may add one."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionDep, in_thread
from caseflow.api.routes.cases import CaseId, known_case
from caseflow.domain.access import Capability
from caseflow.domain.errors import InvalidPayload, InvalidTransition, UnknownRecord
from caseflow.store import attachments as store
from caseflow.store import seals, search
from caseflow.store.models import Attachment

router = APIRouter(prefix="/v1/cases", tags=["cases"])

MAX_BYTES = 10 * 1024 * 1024
# The kinds of file a case takes, each known by its first bytes too (a renamed file is refused).
TYPES = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",),
         "application/pdf": (b"%PDF-",)}


class AttachmentInfo(BaseModel):
    id: int
    case_id: str
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: dict[str, str | None]
    uploaded_at: datetime


def _info(row: Attachment) -> AttachmentInfo:
    return AttachmentInfo(id=row.id, case_id=row.case_id, name=row.name,
                          content_type=row.content_type, size=row.size, sha256=row.sha256,
                          uploaded_by={"id": row.uploaded_by_id, "name": row.uploaded_by_name,
                                       "role": row.uploaded_by_role},
                          uploaded_at=row.uploaded_at)


@router.post("/{case_id}/attachments", status_code=201, response_model=AttachmentInfo,
             max_body_size=MAX_BYTES, responses={
                 415: {"description": "not a JPEG, PNG or PDF file (by its type and its bytes)"}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 t: {"schema": {"type": "string", "format": "binary"}} for t in TYPES}}})
async def attach(
    case_id: CaseId, request: Request,
    principal: Annotated[Principal, allowed(Capability.report_steps)], session: SessionDep,
    name: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f]+$",
                               description="the file's name, e.g. 现场照片.jpg")],
    content_type: Annotated[str, Header(alias="Content-Type")],
) -> AttachmentInfo:
    """Add a photo (JPEG, PNG) or a signed form (PDF) of up to 10 MiB to the case: 413 when
    larger, 415 for another kind of file, 422 when empty."""
    await known_case(session, case_id, principal)
    if await in_thread(session, seals.seal_of, case_id) is not None:  # its files are sealed
        raise InvalidTransition(f"case {case_id} is sealed: its record, files included, is final")
    kind = content_type.split(";")[0].strip().lower()
    if kind not in TYPES:
        raise HTTPException(415, f"{kind or 'no type'} is not taken; send "
                                 f"{', '.join(TYPES)}")
    body = await request.body()
    if not body:
        raise InvalidPayload("the file is empty", field=None)
    if not body.startswith(TYPES[kind]):
        raise HTTPException(415, f"the bytes are not those of a {kind} file")
    return _info(await in_thread(session, store.add, Attachment(
        case_id=case_id, name=name, content_type=kind, size=len(body),
        sha256=hashlib.sha256(body).hexdigest(), data=body, uploaded_by_id=principal.id,
        uploaded_by_name=principal.name, uploaded_by_role=principal.role.value,
        uploaded_at=datetime.now(timezone.utc))))


@router.get("/{case_id}/attachments", response_model=list[AttachmentInfo])
def attachments(case_id: CaseId, principal: Annotated[Principal, allowed(
        Capability.read_cases)], session: SessionDep) -> list[AttachmentInfo]:
    """The case's files (without their bytes), oldest first."""
    search.known_case(session, case_id, principal.scope)
    return [_info(r) for r in store.of_case(session, case_id)]


@router.get("/{case_id}/attachments/{attachment_id}", response_class=Response, responses={
    200: {"description": "the file's bytes", "content": {
        t: {"schema": {"type": "string", "format": "binary"}} for t in TYPES}}})
def attachment(case_id: CaseId,
               attachment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
               principal: Annotated[Principal, allowed(Capability.read_cases)],
               session: SessionDep) -> Response:
    """One file, as uploaded (its SHA-256 in the `Digest`-like header `X-Content-SHA256`)."""
    search.known_case(session, case_id, principal.scope)
    row = store.one(session, case_id, attachment_id)
    if row is None:
        raise UnknownRecord(f"no attachment {attachment_id} on case {case_id}")
    safe = "".join(c if c.isascii() and c.isalnum() or c in "._-" else "_" for c in row.name)
    return Response(row.data, media_type=row.content_type, headers={
        "Content-Disposition": f"attachment; filename=\"{safe}\"; "
                               f"filename*=UTF-8''{quote(row.name)}",
        "X-Content-SHA256": row.sha256, "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'"})
