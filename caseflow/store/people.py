"""People and how they sign in: the directory an admin keeps, API tokens (SHA-256 at rest,
shown once, with expiry and revocation) and console log-ins (argon2 password hashes)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseflow.domain.enums import Role
from caseflow.domain.errors import InvalidPayload, UnknownReference
from caseflow.domain.people import (
    PersonCreate,
    PersonFields,
    PersonPublic,
    TokenIssued,
    TokenPublic,
)
from caseflow.store.directory import hash_token
from caseflow.store.models import ApiToken, Hospital, Person

_hasher = PasswordHasher()
# A hash to verify against when the user name is unknown, so both answers take as long.
_UNKNOWN = _hasher.hash(secrets.token_urlsafe(16))


def issue_token(session: Session, person_id: str, label: str, *,
                expires_at: datetime | None = None, created_by: str = "") -> tuple[str, ApiToken]:
    """A new token for a person: the clear text (returned once, never stored) and its row."""
    token = "cf_" + secrets.token_urlsafe(32)
    row = ApiToken(person_id=person_id, token_hash=hash_token(token), label=label[:200],
                   created_at=datetime.now().astimezone(), expires_at=expires_at,
                   created_by=created_by)
    session.add(row)
    session.flush()
    return token, row


def tokens(session: Session, person_id: str | None = None,
           include_revoked: bool = False) -> list[tuple[ApiToken, Person]]:
    query = select(ApiToken, Person).join(Person, Person.id == ApiToken.person_id)
    if person_id is not None:
        query = query.where(ApiToken.person_id == person_id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return [(t, p) for t, p in session.execute(query.order_by(ApiToken.id))]


def revoke_token(session: Session, token_id: int, now: datetime) -> ApiToken | None:
    """Revoke a token (once; a revoked token stays revoked at its first time)."""
    row = session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
    return row


def set_password(person: Person, password: str) -> None:
    person.password_hash = _hasher.hash(password)


def check_password(session: Session, username: str, password: str) -> Person | None:
    """The active person with this user name and password, else None (in the same time)."""
    person = session.scalar(select(Person).where(Person.username == username))
    stored = person.password_hash if person is not None and person.password_hash else _UNKNOWN
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if person is None or not person.active or stored is _UNKNOWN:
        return None
    if _hasher.check_needs_rehash(stored):
        set_password(person, password)
    return person


def sign_in(session: Session, username: str, password: str,
            lasting: timedelta) -> TokenIssued | None:
    """A console sign-in: a token lasting that long for the active person with this user
    name and password, else None."""
    person = check_password(session, username, password)
    if person is None:
        return None
    token, row = issue_token(session, person.id, "console sign-in",
                             expires_at=datetime.now(timezone.utc) + lasting,
                             created_by=person.id)
    return TokenIssued(token=token, **token_public(row, person).model_dump())


def public(person: Person) -> PersonPublic:
    return PersonPublic(id=person.id, name=person.name, role=Role(person.role),
                        hospital_id=person.hospital_id, phone=person.phone or "",
                        email=person.email or "", channels=list(person.channels or []),
                        webhook_url=person.webhook_url or "",
                        work_calendar=person.work_calendar or "business",
                        language=person.language or "zh-CN",
                        time_zone=person.time_zone or "Asia/Shanghai",
                        active=person.active is not False, username=person.username,
                        can_sign_in=bool(person.username and person.password_hash))


def token_public(token: ApiToken, person: Person) -> TokenPublic:
    return TokenPublic(id=token.id, person_id=person.id, person_name=person.name,
                       label=token.label, created_at=token.created_at,
                       created_by=token.created_by or "", expires_at=token.expires_at,
                       revoked_at=token.revoked_at)


def add_person(session: Session, fields: PersonCreate) -> Person:
    """A new person from what an admin sent (the directory's defaults for what they did not:
    reached through the log, working hours of the business calendar)."""
    person = Person(id=fields.id, name=fields.name, role=fields.role.value, phone="", email="",
                    channels=["log"], webhook_url="", work_calendar="business", active=True)
    write_person(session, person, fields)
    session.add(person)
    session.flush()
    return person


def write_person(session: Session, person: Person, fields: PersonFields) -> Person:
    """Apply what an admin sent (only the fields given) to `person`; refuses a hospital that
    does not exist and a user name someone else has (UnknownReference / InvalidPayload)."""
    given = fields.model_dump(exclude_unset=True, exclude={"password", "webhook_url"})
    if given.get("hospital_id") and session.get(Hospital, given["hospital_id"]) is None:
        raise UnknownReference(f"no hospital {given['hospital_id']!r}", field="hospital_id")
    username = given.get("username")
    if username and session.scalar(select(Person.id).where(
            Person.username == username, Person.id != person.id)) is not None:
        raise InvalidPayload("this user name is taken", field="username")
    for name, value in given.items():
        setattr(person, name, value.value if isinstance(value, Role) else value)
    if "webhook_url" in fields.model_fields_set:
        person.webhook_url = str(fields.webhook_url) if fields.webhook_url else ""
    if fields.password is not None:
        set_password(person, fields.password.get_secret_value())
    return person
