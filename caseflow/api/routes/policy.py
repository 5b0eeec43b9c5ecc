"""The SLA policy: the one in force for new cases, and checking a candidate before it is put in
force (the file, docs/sla-policy.md)."""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep
from caseflow.domain.access import Capability
from caseflow.domain.cases import Payload
from caseflow.domain.errors import InvalidPayload
from caseflow.domain.policy_loader import PolicyError, parse_policy

router = APIRouter(prefix="/v1/policy", tags=["policy"])


class PolicyPublic(BaseModel):
    version: str = Field(description="the version named in the file and a digest of it")
    source: str
    timezone: str
    contracts: list[str] = Field(description="contracts with overrides of their own")
    defaults: dict[str, Any]


class PolicyCandidate(Payload):
    policy_yaml: Annotated[str, StringConstraints(min_length=1, max_length=200_000),
                           Field(description="a whole policy file, as YAML")]


class PolicyChecked(BaseModel):
    version: str
    contracts: list[str]


@router.get("", response_model=PolicyPublic)
async def policy_in_force(principal: Annotated[Principal, allowed(Capability.read_policy)],
                          policy: PolicyDep) -> PolicyPublic:
    """The policy new cases are pinned to (each case keeps the one it opened with)."""
    return PolicyPublic(version=policy.version, source=policy.source,
                        timezone=policy.defaults.timezone, contracts=sorted(policy.contracts),
                        defaults=policy.defaults.model_dump(mode="json"))


@router.post("/check", response_model=PolicyChecked)
async def check_policy(body: PolicyCandidate,
                       principal: Annotated[Principal, allowed(Capability.check_policy)],
                       ) -> PolicyChecked:
    """Validate a candidate policy file: its version, or 422 naming the first field that is
    wrong and why. Nothing is changed; see `caseflow report what-if` for its effect."""
    try:
        book = parse_policy(yaml.safe_load(body.policy_yaml), "candidate")
    except yaml.YAMLError as error:
        raise InvalidPayload(f"not valid YAML: {error}", field="policy_yaml") from None
    except PolicyError as error:
        first = str(error).splitlines()[0].removeprefix("candidate: ")
        raise InvalidPayload(first, field="policy_yaml") from None
    return PolicyChecked(version=book.version, contracts=sorted(book.contracts))
