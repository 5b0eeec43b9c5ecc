"""The SLA policy: the one in force for new cases, its history, checking a candidate and
putting one in force (managers; each case keeps the policy it opened with)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, StringConstraints, model_validator

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep, SessionDep
from caseflow.domain.access import Capability
from caseflow.domain.cases import Note, Payload
from caseflow.domain.errors import InvalidPayload, InvalidTransition
from caseflow.domain.policy_loader import PolicyBook, PolicyError, parse_policy, read_yaml
from caseflow.store import policies

router = APIRouter(prefix="/v1/policy", tags=["policy"])


class PolicyPublic(BaseModel):
    version: str = Field(description="the version named in the policy and a digest of it")
    source: str = Field(description="the file, or which stored policy and who put it in force")
    timezone: str
    contracts: list[str] = Field(description="contracts with overrides of their own")
    defaults: dict[str, Any]
    document: dict[str, Any] = Field(
        description="the whole policy as written (defaults and every contract's overrides), "
                    "as PUT takes it in `policy`: change a figure and put it back")


class PolicyCandidate(Payload):
    policy_yaml: Annotated[str, StringConstraints(min_length=1, max_length=200_000)] | None = \
        Field(default=None, description="a whole policy file, as YAML")
    policy: dict[str, Any] | None = Field(
        default=None, description="or the same document as JSON (what GET /v1/policy gives "
                                  "as `document`)")

    @model_validator(mode="after")
    def _one(self) -> PolicyCandidate:
        if (self.policy_yaml is None) == (self.policy is None):
            raise ValueError("give the policy once: `policy_yaml` (YAML text) or `policy` "
                             "(JSON)")
        return self


class PolicyChoice(Payload):
    """A candidate policy, or none (then the policy in force)."""

    policy_yaml: Annotated[str, StringConstraints(min_length=1, max_length=200_000)] | None = \
        Field(default=None, description="a whole policy file, as YAML (none: the policy in "
                                        "force)")
    policy: dict[str, Any] | None = Field(
        default=None, description="or the same document as JSON (what GET /v1/policy gives "
                                  "as `document`)")

    @model_validator(mode="after")
    def _at_most_one(self) -> PolicyChoice:
        if self.policy_yaml is not None and self.policy is not None:
            raise ValueError("give the policy once: `policy_yaml` (YAML text) or `policy` "
                             "(JSON)")
        return self


class PolicyChange(PolicyCandidate):
    note: Note = Field(default="", description="why: the contract, the renegotiation...")


class PolicyChecked(BaseModel):
    version: str
    contracts: list[str]


class PolicyRecord(BaseModel):
    id: int
    version: str
    note: str
    put_by: str
    put_at: datetime


def _public(book: PolicyBook) -> PolicyPublic:
    return PolicyPublic(version=book.version, source=book.source,
                        timezone=book.defaults.timezone, contracts=sorted(book.contracts),
                        defaults=book.defaults.model_dump(mode="json"), document=book.document)


def parse_candidate(body: PolicyCandidate | PolicyChoice) -> PolicyBook:
    """The candidate as a policy, or 422 naming its first wrong field and why."""
    try:
        if body.policy is not None:
            return parse_policy(body.policy, "candidate")
        text = body.policy_yaml or ""
        return parse_policy(read_yaml(text, "candidate"), "candidate", text)
    except PolicyError as error:
        first = str(error).splitlines()[0].removeprefix("candidate: ")
        raise InvalidPayload(first, field="policy" if body.policy is not None
                             else "policy_yaml") from None


YAML = "application/yaml"


@router.get("", response_model=PolicyPublic, responses={200: {"content": {
    YAML: {"schema": {"type": "string", "description": "the policy file in force, as PUT "
                                                     "takes it in `policy_yaml`"}}}}})
async def policy_in_force(principal: Annotated[Principal, allowed(Capability.read_policy)],
                          policy: PolicyDep, request: Request) -> Any:
    """The policy new cases are pinned to (each case keeps the one it opened with). With
    `Accept: application/yaml`, the policy file itself, exactly as put in force."""
    accepted = request.headers.get("accept", "")
    if any(kind in accepted for kind in (YAML, "text/yaml", "application/x-yaml")):
        return Response(policy.text, media_type=f"{YAML}; charset=utf-8")
    return _public(policy)


@router.get("/history", response_model=list[PolicyRecord])
def policy_history(
    principal: Annotated[Principal, allowed(Capability.read_policy)], session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PolicyRecord]:
    """The policies put in force, newest first (before the first: the policy file)."""
    return [PolicyRecord.model_validate(row, from_attributes=True)
            for row in policies.history(session, limit)]


@router.post("/check", response_model=PolicyChecked)
async def check_policy(body: PolicyCandidate,
                       principal: Annotated[Principal, allowed(Capability.check_policy)],
                       ) -> PolicyChecked:
    """Validate a candidate policy file: its version, or 422 naming the first field that is
    wrong and why. Nothing is changed; `caseflow report what-if` shows its effect."""
    book = parse_candidate(body)
    return PolicyChecked(version=book.version, contracts=sorted(book.contracts))


@router.put("", response_model=PolicyPublic)
def put_policy(body: PolicyChange, request: Request,
               principal: Annotated[Principal, allowed(Capability.maintain_policy)],
               session: SessionDep, policy: PolicyDep) -> PolicyPublic:
    """Put a policy in force for the cases opened from now on (every API process and worker
    within seconds); open cases keep theirs. 409 if it is the one in force already."""
    book = parse_candidate(body)
    if book.version == policy.version:
        raise InvalidTransition(f"policy {book.version} is in force already")
    with session.begin():
        policies.put_in_force(session, book, book.text, by=principal.id, note=body.note,
                              now=datetime.now(timezone.utc))
    source = request.app.state.policies
    source.forget()
    return _public(source.current())
