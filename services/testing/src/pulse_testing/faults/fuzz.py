"""Inputs for property 13: every RPC of the three services, found from the protobuf
descriptors (a new RPC is fuzzed without a change here); hostile values for every field
of a request; Hypothesis strategies over any request message; and calls that report only
the status code.

A mapped code is any a caller can act on; UNKNOWN and INTERNAL (a handler that did not
expect its input) are the failures this property looks for."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st
from pulse.correlation.v1 import correlation_service_pb2
from pulse.response.v1 import response_service_pb2
from pulse.survey.v1 import survey_service_pb2
from pulse_cli.context import Stubs

UNMAPPED = ("UNKNOWN", "INTERNAL")
SERVICES = {
    "survey": survey_service_pb2.DESCRIPTOR.services_by_name["SurveyService"],
    "response": response_service_pb2.DESCRIPTOR.services_by_name["ResponseService"],
    "correlation": correlation_service_pb2.DESCRIPTOR.services_by_name["CorrelationService"],
}
# What a careless or hostile caller sends in a text field: NUL and other control
# characters, periods and dates out of every range, and far too much.
BAD_TEXT = (
    "a\x00b",
    "\x01\x7f",
    "0000-01",
    "2026-13",
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59:59Z",
    "2026-W99",
    "x" * 5000,
)
BAD_INT = (-1, -(2**31), 2**31 - 1)
BAD_INT64 = (-(2**63), 2**63 - 1)
BAD_FLOAT = (math.nan, math.inf, -1e308)
BAD_ENUM = (-1, 999)
INT32_TYPES = (
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SFIXED32,
)
INT64_TYPES = (
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_SFIXED64,
)


@dataclass(frozen=True)
class Rpc:
    service: str
    method: MethodDescriptor

    @property
    def name(self) -> str:
        return f"{self.service}.{self.method.name}"

    @property
    def request_type(self) -> type[Message]:
        return GetMessageClass(self.method.input_type)

    @property
    def streaming(self) -> bool:
        return bool(self.method.client_streaming)


def all_rpcs() -> list[Rpc]:
    return [Rpc(service, method) for service, found in SERVICES.items() for method in found.methods]


def _sub(field: FieldDescriptor) -> Descriptor:
    """The message type of a message field."""
    assert field.message_type is not None, field.full_name
    return field.message_type


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def hostile_values(field: FieldDescriptor) -> tuple[Any, ...]:
    if field.type == FieldDescriptor.TYPE_STRING:
        return BAD_TEXT
    if field.type in INT32_TYPES:
        return BAD_INT
    if field.type in INT64_TYPES:
        return BAD_INT64
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return BAD_FLOAT
    if field.type == FieldDescriptor.TYPE_ENUM:
        return BAD_ENUM
    return ()


def field_paths(
    descriptor: Descriptor, prefix: tuple[str, ...] = (), depth: int = 0
) -> Iterator[tuple[tuple[str, ...], FieldDescriptor]]:
    """Every scalar field of ``descriptor`` (and of its message fields, two levels deep);
    a repeated field's path addresses its first element."""
    for field in descriptor.fields:
        path = (*prefix, field.name)
        if _is_map(field):
            continue
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth < 2:
                yield from field_paths(_sub(field), path, depth + 1)
        elif hostile_values(field):
            yield path, field


def with_value(
    template: Message, path: tuple[str, ...], field: FieldDescriptor, value: Any
) -> Message:
    """A copy of ``template`` with ``path`` set to ``value`` (creating what is missing)."""
    message = type(template)()
    message.CopyFrom(template)
    target: Any = message
    descriptor: Any = message.DESCRIPTOR
    for name in path[:-1]:
        outer = descriptor.fields_by_name[name]
        if outer.is_repeated:
            container = getattr(target, name)
            target = container[0] if len(container) else container.add()
        else:
            target = getattr(target, name)
        descriptor = _sub(outer)
    last = path[-1]
    if field.is_repeated:
        container = getattr(target, last)
        if len(container):
            container[0] = value
        else:
            container.append(value)
    else:
        setattr(target, last, value)
    return message


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return st.one_of(st.sampled_from(BAD_TEXT), st.text(max_size=40))
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in INT32_TYPES:
        return st.integers(-(2**31), 2**31 - 1)
    if kind in INT64_TYPES:
        return st.integers(-(2**63), 2**63 - 1)
    if kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return st.integers(0, 2**32 - 1)
    if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return st.integers(0, 2**64 - 1)
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        if kind == FieldDescriptor.TYPE_FLOAT:
            return st.floats(allow_nan=True, allow_infinity=True, width=32)
        return st.floats(allow_nan=True, allow_infinity=True)
    if kind == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-5, 99))
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=40)
    raise ValueError(f"no strategy for field {field.full_name}")


@st.composite
def _message(draw: st.DrawFn, descriptor: Descriptor, depth: int) -> Message:
    message = GetMessageClass(descriptor)()
    for field in descriptor.fields:
        if not draw(st.booleans()):
            continue
        if _is_map(field):
            entry = _sub(field).fields_by_name
            key, value = entry["key"], entry["value"]
            if value.type == FieldDescriptor.TYPE_MESSAGE:
                continue
            for k, v in draw(st.dictionaries(_scalar(key), _scalar(value), max_size=3)).items():
                getattr(message, field.name)[k] = v
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth >= 2:
                continue
            count = draw(st.integers(0, 3)) if field.is_repeated else 1
            for _ in range(count):
                child = draw(_message(_sub(field), depth + 1))
                if field.is_repeated:
                    getattr(message, field.name).add().CopyFrom(child)
                else:
                    getattr(message, field.name).CopyFrom(child)
        elif field.is_repeated:
            getattr(message, field.name).extend(draw(st.lists(_scalar(field), max_size=3)))
        else:
            setattr(message, field.name, draw(_scalar(field)))
    return message


def messages(descriptor: Descriptor) -> st.SearchStrategy[Message]:
    """Any message of ``descriptor``: each field set or not, hostile or random values."""
    return _message(descriptor, 0)


async def _stream(requests: list[Message]) -> AsyncIterator[Message]:
    for request in requests:
        yield request


async def call_code(
    stubs: Stubs, rpc: Rpc, requests: list[Message], timeout_s: float = 10.0
) -> str:
    """Send ``requests`` (one for a unary RPC, any number for a client stream); the status
    code name ("OK" on success)."""
    stub = getattr(stubs, rpc.service)
    method = getattr(stub, rpc.method.name)
    try:
        if rpc.streaming:
            await method(_stream(requests), timeout=timeout_s)
        else:
            await method(requests[0], timeout=timeout_s)
    except grpc.aio.AioRpcError as error:
        return str(error.code().name)
    return "OK"


async def raw_code(
    channel: grpc.aio.Channel, rpc: Rpc, payload: bytes, timeout_s: float = 10.0
) -> str:
    """Send bytes that are no request message at all (a unary call of the RPC's path)."""
    path = f"/{rpc.method.containing_service.full_name}/{rpc.method.name}"
    if rpc.streaming:
        call: Any = channel.stream_unary(path)
        request: Any = _raw_stream(payload)
    else:
        call = channel.unary_unary(path)
        request = payload
    try:
        await call(request, timeout=timeout_s)
    except grpc.aio.AioRpcError as error:
        return str(error.code().name)
    return "OK"


async def _raw_stream(payload: bytes) -> AsyncIterator[bytes]:
    yield payload
