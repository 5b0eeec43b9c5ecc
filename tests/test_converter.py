"""The data converter of caseflow: the SDK's pydantic converter, whose type adapters are built
once per process however many converters the SDK makes (one per workflow it runs)."""

from __future__ import annotations

from caseflow.domain.enums import Role
from caseflow.domain.records import Actor
from caseflow.temporal import _ADAPTERS, DATA_CONVERTER, PayloadConverter


def test_converters_made_for_two_cases_share_one_type_adapter():
    first, second = PayloadConverter(), PayloadConverter()
    actor = Actor(id="EN-001", name="工程师 张伟", role=Role.engineer)
    payloads = first.to_payloads([actor])
    first.from_payloads(payloads, [Actor])
    before = _ADAPTERS.cache_info()
    again = second.from_payloads(payloads, [Actor])
    after = _ADAPTERS.cache_info()
    assert again == [actor], "the value and its Chinese name come back as they went"
    assert (after.hits - before.hits, after.misses - before.misses) == (1, 0), \
        "the second converter used the adapter the first one built"


def test_every_client_and_worker_of_caseflow_uses_it():
    """`connect` and the replayer pass DATA_CONVERTER; what it converts goes through the one
    cache."""
    assert DATA_CONVERTER.payload_converter_class is PayloadConverter
    actor = Actor(id="EN-002", name="工程师 李娜", role=Role.engineer)
    converter = DATA_CONVERTER.payload_converter
    payloads = converter.to_payloads([actor])
    converter.from_payloads(payloads, [Actor])
    before = _ADAPTERS.cache_info()
    assert converter.from_payloads(payloads, [Actor]) == [actor]
    assert _ADAPTERS.cache_info().hits == before.hits + 1
