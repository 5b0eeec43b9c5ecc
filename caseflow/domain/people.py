"""People as an admin keeps them, their API tokens and console sign-in: what clients send
(`...Create`, `...Update`: never server-owned fields) and what they are shown (`...Public`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    HttpUrl,
    SecretStr,
    StringConstraints,
    field_validator,
)

from caseflow.domain.access import Capability
from caseflow.domain.cases import Name, Payload
from caseflow.domain.enums import Role
from caseflow.domain.policy import known_zone

PersonId = Annotated[str, StringConstraints(strip_whitespace=True,
                                            pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
Username = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                            pattern=r"^[a-z0-9][a-z0-9_.\-@]{2,63}$")]
# Empty clears the field.
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200,
                                         pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]
PhoneOrEmpty = Annotated[str, StringConstraints(strip_whitespace=True,
                                                pattern=r"^$|^[0-9+\-() ]{5,32}$")]
Channel = Literal["email", "webhook", "log"]


def _strong_enough(secret: SecretStr) -> SecretStr:
    value = secret.get_secret_value()
    if not 10 <= len(value) <= 200:
        raise ValueError("must be 10 to 200 characters")
    if value.isdigit() or value.isalpha():
        raise ValueError("must mix letters with digits or signs")
    return secret


Password = Annotated[SecretStr, AfterValidator(_strong_enough)]


def _plain_url(url: HttpUrl | None) -> HttpUrl | None:
    if url is not None and (len(str(url)) > 500 or url.username or url.password):
        raise ValueError("must be at most 500 characters, without a user name or password")
    return url


class PersonFields(Payload):
    """What an admin may set on a person (never their tokens' hashes or password hash)."""

    name: Name | None = None
    role: Role | None = None
    hospital_id: Annotated[str | None, StringConstraints(max_length=64)] = Field(
        default=None, description="the hospital they serve; none: every hospital")
    phone: PhoneOrEmpty | None = None
    email: Email | None = None
    channels: Annotated[list[Channel] | None, Field(min_length=1, max_length=3)] = None
    webhook_url: Annotated[HttpUrl | None, AfterValidator(_plain_url)] = None
    work_calendar: Annotated[str | None, StringConstraints(max_length=64)] = None
    language: Literal["zh-CN", "en"] | None = Field(
        default=None, description="the language their notifications are written in")
    time_zone: Annotated[str | None, AfterValidator(known_zone)] = Field(
        default=None, description="IANA time zone their notifications show times in, "
        "e.g. Asia/Shanghai")
    username: Username | None = Field(default=None, description="to sign in to the console")
    password: Password | None = Field(default=None, description="10+ characters; kept only "
                                      "as an argon2 hash")

    @field_validator("hospital_id", mode="before")
    @classmethod
    def _every_hospital(cls, value: object) -> object:
        return None if value == "" else value  # "" and null both mean: serves every hospital

    @field_validator("name", "role", "phone", "email", "channels", "work_calendar", "username",
                     "password", "language", "time_zone")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null: leave the field out to keep it, or send \"\" to "
                             "clear a phone or e-mail")
        return value


class PersonCreate(PersonFields):
    id: PersonId
    name: Name
    role: Role


class PersonUpdate(PersonFields):
    active: bool | None = Field(default=None, description="false: every token and sign-in "
                                "of theirs stops working")

    @field_validator("active")
    @classmethod
    def _active_not_null(cls, value: bool | None) -> bool:
        if value is None:
            raise ValueError("may not be null: true or false")
        return value


class PersonPublic(BaseModel):
    id: str
    name: str
    role: Role
    hospital_id: str | None
    phone: str
    email: str
    channels: list[str]
    webhook_url: str
    work_calendar: str
    language: str
    time_zone: str
    active: bool
    username: str | None
    can_sign_in: bool = Field(description="has a user name and a password")


class TokenCreate(Payload):
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=200)]
    expires_in_days: int | None = Field(default=90, ge=1, le=3650,
                                        description="none: never expires (tools only)")


class TokenPublic(BaseModel):
    """A token as listed: never its secret."""

    id: int
    person_id: str
    person_name: str
    label: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenPublic):
    token: str = Field(description="shown this once; only its SHA-256 is kept")


class SignIn(Payload):
    username: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                               min_length=1, max_length=64)]
    password: Annotated[SecretStr, Field(max_length=200)]


class Me(BaseModel):
    id: str
    name: str
    role: Role
    hospital_id: str | None
    capabilities: list[Capability]
