"""The two halves of a CLIP model, loaded and let go one at a time (memory, not speed).

A CLIP model is an image tower (``visual.*``, 88M parameters for ViT-B-32) and a text tower
(everything else: token embedding, transformer, projection, 63M). Indexing needs only the
image tower; search, pets and suggested names only the text tower. Loading a model here
builds its *skeleton* (parameters on the meta device: no memory, no initialisation) and
fills in a tower when it is first used, straight from the weights file, with no second copy
of the model in memory (open_clip's own loader holds a randomly initialised model and the
whole checkpoint at once: twice the model). A tower let go returns to the meta device.

A tower is rebuilt exactly as open_clip builds the whole model: random weights follow the
same random stream (the text tower starts from the generator state the image tower left),
and a weights file gives the same tensors, converted to the skeleton's dtype. Checkpoints
open_clip would have to convert (other key names or shapes) load the whole model through
open_clip and keep the tower asked for.

torch and open_clip are imported lazily.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

VISUAL, TEXT = "visual", "text"
TOWERS = (VISUAL, TEXT)

_build_lock = threading.RLock()  # the patches below are process-wide: one build at a time
_POSITION_IDS = "text.transformer.embeddings.position_ids"  # dropped by open_clip too
_ST_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
    "BOOL": "bool",
}


def tower_of(key: str) -> str:
    """The tower a state-dict key belongs to."""
    return VISUAL if key.startswith("visual.") else TEXT


class WeightsError(ValueError):
    """A weights file that cannot be read as the model's weights."""


class OtherLayoutError(WeightsError):
    """A checkpoint whose keys or shapes are not the model's (open_clip may convert it)."""


# -- skeletons ---------------------------------------------------------------------------


@contextlib.contextmanager
def _parameters_on_meta(active: Callable[[], bool] = lambda: True) -> Iterator[None]:
    """Parameters registered while ``active()`` go to the meta device as they are created,
    so their (large) initialisation costs nothing; buffers stay real (the text tower's
    causal mask is in no checkpoint)."""
    from torch import nn

    original = nn.Module.register_parameter

    def register(module: nn.Module, name: str, param: Any) -> None:
        if param is not None and active() and param.device.type != "meta":
            param = nn.Parameter(param.detach().to("meta"), requires_grad=param.requires_grad)
        original(module, name, param)

    nn.Module.register_parameter = register  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = original  # type: ignore[method-assign]


def skeleton(create: Callable[[], tuple[Any, Any]]) -> tuple[Any, Any]:
    """``create()`` (open_clip's model and transforms, on no device) with every parameter on
    the meta device."""
    with _build_lock, _parameters_on_meta():
        return create()


def expected_shapes(model: Any) -> dict[str, tuple[tuple[int, ...], Any]]:
    """The model's state-dict keys with their shapes and dtypes."""
    return {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}


def loaded_towers(model: Any) -> set[str]:
    """Towers whose parameters are all real."""
    state: dict[str, bool] = {}
    for key, value in model.state_dict().items():
        tower = tower_of(key)
        state[tower] = state.get(tower, True) and value.device.type != "meta"
    return {t for t, real in state.items() if real}


def assign(model: Any, tensors: dict[str, torch.Tensor]) -> None:
    """Put ``tensors`` into the model in place of its parameters and buffers (no copy)."""
    model.load_state_dict(tensors, strict=False, assign=True)
    trim_heap()  # what building them left (a whole random model, a converted checkpoint)


def release(model: Any, tower: str) -> None:
    """Let a tower's weights go (back to the meta device) and give the memory back."""
    import torch

    empty = {k: torch.empty_like(v, device="meta") for k, v in model.state_dict().items()
             if tower_of(k) == tower and v.device.type != "meta"}
    if empty:
        assign(model, empty)


