"""The registry of case kinds: each kind is declared once, by its domain module, and listed here.

The API (its open, view and action routes), the store (case numbers), search (kinds and their
statuses), the worker (the kinds' workflows), reports and the console (`GET /v1/kinds`) iterate
this registry; none of them names a kind. docs/architecture.md "Adding a kind" lists the files a
new kind needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from caseflow.domain.cases import CaseKind


class Registry(Mapping[str, CaseKind]):
    """The kinds by name, in the order they were registered."""

    def __init__(self) -> None:
        self._kinds: dict[str, CaseKind] = {}

    def register(self, kind: CaseKind) -> CaseKind:
        for other in self._kinds.values():
            if other.name != kind.name and (other.prefix == kind.prefix
                                            or other.collection == kind.collection):
                raise ValueError(f"kind {kind.name} shares its prefix or collection with "
                                 f"{other.name}")
        self._kinds[kind.name] = kind
        return kind

    def unregister(self, name: str) -> None:
        """Forget a kind (tests that declare a toy kind put the registry back)."""
        self._kinds.pop(name, None)

    def __getitem__(self, name: str) -> CaseKind:
        return self._kinds[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def names(self) -> tuple[str, ...]:
        return tuple(self._kinds)

    def known(self, name: str) -> str:
        """`name` if it is a kind (a validator: the error lists the kinds)."""
        if name not in self._kinds:
            raise ValueError(f"unknown kind {name!r}; one of: {', '.join(self._kinds)}")
        return name

    def statuses(self) -> dict[str, tuple[str, ...]]:
        return {kind.name: kind.status_names() for kind in self._kinds.values()}

    def down_kinds(self) -> tuple[str, ...]:
        return tuple(k.name for k in self._kinds.values() if k.takes_units_down)


KINDS = Registry()


def _register_built_in() -> None:
    # Each kind's domain module declares it; a new kind adds one line here.
    from caseflow.domain import (
        adverse_event,
        complaint,
        emergency,
        installation,
        maintenance,
        repair,
        review,
    )

    for module in (repair, complaint, emergency, installation, maintenance, adverse_event,
                   review):
        KINDS.register(module.KIND)


_register_built_in()
