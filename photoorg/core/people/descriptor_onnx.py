"""dlib's face recognition ResNet in onnxruntime, built from dlib's own weights.

The graph is written directly (photoorg.core.people.onnx_proto: the ``onnx`` package is a
development tool the packaged app leaves out) from the numpy weights that
``descriptor.load_dlib_network`` reads (the affine layers folded into the convolutions, as
the torch port does), and kept in memory: no torch, no export step, nothing cached on disk.
The descriptors equal the torch port's (and so dlib's) within 1e-4 per component
(tests/unit/test_face_descriptor.py, benchmarks/face_descriptor.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from photoorg.core.people import onnx_proto
from photoorg.core.people.descriptor import (
    CHIP_SIZE,
    DlibNetwork,
    Layer,
    TorchFaceDescriptor,
    _check,
    load_dlib_network,
    load_once,
    load_torch_descriptor,
)

log = logging.getLogger(__name__)


def _out(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


class _Graph:
    """Collects nodes and initializers while tracking each tensor's static (c, h, w)."""

    def __init__(self) -> None:
        self.nodes: list[bytes] = []
        self.inits: list[bytes] = []
        self._n = 0

    def name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def const(self, array: np.ndarray, prefix: str) -> str:
        name = self.name(prefix)
        self.inits.append(onnx_proto.tensor(name, array))
        return name

    def node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        out = self.name(op.lower())
        self.nodes.append(onnx_proto.node(op, inputs, [out], out, **attrs))
        return out

    def conv(self, x: str, shape: tuple[int, int, int], conv: Layer, affine: Layer,
             ) -> tuple[str, tuple[int, int, int]]:
        assert conv.weight is not None and conv.bias is not None
        assert affine.weight is not None and affine.bias is not None
        gamma, beta = affine.weight.astype(np.float64), affine.bias.astype(np.float64)
        weight = (conv.weight.astype(np.float64) * gamma[:, None, None, None]).astype(np.float32)
        bias = (conv.bias.astype(np.float64) * gamma + beta).astype(np.float32)
        (kh, kw), (sh, sw), (ph, pw) = conv.size, conv.stride, conv.padding
        y = self.node("Conv", [x, self.const(weight, "w"), self.const(bias, "b")],
                      kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw])
        return y, (weight.shape[0], _out(shape[1], kh, sh, ph), _out(shape[2], kw, sw, pw))

    def pool(self, op: str, x: str, shape: tuple[int, int, int], layer: Layer,
             ) -> tuple[str, tuple[int, int, int]]:
        (kh, kw), (sh, sw), (ph, pw) = layer.size, layer.stride, layer.padding
        extra = {"count_include_pad": 1} if op == "AveragePool" else {}
        y = self.node(op, [x], kernel_shape=[kh, kw], strides=[sh, sw],
                      pads=[ph, pw, ph, pw], **extra)
        return y, (shape[0], _out(shape[1], kh, sh, ph), _out(shape[2], kw, sw, pw))

    def add_padded(self, a: str, sa: tuple[int, int, int], b: str, sb: tuple[int, int, int],
                   ) -> tuple[str, tuple[int, int, int]]:
        """dlib's add of differently shaped tensors: the larger shape, missing parts zero."""
        full = tuple(max(x, y) for x, y in zip(sa, sb, strict=True))

        def pad(t: str, s: tuple[int, int, int]) -> str:
            if s == full:
                return t
            pads = np.array([0, 0, 0, 0, 0, full[0] - s[0], full[1] - s[1], full[2] - s[2]],
                            dtype=np.int64)
            return self.node("Pad", [t, self.const(pads, "pads")])  # zeros by default

        return self.node("Add", [pad(a, sa), pad(b, sb)]), full  # type: ignore[return-value]


def build_model_bytes(net: DlibNetwork) -> bytes:
    """The network as a serialized ONNX model: input ``chips`` (n, 3, 150, 150) float32,
    already centred and scaled as dlib does; output ``descriptors`` (n, 128)."""
    _check(net)
    g = _Graph()
    layers = net.layers
    x, shape = g.conv("chips", (3, CHIP_SIZE, CHIP_SIZE), layers[0], layers[1])
    x = g.node("Relu", [x])
    x, shape = g.pool("MaxPool", x, shape, layers[3])
    i = 4
    while layers[i].kind == "con":
        down = layers[i + 5].kind == "avg_pool"
        y, ys = g.conv(x, shape, layers[i], layers[i + 1])
        y = g.node("Relu", [y])
        y, ys = g.conv(y, ys, layers[i + 3], layers[i + 4])
        if down:
            x, shape = g.pool("AveragePool", x, shape, layers[i + 5])
        x, shape = g.add_padded(x, shape, y, ys)
        x = g.node("Relu", [x])
        i += 8 if down else 7
    x = g.node("GlobalAveragePool", [x])
    x = g.node("Flatten", [x], axis=1)
    fc = layers[-1].weight
    assert fc is not None
    out = g.node("MatMul", [x, g.const(np.ascontiguousarray(fc, dtype=np.float32), "fc")])
    g.nodes.append(onnx_proto.node("Identity", [out], ["descriptors"], "descriptors"))
    return onnx_proto.model(
        g.nodes, g.inits,
        [onnx_proto.value_info("chips", onnx_proto.FLOAT, ["n", 3, CHIP_SIZE, CHIP_SIZE])],
        [onnx_proto.value_info("descriptors", onnx_proto.FLOAT, ["n", 128])],
        "dlib_face_resnet")


class OnnxFaceDescriptor:
    """128-d face descriptors from onnxruntime, equal to the torch port's within 1e-4.
    One intra-op thread per call (the face pass already runs one photo per core);
    onnxruntime's ``run`` is safe from several threads at once."""

    def __init__(self, path: str | Path) -> None:
        import onnxruntime as ort

        net = load_dlib_network(path)
        model = build_model_bytes(net)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        self._mean = np.asarray(net.avg_rgb, dtype=np.float32).reshape(1, 3, 1, 1)

    def __call__(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """Descriptors (n, 128) float32 for n uint8 RGB chips of 150x150x3."""
        if len(chips) == 0:
            return np.zeros((0, 128), dtype=np.float32)
        batch = np.stack([np.asarray(c, dtype=np.uint8) for c in chips])
        if batch.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"face chips must be {CHIP_SIZE}x{CHIP_SIZE} RGB, got {batch.shape}")
        x = batch.transpose(0, 3, 1, 2).astype(np.float32)
        x = np.ascontiguousarray((x - self._mean) / np.float32(256.0))
        (out,) = self._session.run(["descriptors"], {"chips": x})
        return np.asarray(out, dtype=np.float32)


_unusable: set[str] = set()  # files that failed once: warned about, not read again
_loading = threading.Lock()


def load_onnx_descriptor(path: str | Path) -> OnnxFaceDescriptor | None:
    """The onnxruntime network for ``path``, or None with a warning saying why (once per
    file): callers then try the torch port, then dlib."""
    return load_once(OnnxFaceDescriptor, path, _unusable, _loading,
                     "faces: descriptors not by onnxruntime")


def load_fast_descriptor(path: str | Path) -> OnnxFaceDescriptor | TorchFaceDescriptor | None:
    """onnxruntime's network when it builds; else the torch port (the reference), with
    the reason logged; None when neither loads (callers then use dlib's own)."""
    found = load_onnx_descriptor(path)
    if found is not None:
        return found
    log.warning("faces: descriptors by the torch port instead (onnxruntime could not load it)")
    return load_torch_descriptor(path)
