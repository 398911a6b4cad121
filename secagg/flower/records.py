"""How protocol messages travel inside Flower ``train`` messages.

Every stage is a plain ``train`` message whose content holds a ConfigRecord
under :data:`CONFIG_KEY` with the stage marker (``"R0"`` .. ``"R4"``) and the
protocol messages of that stage. A protocol message of fewer than
:data:`INLINE_LIMIT` bytes is a ``bytes`` value of that ConfigRecord; a
larger one (the masked input of R2) is a one-dimensional ``uint8`` Array in
the ArrayRecord under :data:`ARRAYS_KEY`, which Flower serialises without
copying it through protobuf's bytes fields. Either way it is entry ``msg.<i>``,
``i`` counting from 0 in the order the state machine produced them, and the
bytes are exactly the wire bytes of docs/wire-format.md.

:func:`read_payload` accepts nothing else: a missing or mistyped field, a gap
in the numbering, a foreign key or a stage it was not asked for raises
:class:`~secagg.exceptions.MalformedMessageError`, which the server turns into
that node's dropout and a node into a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, RecordDict

from ..exceptions import MalformedMessageError

_R = TypeVar("_R", ConfigRecord, ArrayRecord)

__all__ = [
    "ARRAYS_KEY",
    "CONFIG_KEY",
    "INLINE_LIMIT",
    "STAGES",
    "Payload",
    "put_payload",
    "read_payload",
    "strip_payload",
    "has_payload",
    "record_of",
]

#: Content key of the ConfigRecord carrying the stage and small messages.
CONFIG_KEY = "secagg"
#: Content key of the ArrayRecord carrying large messages.
ARRAYS_KEY = "secagg.arrays"
#: Messages of at least this many bytes travel as Arrays.
INLINE_LIMIT = 1024
#: The stage markers, in protocol order (R3 exists in active mode only).
STAGES = ("R0", "R1", "R2", "R3", "R4")
#: Most protocol messages one stage's payload may hold.
MAX_MESSAGES = 4

_STAGE = "stage"
_PREFIX = "msg."


@dataclass(frozen=True)
class Payload:
    """The protocol part of one Flower message.

    Attributes:
        stage: The stage marker, one of :data:`STAGES`.
        messages: The protocol messages, in order.
        fields: The other entries of the ConfigRecord (parameters of R0).
    """

    stage: str
    messages: tuple[bytes | memoryview, ...]
    fields: Mapping[str, object] = field(default_factory=dict)


def put_payload(
    content: RecordDict,
    stage: str,
    messages: Iterable[bytes],
    fields: Mapping[str, object] | None = None,
) -> RecordDict:
    """Write a stage's protocol messages (and extra fields) into ``content``.

    Args:
        content: The message content to add the records to.
        stage: The stage marker.
        messages: The protocol messages, in order.
        fields: Extra ConfigRecord entries (the R0 parameters).

    Returns:
        ``content``, for chaining.
    """
    record = ConfigRecord({_STAGE: stage})
    for name, value in (fields or {}).items():
        record[name] = cast(Any, value)  # the values ConfigRecord accepts
    arrays = ArrayRecord()
    for i, data in enumerate(messages):
        if len(data) >= INLINE_LIMIT:
            arrays[f"{_PREFIX}{i}"] = _uint8_array(data)
        else:
            record[f"{_PREFIX}{i}"] = bytes(data)
    content[CONFIG_KEY] = record
    if len(arrays):
        content[ARRAYS_KEY] = arrays
    return content


def record_of(content: RecordDict, key: str, kind: type[_R]) -> _R | None:
    """The record under ``key`` if it is a ``kind``, else None.

    Flower's ``content.config_records`` (and its kin) copies every record of
    that type into a new mapping on each access; this looks up one.
    """
    record = content.get(key)
    return record if isinstance(record, kind) else None


def has_payload(content: RecordDict) -> bool:
    """True when ``content`` carries a secure-aggregation stage."""
    return record_of(content, CONFIG_KEY, ConfigRecord) is not None


def strip_payload(content: RecordDict) -> None:
    """Remove the protocol records from ``content`` (in place)."""
    for key in (CONFIG_KEY, ARRAYS_KEY):
        if key in content:
            del content[key]


def _npy_header(length: int) -> bytes:
    """The .npy (format 1.0) header numpy writes for a 1-D uint8 array of this length."""
    text = f"{{'descr': '|u1', 'fortran_order': False, 'shape': ({length},), }}"
    pad = 64 - (10 + len(text) + 1) % 64
    text += " " * (pad % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode()


def _uint8_array(data: bytes) -> Array:
    """A 1-D uint8 Array of ``data``, as ``np.save`` would store it, without numpy's parser."""
    return Array(
        dtype="uint8",
        shape=(len(data),),
        stype="numpy.ndarray",
        data=_npy_header(len(data)) + bytes(data),
    )


