"""dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) in torch.

The dlib-bin wheel is built without BLAS, so dlib spends ~120 ms of CPU per face on the
descriptor; the same network in torch takes a fraction of that. The weights are read
from dlib's own file (no converted copy to ship or keep in sync) by a small reader of
dlib's serialization format, and the descriptors match dlib's within 1e-3 per component
(benchmarks/face_descriptor.py, tests/unit/test_face_descriptor.py), so descriptors
already stored in a library stay comparable.

The network (dlib's ``dnn_face_recognition_ex.cpp``)::

    block<N,stride>  = affine<con<N,3x3,1>(relu<affine<con<N,3x3,stride>>>)>
    ares<N>          = relu(x + block<N,1>(x))
    ares_down<N>     = relu(avg_pool<2x2,2>(x) + block<N,2>(x))
    net = fc_no_bias<128>(avg_pool_everything(
            ares_down<256>  ares<256>x2 ares_down<256>  ares<128>x2 ares_down<128>
            ares<64>x3 ares_down<64>  ares<32>x3
            max_pool<3x3,2>(relu(affine(con<32,7x7,2>(input_rgb_image_sized<150>))))))

dlib pads a layer with stride 1 by size/2 and one with a larger stride not at all, and
adds two tensors of different shapes by treating what one lacks as zeros (the skip path
of ``ares_down`` has half the channels and, on even sizes, one more row and column).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

log = logging.getLogger(__name__)

CHIP_SIZE = 150


class DlibFormatError(ValueError):
    """The file is not (or no longer) the dlib network this module knows."""


# -- dlib's serialization format (dlib/serialize.h, float_details.h, dnn/tensor.h) ---------

_INF, _NINF, _NAN = 32000, 32001, 32002  # float_details' special exponents


class DlibReader:
    """Reads dlib's ``serialize()`` encoding from bytes."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def _take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise DlibFormatError(f"truncated at byte {self.pos} (wanted {n} more)")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def peek_byte(self) -> int | None:
        return None if self.at_end() else self.data[self.pos]

    def int(self) -> int:
        """A variable-length int: a control byte (low nibble: number of little-endian
        bytes that follow, high bit: negative), then the magnitude."""
        control = self._take(1)[0]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise DlibFormatError(f"bad int control byte {control:#x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if control & 0x80 else value

    def float(self) -> float:
        """A float as (mantissa, exponent) ints: mantissa * 2**exponent."""
        mantissa, exponent = self.int(), self.int()
        if exponent == _INF:
            return math.inf
        if exponent == _NINF:
            return -math.inf
        if exponent == _NAN:
            return math.nan
        return math.ldexp(mantissa, exponent)

    def string(self) -> str:
        size = self.int()
        return self._take(size).decode("latin-1")

    def bool(self) -> bool:
        char = self._take(1)
        if char not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool {char!r} at byte {self.pos - 1}")
        return char == b"1"

    def tensor(self) -> np.ndarray:
        """A tensor: version, (num_samples, k, nr, nc), then its floats: raw little-endian
        float32 since version 2, dlib-encoded floats in version 1."""
        version = self.int()
        if version not in (1, 2):
            raise DlibFormatError(f"unknown tensor version {version} at byte {self.pos}")
        shape = tuple(self.int() for _ in range(4))
        if min(shape) < 0:
            raise DlibFormatError(f"bad tensor shape {shape}")
        count = math.prod(shape)
        if version == 2:
            raw = self._take(4 * count)
            values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        else:
            values = np.array([self.float() for _ in range(count)], dtype=np.float32)
        return values.reshape(shape)

    def alias_tensor(self) -> tuple[int, int, int, int]:
        version = self.int()
        if version != 1:
            raise DlibFormatError(f"unknown alias_tensor version {version}")
        return tuple(self.int() for _ in range(4))  # type: ignore[return-value]


# -- the layers in the file ----------------------------------------------------------------


@dataclass
class Layer:
    """One layer's details as serialized (bottom-up order in the file)."""

    kind: str  # con, affine, relu, max_pool, avg_pool, add_prev, fc
    weight: np.ndarray | None = None  # con: (out, in, kh, kw); affine: gamma; fc: (in, out)
    bias: np.ndarray | None = None  # con: bias; affine: beta
    size: tuple[int, int] = (0, 0)  # con / pooling window (nr, nc)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)


@dataclass
class DlibNetwork:
    avg_rgb: tuple[float, float, float]
    layers: list[Layer]


def _read_layer(r: DlibReader, name: str) -> Layer:
    if name == "con_4":
        params = r.tensor().reshape(-1)
        num_filters, nr, nc = r.int(), r.int(), r.int()
        stride = (r.int(), r.int())
        padding = (r.int(), r.int())
        filters, biases = r.alias_tensor(), r.alias_tensor()
        for _ in range(4):  # learning rate and weight decay multipliers
            r.float()
        n_filters = math.prod(filters)
        if filters[0] != num_filters or filters[2:] != (nr, nc) or math.prod(biases) != num_filters:
            raise DlibFormatError("con_4: filter shapes disagree")
        if params.size != n_filters + num_filters:
            raise DlibFormatError("con_4: parameter count disagrees with the filter shape")
        return Layer("con", params[:n_filters].reshape(filters), params[n_filters:].copy(),
                     (nr, nc), stride, padding)
    if name == "affine_":
        params = r.tensor().reshape(-1)
        gamma, beta = r.alias_tensor(), r.alias_tensor()
        mode = r.int()
        if mode != 0 or math.prod(gamma) != math.prod(beta) or params.size != 2 * math.prod(gamma):
            raise DlibFormatError(f"affine_: unexpected mode {mode} or shapes")
        n = math.prod(gamma)
        return Layer("affine", params[:n].copy(), params[n:].copy())
    if name in ("relu_", "add_prev_"):
        return Layer(name.rstrip("_"))
    if name in ("max_pool_2", "avg_pool_2"):
        size = (r.int(), r.int())
        stride = (r.int(), r.int())
        padding = (r.int(), r.int())
        return Layer(name[:-2], size=size, stride=stride, padding=padding)
    if name == "fc_2":
        num_outputs, num_inputs = r.int(), r.int()
        params = r.tensor().reshape(-1)
        weights, _biases = r.alias_tensor(), r.alias_tensor()
        bias_mode = r.int()
        for _ in range(4):
            r.float()
        if bias_mode != 1 or weights[:2] != (num_inputs, num_outputs):
            raise DlibFormatError("fc_2: expected fc_no_bias weights")
        n = num_inputs * num_outputs
        if params.size != n:
            raise DlibFormatError("fc_2: parameter count disagrees")
        return Layer("fc", params.reshape(num_inputs, num_outputs).copy())
    raise DlibFormatError(f"unknown layer {name!r}")


def _skip_layer_state(r: DlibReader, bottom: bool) -> None:
    """What dlib's add_layer keeps after a layer's details: flags ('0'/'1' bytes), then
    tensors (gradients, cached outputs; empty in a saved network); the bottom layer
    (the one on the input layer) then writes its sample expansion factor."""
    while r.peek_byte() in (0x30, 0x31):
        r.bool()
    while not r.at_end():
        mark = r.pos
        if r.int() != 2:  # not a tensor version: the next layer's name
            r.pos = mark
            break
        r.pos = mark
        r.tensor()
    if bottom and r.int() != 1:
        raise DlibFormatError("unexpected sample expansion factor")


def parse_dlib_network(data: bytes) -> DlibNetwork:
    """The layers of a dlib ``loss_metric`` network file, bottom-up."""
    r = DlibReader(data)
    if r.int() != 1 or r.string() != "loss_metric_2":
        raise DlibFormatError("not a dlib loss_metric network")
    r.float(), r.float()  # margin, distance threshold: training only
    # The nested layers' versions come first (each wrapper writes its version, then its
    # subnetwork, then its details), then the input layer and the details bottom-up.
    while True:
        mark = r.pos
        if r.int() not in (1, 2, 3):
            r.pos = mark
            break
    if r.string() != "input_rgb_image_sized":
        raise DlibFormatError("expected input_rgb_image_sized")
    avg = (r.float(), r.float(), r.float())
    if (r.int(), r.int()) != (CHIP_SIZE, CHIP_SIZE):
        raise DlibFormatError("expected a 150x150 input")
    layers: list[Layer] = []
    while not r.at_end():
        layers.append(_read_layer(r, r.string()))
        _skip_layer_state(r, bottom=len(layers) == 1)
    return DlibNetwork(avg, layers)


def load_dlib_network(path: str | Path) -> DlibNetwork:
    return parse_dlib_network(Path(path).read_bytes())


# -- the network in torch ------------------------------------------------------------------

# (filters, residual units, the first one downsamples) from the bottom up
_LEVELS = ((32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True), (256, 1, True))
_EXPECTED = (
    ["con", "affine", "relu", "max_pool"]
    + [
        kind
        for _filters, units, down in _LEVELS
        for unit in range(units)
        for kind in ["con", "affine", "relu", "con", "affine"]
        + (["avg_pool"] if down and unit == 0 else [])
        + ["add_prev", "relu"]
    ]
    + ["avg_pool", "fc"]
)


def _check(net: DlibNetwork) -> None:
    kinds = [layer.kind for layer in net.layers]
    if kinds != _EXPECTED:
        raise DlibFormatError("the layers are not dlib's face recognition ResNet")
    cons = [layer for layer in net.layers if layer.kind == "con"]
    first = cons[0]
    if first.weight is None or first.weight.shape != (32, 3, 7, 7) or first.stride != (2, 2):
        raise DlibFormatError("unexpected first convolution")
    i = 1
    in_ch = 32
    for n_filters, units, down in _LEVELS:
        for unit in range(units):
            stride = 2 if down and unit == 0 else 1
            for conv_in in (in_ch, n_filters):
                conv = cons[i]
                i += 1
                assert conv.weight is not None
                if conv.weight.shape != (n_filters, conv_in, 3, 3):
                    raise DlibFormatError(f"unexpected convolution shape {conv.weight.shape}")
                in_ch = n_filters
            if cons[i - 2].stride != (stride, stride) or cons[i - 1].stride != (1, 1):
                raise DlibFormatError("unexpected convolution strides")
    fc = net.layers[-1]
    assert fc.weight is not None
    if fc.weight.shape != (256, 128) or net.layers[-2].size != (0, 0):
        raise DlibFormatError("unexpected descriptor layer")


@dataclass
class _Conv:
    """A convolution with the affine layer after it folded in (gamma * (w x + b) + beta)."""

    weight: object  # torch tensors
    bias: object
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass
class _Unit:
    first: _Conv
    second: _Conv
    pool: Layer | None  # ares_down: the skip path's avg_pool


def _fold(conv: Layer, affine: Layer) -> _Conv:
    import torch

    assert conv.weight is not None and conv.bias is not None
    assert affine.weight is not None and affine.bias is not None
    gamma, beta = affine.weight.astype(np.float64), affine.bias.astype(np.float64)
    weight = conv.weight.astype(np.float64) * gamma[:, None, None, None]
    bias = conv.bias.astype(np.float64) * gamma + beta
    return _Conv(torch.from_numpy(weight.astype(np.float32)),
                 torch.from_numpy(bias.astype(np.float32)), conv.stride, conv.padding)


def _add_padded(a, b):  # type: ignore[no-untyped-def]
    """dlib's tt::add of differently shaped tensors: the larger shape, missing parts zero."""
    import torch.nn.functional as F

    if a.shape == b.shape:
        return a + b
    c, h, w = (max(x, y) for x, y in zip(a.shape[1:], b.shape[1:], strict=True))

    def pad(t):  # type: ignore[no-untyped-def]
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return pad(a) + pad(b)


def _openmp_controller():  # type: ignore[no-untyped-def]
    """threadpoolctl's controller of the OpenMP runtime torch uses, or None."""
    try:
        from threadpoolctl import ThreadpoolController

        libs = ThreadpoolController().select(user_api="openmp").lib_controllers
    except Exception:  # no threadpoolctl or no OpenMP found: torch's own setting
        return None
    return libs[0] if len(libs) == 1 else None


@contextlib.contextmanager
def _one_thread(openmp) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Runs the calling thread's OpenMP work on one thread; other threads keep torch's
    setting (OpenMP's thread count is per thread). Callers (the face pass) already run one
    photo per core, and more threads per call only contend: on a loaded 2-core machine a
    2-thread forward of one chip took ~800 ms instead of ~10."""
    if openmp is None:
        yield
        return
    before = openmp.get_num_threads()
    openmp.set_num_threads(1)
    try:
        yield
    finally:
        openmp.set_num_threads(before)


class TorchFaceDescriptor:
    """128-d face descriptors equal (within 1e-3) to dlib's ``compute_face_descriptor``
    for the same 150x150 RGB chips. Holds only read-only tensors, and each call limits
    only its own thread: safe to call from several threads at once."""

    def __init__(self, path: str | Path) -> None:
        import torch

        net = load_dlib_network(path)
        _check(net)
        self._torch = torch
        self._mean = torch.tensor(net.avg_rgb, dtype=torch.float32).view(1, 3, 1, 1)
        layers = net.layers
        self._stem = _fold(layers[0], layers[1])
        self._stem_pool = layers[3]
        self._units: list[_Unit] = []
        i = 4
        while layers[i].kind == "con":
            down = layers[i + 5].kind == "avg_pool"
            self._units.append(_Unit(_fold(layers[i], layers[i + 1]),
                                     _fold(layers[i + 3], layers[i + 4]),
                                     layers[i + 5] if down else None))
            i += 8 if down else 7
        assert layers[-1].weight is not None
        self._fc = torch.from_numpy(layers[-1].weight)
        # dlib's own padding and strides, on oneDNN directly: for one chip torch would
        # pick its generic path for the small layers, several times slower
        self._mkldnn = bool(torch.backends.mkldnn.is_available())
        self._openmp = _openmp_controller()

    def __call__(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """Descriptors (n, 128) float32 for n uint8 RGB chips of 150x150x3."""
        torch = self._torch
        if len(chips) == 0:
            return np.zeros((0, 128), dtype=np.float32)
        batch = np.stack([np.asarray(c, dtype=np.uint8) for c in chips])
        if batch.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"face chips must be {CHIP_SIZE}x{CHIP_SIZE} RGB, got {batch.shape}")
        torch.get_num_threads()  # torch sets up this thread's OpenMP before we limit it
        with _one_thread(self._openmp), torch.inference_mode():
            x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().contiguous()
            x = (x - self._mean) / 256.0
            return self._forward(x).numpy().astype(np.float32, copy=True)

    def _conv(self, x, c: _Conv):  # type: ignore[no-untyped-def]
        if self._mkldnn:
            return self._torch.ops.aten.mkldnn_convolution.default(
                x, c.weight, c.bias, list(c.padding), list(c.stride), [1, 1], 1)
        import torch.nn.functional as F

        return F.conv2d(x, c.weight, c.bias, stride=c.stride, padding=c.padding)

    def _forward(self, x):  # type: ignore[no-untyped-def]
        import torch.nn.functional as F

        pool = self._stem_pool
        x = F.relu(self._conv(x, self._stem))
        x = F.max_pool2d(x, pool.size, pool.stride, pool.padding)
        for unit in self._units:
            y = F.relu_(self._conv(x, unit.first))
            y = self._conv(y, unit.second)
            if unit.pool is not None:
                x = F.avg_pool2d(x, unit.pool.size, unit.pool.stride, unit.pool.padding)
            x = F.relu_(_add_padded(x, y))
        return x.mean(dim=(2, 3)) @ self._fc


_unusable: set[str] = set()  # files that failed once: warned about, not read again
_loading = threading.Lock()

_Built = TypeVar("_Built")


def load_once(build: Callable[[str | Path], _Built], path: str | Path, unusable: set[str],
              lock: threading.Lock, warning: str) -> _Built | None:
    """``build(path)``, or None with ``warning`` logged (once per file: a file that failed
    is in ``unusable`` and not read again)."""
    key = str(path)
    with lock:
        if key in unusable:
            return None
        try:
            return build(path)
        except Exception as exc:  # a broken install must cost speed, never faces
            log.warning("%s (%s: %s)", warning, type(exc).__name__, exc)
            unusable.add(key)
            return None


def load_torch_descriptor(path: str | Path) -> TorchFaceDescriptor | None:
    """The torch port of the network in ``path``, or None with a warning (once per file)
    when torch or the file is not what it expects: callers then use dlib. Not kept here:
    the caller's analyzer holds it, so letting the analyzer go frees its weights (reading
    the file again takes ~40 ms)."""
    return load_once(TorchFaceDescriptor, path, _unusable, _loading,
                     "faces: descriptors by dlib, not torch")
