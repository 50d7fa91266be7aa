"""Names of the proto enums the CLI shows and accepts, read from their descriptors (no
hand-made copies): ``UNIT_TYPE_FRONT_LINE`` is ``front_line``, ``WAVE_STATUS_OPEN`` is
``open``. Survey kinds and scales come from ``pulse_common.measures``."""

from __future__ import annotations

from google.protobuf.descriptor import EnumDescriptor
from pulse.survey.v1 import survey_service_pb2 as survey_pb


def enum_names(descriptor: EnumDescriptor) -> dict[str, int]:
    """Lower-case names without the enum's prefix; the zero value (UNSPECIFIED) left out."""
    prefix = descriptor.values_by_number[0].name.removesuffix("UNSPECIFIED")
    return {
        value.name.removeprefix(prefix).lower(): value.number
        for value in descriptor.values
        if value.number != 0
    }


def enum_label(descriptor: EnumDescriptor, number: int) -> str:
    """The name of ``number`` as ``enum_names`` spells it ("" for UNSPECIFIED or unknown)."""
    for name, value in enum_names(descriptor).items():
        if value == number:
            return name
    return ""


UNIT_TYPES = enum_names(survey_pb.UnitType.DESCRIPTOR)
CADENCES = enum_names(survey_pb.Cadence.DESCRIPTOR)


def unit_type(name: str) -> survey_pb.UnitType.ValueType:
    return survey_pb.UnitType.ValueType(UNIT_TYPES[name])


def cadence(name: str) -> survey_pb.Cadence.ValueType:
    return survey_pb.Cadence.ValueType(CADENCES[name])
