"""The few ONNX protobuf messages a plain convolutional graph needs, encoded by hand.

The ``onnx`` package is a development tool the packaged app leaves out (packaging/
spec_helpers.py EXCLUDES), yet onnxruntime only needs the serialized ``ModelProto``: these
helpers write it with the field numbers of onnx/onnx.proto (checked against ``onnx`` itself
in tests/unit/test_face_descriptor.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FLOAT, INT64 = 1, 7  # TensorProto.DataType
_ATTR_INT, _ATTR_INTS = 2, 7  # AttributeProto.AttributeType


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, value: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(value)) + value


def _str(field: int, value: str) -> bytes:
    return _bytes(field, value.encode())


def attribute(name: str, value: int | Sequence[int]) -> bytes:
    if isinstance(value, int):
        return _str(1, name) + _int(3, value) + _int(20, _ATTR_INT)
    return _str(1, name) + b"".join(_int(8, v) for v in value) + _int(20, _ATTR_INTS)


def node(op: str, inputs: Sequence[str], outputs: Sequence[str], name: str,
         **attrs: int | Sequence[int]) -> bytes:
    return (b"".join(_str(1, i) for i in inputs) + b"".join(_str(2, o) for o in outputs)
            + _str(3, name) + _str(4, op)
            + b"".join(_bytes(5, attribute(k, v)) for k, v in attrs.items()))


def tensor(name: str, array: np.ndarray) -> bytes:
    kinds = {np.dtype(np.float32): FLOAT, np.dtype(np.int64): INT64}
    data_type = kinds[array.dtype]
    raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False)
    return (b"".join(_int(1, d) for d in array.shape) + _int(2, data_type)
            + _str(8, name) + _bytes(9, raw.tobytes()))


def value_info(name: str, elem_type: int, shape: Sequence[int | str]) -> bytes:
    dims = b"".join(_bytes(1, _str(2, d) if isinstance(d, str) else _int(1, d)) for d in shape)
    tensor_type = _int(1, elem_type) + _bytes(2, dims)
    return _str(1, name) + _bytes(2, _bytes(1, tensor_type))


def model(nodes: Sequence[bytes], initializers: Sequence[bytes], inputs: Sequence[bytes],
          outputs: Sequence[bytes], name: str, opset: int = 17, ir_version: int = 8) -> bytes:
    graph = (b"".join(_bytes(1, n) for n in nodes) + _str(2, name)
             + b"".join(_bytes(5, t) for t in initializers)
             + b"".join(_bytes(11, v) for v in inputs)
             + b"".join(_bytes(12, v) for v in outputs))
    opset_id = _str(1, "") + _int(2, opset)
    return (_int(1, ir_version) + _str(2, "photoorg") + _bytes(7, graph)
            + _bytes(8, opset_id))