def _array_bytes(name: str, value: object) -> bytes | memoryview:
    if not isinstance(value, Array):
        raise MalformedMessageError(f"entry {name} of {ARRAYS_KEY} is not an Array.")
    if value.stype != "numpy.ndarray" or value.dtype != "uint8" or len(value.shape) != 1:
        raise MalformedMessageError(
            f"entry {name} of {ARRAYS_KEY} must be a 1-D uint8 numpy array, got dtype "
            f"{value.dtype!r}, shape {tuple(value.shape)} and stype {value.stype!r}."
        )
    length = int(value.shape[0])
    header = _npy_header(length)
    raw = value.data
    if len(raw) == len(header) + length and raw.startswith(header):
        # The layout our writer (and np.save) produces: a view, not a copy of a masked vector.
        return memoryview(raw)[len(header) :]
    try:
        data = value.numpy()
    except Exception as exc:  # numpy's own parse errors: any of them means malformed
        raise MalformedMessageError(f"entry {name} of {ARRAYS_KEY} does not decode.") from exc
    if data.dtype != np.uint8 or data.ndim != 1:
        raise MalformedMessageError(f"entry {name} of {ARRAYS_KEY} is not a 1-D uint8 array.")
    return data.tobytes()


def read_payload(
    content: RecordDict,
    stages: Iterable[str] = STAGES,
    *,
    allowed_fields: Iterable[str] = (),
) -> Payload:
    """Read and check the protocol part of a message's content.

    Args:
        content: The message content.
        stages: The stage markers acceptable here.
        allowed_fields: Names of extra ConfigRecord entries accepted besides
            the stage and the messages.

    Returns:
        The stage, the messages in order and the extra fields.

    Raises:
        MalformedMessageError: Any deviation from the layout above, named.
    """
    record = record_of(content, CONFIG_KEY, ConfigRecord)
    if record is None:
        raise MalformedMessageError(f"the message has no {CONFIG_KEY!r} ConfigRecord.")
    stage = record.get(_STAGE)
    wanted = tuple(stages)
    if not isinstance(stage, str) or stage not in wanted:
        raise MalformedMessageError(
            f"the stage marker must be one of {', '.join(wanted)}, got {stage!r}."
        )
    allowed = set(allowed_fields)
    found: dict[int, bytes | memoryview] = {}
    fields: dict[str, object] = {}
    for name, value in record.items():
        if name == _STAGE:
            continue
        if name.startswith(_PREFIX):
            if not isinstance(value, bytes):
                raise MalformedMessageError(f"entry {name} must be bytes.")
            found[_index(name)] = value
        elif name in allowed:
            fields[name] = value
        else:
            raise MalformedMessageError(f"unexpected entry {name!r} in the {CONFIG_KEY} record.")
    arrays = record_of(content, ARRAYS_KEY, ArrayRecord)
    if arrays is not None:
        for name, array in arrays.items():
            if not name.startswith(_PREFIX):
                raise MalformedMessageError(f"unexpected entry {name!r} in {ARRAYS_KEY}.")
            index = _index(name)
            if index in found:
                raise MalformedMessageError(f"message {index} is given twice.")
            found[index] = _array_bytes(name, array)
    if len(found) > MAX_MESSAGES or sorted(found) != list(range(len(found))):
        raise MalformedMessageError(
            f"the messages must be numbered 0..{len(found) - 1} (at most {MAX_MESSAGES}), "
            f"got {sorted(found)}."
        )
    return Payload(stage, tuple(found[i] for i in range(len(found))), fields)


def _index(name: str) -> int:
    digits = name[len(_PREFIX) :]
    if (
        not (digits.isascii() and digits.isdigit())
        or (len(digits) > 1 and digits[0] == "0")
        or len(digits) > 2
    ):
        raise MalformedMessageError(f"entry name {name!r} does not end in a message number.")
    return int(digits)