def trim_heap() -> None:
    """Return freed heap memory to the system (glibc keeps it otherwise)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl): nothing to do
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)


# -- weights sources -------------------------------------------------------------------------


class RandomWeights:
    """Seeded random weights, tower by tower, equal to open_clip's whole-model ones: the image
    tower is built first from the seed; the text tower from the generator state after it."""

    def __init__(self, create: Callable[[], tuple[Any, Any]], seed: int) -> None:
        self.create = create
        self.seed = seed
        self._text_rng: torch.Tensor | None = None  # generator state after the image tower

    def tensors(self, towers: set[str]) -> dict[str, torch.Tensor]:
        import open_clip.model as oc_model
        import torch

        vision, text = oc_model._build_vision_tower, oc_model._build_text_tower
        meta = {"on": False}

        def build_vision(*args: Any, **kwargs: Any) -> Any:
            # without the text generator state yet, the image tower must really be drawn
            meta["on"] = VISUAL not in towers and self._text_rng is not None
            try:
                return vision(*args, **kwargs)
            finally:
                meta["on"] = False

        def build_text(*args: Any, **kwargs: Any) -> Any:
            if self._text_rng is None:
                self._text_rng = torch.get_rng_state()
            else:
                torch.set_rng_state(self._text_rng)
            meta["on"] = TEXT not in towers
            try:
                return text(*args, **kwargs)
            finally:
                meta["on"] = False

        with _build_lock, torch.random.fork_rng(devices=[]), \
                _parameters_on_meta(lambda: meta["on"]):
            torch.manual_seed(self.seed)
            oc_model._build_vision_tower, oc_model._build_text_tower = build_vision, build_text
            try:
                model, _ = self.create()
            finally:
                oc_model._build_vision_tower, oc_model._build_text_tower = vision, text
        return {k: v for k, v in model.state_dict().items()
                if tower_of(k) in towers and v.device.type != "meta"}


def _check_keys(found: dict[str, tuple[int, ...]], expected: dict[str, Any],
                path: Path) -> None:
    """The checkpoint holds exactly the model's keys with its shapes (else WeightsError)."""
    found = {k: s for k, s in found.items() if k != _POSITION_IDS}
    missing = sorted(set(expected) - set(found) - {"logit_bias"})
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        raise OtherLayoutError(f"{path.name}: keys differ from the model's (missing {missing[:3]}, "
                           f"unexpected {extra[:3]})")
    for key, shape in found.items():
        want = expected[key][0]
        scalar = key.startswith("logit_") and _numel(shape) == _numel(want)  # [] vs [1]
        if tuple(shape) != want and not scalar:
            raise OtherLayoutError(f"{path.name}: {key} has shape {tuple(shape)}, the model {want}")


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def _fit(tensors: dict[str, torch.Tensor], expected: dict[str, Any],
         towers: set[str]) -> dict[str, torch.Tensor]:
    """Checkpoint tensors shaped and typed as the model's (as open_clip's copy would)."""
    import torch

    out = {}
    for key, (shape, dtype) in expected.items():
        if tower_of(key) not in towers:
            continue
        value = tensors.get(key)
        if value is None:  # logit_bias absent from a non-SigLIP checkpoint, as in open_clip
            value = torch.zeros(shape, dtype=dtype)
        out[key] = value.reshape(shape).to(dtype)
    return out


