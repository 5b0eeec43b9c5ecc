"""People and sign-in: who am I, console sign-in and sign-out; admins keep the directory of
people, their log-ins and their API tokens (shown once, hashed at rest, expiring, revocable)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from sqlalchemy import select

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionDep, SettingsDep, in_thread
from caseflow.domain.access import MATRIX, Capability
from caseflow.domain.enums import Role
from caseflow.domain.errors import InvalidPayload, InvalidTransition, UnknownRecord
from caseflow.domain.people import (
    Me,
    PersonCreate,
    PersonPublic,
    PersonUpdate,
    SignIn,
    TokenCreate,
    TokenIssued,
    TokenPublic,
)
from caseflow.store import people
from caseflow.store.models import Person

router = APIRouter(tags=["people"])
Admin = Annotated[Principal, allowed(Capability.manage_people)]
Self = Annotated[Principal, allowed(Capability.read_self)]
PersonPath = Annotated[str, Path(max_length=64)]
MAX_ID = 2**31 - 1


@router.get("/v1/me", response_model=Me)
async def me(principal: Self) -> Me:
    """Who the token belongs to and what they may do (the console shows only that)."""
    return Me(id=principal.id, name=principal.name, role=principal.role,
              hospital_id=principal.hospital_id,
              capabilities=[c for c, roles in MATRIX.items() if principal.role in roles])


@router.post("/v1/auth/sign-in", response_model=TokenIssued,
             responses={401: {"description": "wrong user name or password"}})
async def sign_in(body: SignIn, request: Request, session: SessionDep,
                  settings: SettingsDep) -> TokenIssued:
    """Sign in with a user name and password: a token for `login_token_hours`, to send as
    `Authorization: Bearer` like any other. Attempts are limited per client address, and
    failures slow further attempts for that user name (429 saying which, and Retry-After);
    nobody can lock a person out (docs/security.md)."""
    guard = request.app.state.sign_in_guard
    address = request.client.host if request.client else "unknown"
    guard.check(address, body.username, settings.rate_logins_per_minute)
    issued = await in_thread(session, people.sign_in, body.username,
                             body.password.get_secret_value(),
                             timedelta(hours=settings.login_token_hours))
    if issued is None:
        guard.failed(address, body.username)
        raise HTTPException(401, "wrong user name or password")
    guard.succeeded(address, body.username)
    return issued


@router.post("/v1/auth/sign-out", status_code=204)
def sign_out(principal: Self, session: SessionDep) -> None:
    """Revoke the token this request was made with."""
    with session.begin():
        people.revoke_token(session, principal.token_id or 0, datetime.now(timezone.utc))


@router.get("/v1/people", response_model=list[PersonPublic])
def list_people(
    principal: Admin, session: SessionDep,
    role: Role | None = None, active: bool | None = None,
    hospital_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[PersonPublic]:
    """The directory, by id."""
    query = select(Person)
    if role is not None:
        query = query.where(Person.role == role.value)
    if active is not None:
        query = query.where(Person.active.is_(active))
    if hospital_id is not None:
        query = query.where(Person.hospital_id == hospital_id)
    return [people.public(p) for p in session.scalars(query.order_by(Person.id))]


@router.post("/v1/people", response_model=PersonPublic, status_code=201)
def add_person(body: PersonCreate, principal: Admin, session: SessionDep) -> PersonPublic:
    """Add a person (409 if the id is taken); with `username` and `password` they can sign in
    to the console."""
    with session.begin():
        if session.get(Person, body.id) is not None:
            raise InvalidTransition(f"a person with id {body.id!r} exists; change them "
                                    "with PATCH")
        return people.public(people.add_person(session, body))


@router.patch("/v1/people/{person_id}", response_model=PersonPublic)
def change_person(person_id: PersonPath, body: PersonUpdate, principal: Admin,
                  session: SessionDep) -> PersonPublic:
    """Change the fields given (role, hospital, channels, log-in, password, active)."""
    with session.begin():
        person = session.get(Person, person_id)
        if person is None:
            raise UnknownRecord(f"no person {person_id!r}")
        if person.id == principal.id and (body.active is False or (
                body.role is not None and body.role is not Role.admin)):
            raise InvalidPayload("an admin cannot deactivate or demote themselves",
                                 field="active" if body.active is False else "role")
        people.write_person(session, person, body)
        return people.public(person)


@router.post("/v1/people/{person_id}/tokens", response_model=TokenIssued, status_code=201)
def issue_token(person_id: PersonPath, body: TokenCreate, principal: Admin,
                session: SessionDep) -> TokenIssued:
    """A new API token for the person (a tool, a script), shown once in the answer."""
    with session.begin():
        person = session.get(Person, person_id)
        if person is None or not person.active:
            raise UnknownRecord(f"no active person {person_id!r}")
        expires = (datetime.now(timezone.utc) + timedelta(days=body.expires_in_days)
                   if body.expires_in_days else None)
        token, row = people.issue_token(session, person.id, body.label, expires_at=expires,
                                        created_by=principal.id)
        return TokenIssued(token=token, **people.token_public(row, person).model_dump())


@router.get("/v1/tokens", response_model=list[TokenPublic])
def list_tokens(
    principal: Admin, session: SessionDep,
    person_id: Annotated[str | None, Query(max_length=64)] = None,
    include_revoked: bool = False,
) -> list[TokenPublic]:
    """Tokens (never their secrets), oldest first."""
    return [people.token_public(t, p) for t, p in people.tokens(
        session, person_id, include_revoked=include_revoked)]


@router.delete("/v1/tokens/{token_id}", response_model=TokenPublic)
def revoke_token(token_id: Annotated[int, Path(ge=1, le=MAX_ID)], principal: Admin,
                 session: SessionDep) -> TokenPublic:
    """Revoke a token at once (every API process refuses it from the next request)."""
    with session.begin():
        row = people.revoke_token(session, token_id, datetime.now(timezone.utc))
        if row is None:
            raise UnknownRecord(f"no token {token_id}")
        person = session.get(Person, row.person_id)
        assert person is not None
        return people.token_public(row, person)
