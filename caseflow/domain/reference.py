"""A site's reference data as an operator loads it (`caseflow import FILE`): hospitals,
contracts, the installed fleet and people. Passwords and tokens never come from a file."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from caseflow.domain.cases import Name, Payload
from caseflow.domain.enums import Modality
from caseflow.domain.people import PersonCreate

Key = Annotated[str, StringConstraints(strip_whitespace=True,
                                       pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


def _zone(name: str) -> str:
    if name not in available_timezones():
        raise ValueError(f"{name!r} is not a time zone name (e.g. Asia/Shanghai)")
    return name


class HospitalIn(Payload):
    id: Key
    name: Name  # its own name, as written (Chinese)
    name_en: Label = ""  # an English name, if it has one
    region: Label = ""
    timezone: Annotated[str, AfterValidator(_zone)] = "Asia/Shanghai"


class ContractIn(Payload):
    code: Key
    hospital_id: Key
    starts_on: date
    ends_on: date
    warranty_months: int = Field(default=12, ge=0, le=240)
    maintenance_interval_days: int = Field(default=90, ge=7, le=3650)

    @model_validator(mode="after")
    def _order(self) -> ContractIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class EquipmentIn(Payload):
    serial: Key
    hospital_id: Key
    contract_code: Key | None = None
    modality: Modality
    brand: Name
    model: Name
    department: Label = ""
    install_date: date | None = None
    warranty_start: date | None = None
    warranty_end: date | None = None

    @model_validator(mode="after")
    def _warranty(self) -> EquipmentIn:
        if (self.warranty_start is None) != (self.warranty_end is None):
            raise ValueError("give both warranty_start and warranty_end, or neither")
        if self.warranty_start and self.warranty_end and self.warranty_end < self.warranty_start:
            raise ValueError("warranty_end must not be before warranty_start")
        return self


class PersonIn(PersonCreate):
    """A person of the directory; a console password is set by an admin, never from a file."""

    @model_validator(mode="after")
    def _no_password(self) -> PersonIn:
        if self.password is not None:
            raise ValueError("passwords are not imported: set them with `caseflow person "
                             "password` or the admin API")
        return self


class ReferenceFile(Payload):
    hospitals: list[HospitalIn] = Field(default=[], max_length=10_000)
    contracts: list[ContractIn] = Field(default=[], max_length=10_000)
    equipment: list[EquipmentIn] = Field(default=[], max_length=100_000)
    people: list[PersonIn] = Field(default=[], max_length=100_000)


class ImportCount(BaseModel):
    added: int = 0
    changed: int = 0
    unchanged: int = 0