class SafetensorsWeights:
    """A ``.safetensors`` file read tensor by tensor into the model's memory (no mapping of
    the file, no second copy)."""

    def __init__(self, path: Path, expected: dict[str, Any]) -> None:
        self.path = path
        self.expected = expected
        try:
            with open(path, "rb") as f:
                size = int.from_bytes(f.read(8), "little")
                if not 2 <= size <= 1 << 27:
                    raise WeightsError(f"{path.name} is not a safetensors file")
                header = json.loads(f.read(size))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WeightsError(f"{path.name} is not a safetensors file: {exc}") from exc
        if not isinstance(header, dict):
            raise WeightsError(f"{path.name} is not a safetensors file")
        header.pop("__metadata__", None)
        self.start = 8 + size
        self.header = {k[7:] if k.startswith("module.") else k: (k, v) for k, v in header.items()}
        end = max((int(v["data_offsets"][1]) for _, v in self.header.values()), default=0)
        if path.stat().st_size < self.start + end:
            raise WeightsError(f"{path.name} is truncated")
        if any(v.get("dtype") not in _ST_DTYPES for _, v in self.header.values()):
            raise WeightsError(f"{path.name} has tensors of an unknown type")
        _check_keys({k: tuple(v["shape"]) for k, (_, v) in self.header.items()}, expected, path)

    def tensors(self, towers: set[str]) -> dict[str, torch.Tensor]:
        import torch

        read: dict[str, torch.Tensor] = {}
        with open(self.path, "rb", buffering=0) as f:
            for key, (_, info) in self.header.items():
                if key == _POSITION_IDS or tower_of(key) not in towers:
                    continue
                begin, end = (int(x) for x in info["data_offsets"])
                raw = torch.empty(end - begin, dtype=torch.uint8)
                f.seek(self.start + begin)
                if f.readinto(memoryview(raw.numpy())) != end - begin:
                    raise WeightsError(f"{self.path.name} is truncated")
                dtype = getattr(torch, _ST_DTYPES[info["dtype"]])
                value = raw.view(dtype).reshape(info["shape"])
                if key in self.expected:  # one at a time: never the whole tower twice
                    shape, want = self.expected[key]
                    value = value.reshape(shape).to(want)
                read[key] = value
        return _fit(read, self.expected, towers)


class TorchWeights:
    """A ``torch.save`` zip checkpoint, mapped; a tower's tensors are read from the mapping."""

    def __init__(self, path: Path, expected: dict[str, Any]) -> None:
        self.path = path
        self.expected = expected
        _check_keys({k: tuple(v.shape) for k, v in self._mapped().items()}, expected, path)

    def _mapped(self) -> dict[str, torch.Tensor]:
        import torch

        try:
            loaded = torch.load(self.path, map_location="cpu", weights_only=True, mmap=True)
        except Exception as exc:  # legacy (non-zip) format, not a checkpoint, ...
            raise WeightsError(f"{self.path.name}: {exc}") from exc
        if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
            loaded = loaded["state_dict"]
        if not isinstance(loaded, dict) or not all(
                isinstance(v, torch.Tensor) for v in loaded.values()):
            raise WeightsError(f"{self.path.name} is not a state dict")
        return {k[7:] if k.startswith("module.") else k: v for k, v in loaded.items()}

    def tensors(self, towers: set[str]) -> dict[str, torch.Tensor]:
        # Left in the mapping (copying them out held both copies at once): each call maps the
        # file anew, so a tower let go takes its mapping, and its pages, with it.
        return _fit(self._mapped(), self.expected, towers)


class OpenClipWeights:
    """Anything else (checkpoints open_clip converts): the whole model through open_clip,
    the towers asked for kept (memory as before; correct for every format)."""

    def __init__(self, create: Callable[[], tuple[Any, Any]]) -> None:
        self.create = create

    def whole(self) -> tuple[Any, Any]:
        with _build_lock:
            return self.create()

    def tensors(self, towers: set[str]) -> dict[str, torch.Tensor]:
        model, _ = self.whole()
        return {k: v for k, v in model.state_dict().items() if tower_of(k) in towers}


def file_weights(path: Path, expected: dict[str, Any],
                 create_full: Callable[[], tuple[Any, Any]]) -> Any:
    """The cheapest source that reads ``path`` exactly as open_clip would (WeightsError: a
    file that is no safetensors file, or truncated)."""
    try:
        if path.suffix == ".safetensors":
            return SafetensorsWeights(path, expected)
        if path.suffix in (".bin", ".pt", ".pth"):
            try:
                return TorchWeights(path, expected)
            except WeightsError:
                pass  # e.g. the legacy format, which cannot be mapped: open_clip reads it
    except OtherLayoutError:
        pass  # open_clip may still convert it, or says why not
    return OpenClipWeights(create_full)
