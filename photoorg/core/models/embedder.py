"""CLIP image and text embeddings with open_clip, on the CPU.

A model is named by a spec string ``ARCH/PRETRAINED`` (stored in the catalog as-is):

* ``ViT-B-32-256/datacomp_s34b_b86k``: an open_clip pretrained tag, fetched from the Hugging Face
  Hub on first use (or found in an existing Hugging Face cache),
* ``ViT-B-32-256/path/to/open_clip_model.safetensors``: a local weights file,
* ``ViT-B-32/random`` or ``ViT-B-32/random:7``: seeded random weights (tests, benchmarks),
* ``photoorg-tiny/bundled``: the project's tiny CLIP trained on synthetic shapes
  (``tools/train_tiny_model.py``), shipped in ``resources/models``.

torch and open_clip are imported lazily, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from photoorg.core.models.tower_set import TowerSet

if TYPE_CHECKING:
    import torch
    from PIL import Image

DEFAULT_MODEL = "ViT-B-32-256/datacomp_s34b_b86k"
TEST_MODEL = "photoorg-tiny/bundled"
TINY_ARCH = "photoorg-tiny"
TINY_WEIGHTS = f"{TINY_ARCH}.safetensors"

KINDS = ("hub", "file", "random", "bundled")
_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".npz")
_HF_WEIGHTS_NAME = "open_clip_pytorch_model.bin"  # open_clip's default file in an hf_hub repo
_HF_SAFE_WEIGHTS_NAME = "open_clip_model.safetensors"
_RANDOM_RE = re.compile(r"random(?::(\d+))?")

ProgressFn = Callable[[int, int | None], None]
"""Download progress: ``(bytes_done, bytes_total)``; total is None when unknown."""


class ModelUnavailableError(RuntimeError):
    """The model's weights cannot be loaded right now (not cached and no network, missing file)."""

    def __init__(self, message: str, spec: str | None = None) -> None:
        super().__init__(message)
        self.spec = spec


class _RemoteFileMissingError(ModelUnavailableError):
    """The hub answered, but has no such file (HTTP 404): try the next candidate name."""


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec; see :func:`parse_model_spec`."""

    arch: str
    pretrained: str  # tag, absolute file path, "random[:N]" or "bundled"
    kind: str  # "hub" | "file" | "random" | "bundled"
    seed: int = 0

    @property
    def name(self) -> str:
        """Canonical ``ARCH/PRETRAINED`` string; parsing it again gives an equal spec."""
        if self.kind == "random":
            return f"{self.arch}/random" if self.seed == 0 else f"{self.arch}/random:{self.seed}"
        return f"{self.arch}/{self.pretrained}"

    def __str__(self) -> str:
        return self.name


# --------------------------------------------------------------------------- locations


@contextlib.contextmanager
def _quiet_random_init_warning() -> Iterator[None]:
    """open_clip warns on the root logger that weights are random: here that is the point."""

    def drop(record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()

    root = logging.getLogger()
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


def bundled_model_dir() -> Path:
    """Folder holding the bundled tiny model (``resources/models``), from source or frozen."""
    from photoorg.resources import resource_path

    return resource_path("models")


def _app_hf_cache(cache_dir: Path | None) -> Path:
    """photoorg's own Hugging Face cache folder (``<cache>/hf``)."""
    if cache_dir is None:
        from photoorg.config import cache_dir as default_cache_dir

        cache_dir = default_cache_dir()
    return Path(cache_dir) / "hf"


def _user_hf_cache() -> Path:
    """The user's standard Hugging Face hub cache (honours HF_HUB_CACHE / HF_HOME set late)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _hf_endpoint() -> str:
    """Hub endpoint: HF_ENDPOINT read now (huggingface_hub only reads it at import)."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


# --------------------------------------------------------------------------- spec parsing


def _open_clip() -> Any:
    """Import open_clip (slow: pulls in torch) and register the bundled model's config."""
    _without_triton()
    import open_clip

    _register_bundled_config()
    return open_clip


def _without_triton() -> None:
    """Keep triton (GPU kernels for torch.compile) out of this CPU-only process: open_clip
    imports torchvision, which imports torch._dynamo, which loads triton if installed (the
    CUDA wheels of torch bring it): 76 MB of memory for nothing (measured). Only when nothing
    imported it yet; torch treats it as not installed."""
    if "triton" not in sys.modules and "torchvision" not in sys.modules:
        sys.modules["triton"] = None  # type: ignore[assignment]


@functools.cache
def _register_bundled_config() -> None:
    import open_clip

    config = bundled_model_dir() / f"{TINY_ARCH}.json"
    if config.is_file():
        open_clip.add_model_config(config)


def weights_missing_quickly(spec: str) -> bool | None:
    """Whether ``spec``'s weights are missing, where that is known without open_clip (whose
    import, torch's, takes seconds): a weights file or the bundled model is there or not;
    random weights always are. None for a hub tag (its files are open_clip's to name).
    The architecture is not checked."""
    arch, sep, pretrained = spec.strip().partition("/")
    if not sep or not arch:
        return None
    if pretrained.lower() == "bundled":
        return not (bundled_model_dir() / TINY_WEIGHTS).is_file()
    if _RANDOM_RE.fullmatch(pretrained.lower()):
        return False
    if _looks_like_path(pretrained):
        return not Path(pretrained).expanduser().exists()
    return None


def _looks_like_path(value: str) -> bool:
    seps = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return any(s in value for s in seps) or value.lower().endswith(_WEIGHT_SUFFIXES)


def _canonical_tag(open_clip: Any, arch: str, tag: str) -> str | None:
    """The registered spelling of ``tag`` for ``arch`` (open_clip ignores case and -/_)."""
    clean = tag.lower().replace("-", "_")
    for known in open_clip.list_pretrained_tags_by_model(arch):
        if known.lower().replace("-", "_") == clean:
            return known
    return None


def parse_model_spec(spec: str) -> ModelSpec:
    """Parse ``ARCH/PRETRAINED`` (split on the first "/"); raise ValueError when invalid."""
    if isinstance(spec, ModelSpec):
        return spec
    text = spec.strip()
    arch, sep, pretrained = text.partition("/")
    if not sep or not arch or not pretrained:
        raise ValueError(
            f"model spec {spec!r} must look like ARCH/PRETRAINED, e.g. {DEFAULT_MODEL!r}, "
            f"{TEST_MODEL!r}, 'ViT-B-32/random' or 'ViT-B-32-256/path/to/weights.safetensors'"
        )
    open_clip = _open_clip()
    archs = open_clip.list_models()
    if arch not in archs:
        close = difflib.get_close_matches(arch, archs, n=6, cutoff=0.6)
        examples = close or archs[:8]
        hint = f"did you mean: {', '.join(examples)}?" if close else f"e.g. {', '.join(examples)}"
        raise ValueError(f"unknown model architecture {arch!r} in {spec!r}; {hint}")

    if pretrained.lower() == "bundled":
        if arch != TINY_ARCH:
            raise ValueError(f"only {TINY_ARCH!r} has bundled weights; try {TEST_MODEL!r}")
        return ModelSpec(arch, "bundled", "bundled")
    match = _RANDOM_RE.fullmatch(pretrained.lower())
    if match:
        seed = int(match.group(1) or 0)
        return ModelSpec(arch, "random" if seed == 0 else f"random:{seed}", "random", seed)
    if _looks_like_path(pretrained):
        return ModelSpec(arch, str(Path(pretrained).expanduser().resolve()), "file")
    tag = _canonical_tag(open_clip, arch, pretrained)
    if tag is not None:
        return ModelSpec(arch, tag, "hub")
    if Path(pretrained).expanduser().exists():
        return ModelSpec(arch, str(Path(pretrained).expanduser().resolve()), "file")
    tags = open_clip.list_pretrained_tags_by_model(arch)
    known = f"known tags for {arch}: {', '.join(tags)}" if tags else f"{arch} has no known tags"
    raise ValueError(
        f"unknown pretrained weights {pretrained!r} in {spec!r}; {known}; "
        f"or use {arch}/random, or {arch}/path/to/weights.safetensors"
    )


# --------------------------------------------------------------------------- hub weights


def _hub_files(spec: ModelSpec) -> tuple[str, list[str]]:
    """(repo_id, candidate filenames, safetensors first) for a hub spec, as open_clip does."""
    open_clip = _open_clip()
    cfg = open_clip.get_pretrained_cfg(spec.arch, spec.pretrained)
    hf_hub = cfg.get("hf_hub", "")
    if not hf_hub:
        raise ModelUnavailableError(
            f"{spec.name}: open_clip only knows a plain URL for these weights "
            f"({cfg.get('url', '?')}); download it and use --model {spec.arch}/path/to/file",
            spec.name,
        )
    repo_id, filename = os.path.split(hf_hub)
    filename = filename or _HF_WEIGHTS_NAME
    candidates = [filename]
    if filename == _HF_WEIGHTS_NAME:
        candidates.insert(0, _HF_SAFE_WEIGHTS_NAME)
    elif filename.endswith((".bin", ".pth")):
        candidates.insert(0, filename[:-4] + ".safetensors")
    return repo_id, candidates


def _cached_hub_file(
    repo_id: str, candidates: Sequence[str], cache_dir: Path | None
) -> Path | None:
    """A weights file already in the user's Hugging Face cache or in ours, without network."""
    from huggingface_hub import try_to_load_from_cache

    for cache in (_user_hf_cache(), _app_hf_cache(cache_dir)):
        for filename in candidates:
            found = try_to_load_from_cache(repo_id, filename, cache_dir=str(cache))
            if isinstance(found, str) and os.path.isfile(found):
                return Path(found)
    return None


def _progress_bar_class(progress: ProgressFn) -> type:
    """A silent tqdm class for huggingface_hub that reports bytes to ``progress``."""
    from huggingface_hub.utils import tqdm as hf_tqdm

    class _ProgressBar(hf_tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # never draw on the terminal
            super().__init__(*args, **kwargs)
            self.done = int(kwargs.get("initial") or 0)

        def update(self, n: float | None = 1) -> bool | None:
            if n:
                self.done += int(n)
                progress(self.done, int(self.total) if self.total else None)
            return super().update(n)

        # Present so huggingface_hub reports network and disk bytes on this one bar.
        def update_transfer(self, n: float | None = 1) -> None:
            pass

        def set_transfer_postfix_str(self, *args: Any, **kwargs: Any) -> None:
            pass

    return _ProgressBar


def _download_weights(
    hf_hub_id: str,
    filename: str,
    cache_dir: Path,
    progress: ProgressFn | None = None,
    *,
    endpoint: str | None = None,
    timeout: float = 10.0,
) -> Path:
    """Download one file of a hub repo into the Hugging Face cache at ``cache_dir``.

    Fails fast (no retries) with :class:`ModelUnavailableError` when the hub cannot be reached,
    offline mode is on or the file is missing (then the subclass ``_RemoteFileMissingError``).
    """
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import RemoteEntryNotFoundError

    from photoorg import __version__

    endpoint = (endpoint or _hf_endpoint()).rstrip("/")
    where = f"{endpoint}/{hf_hub_id}"
    if constants.is_offline_mode():
        raise ModelUnavailableError(f"Hugging Face offline mode is on (HF_HUB_OFFLINE); {where}")
    url = hf_hub_url(hf_hub_id, filename, endpoint=endpoint)
    try:
        # One quick HEAD without retries: hf_hub_download alone would back off ~30 s when offline.
        get_hf_file_metadata(url, timeout=timeout, endpoint=endpoint)
    except RemoteEntryNotFoundError as exc:
        raise _RemoteFileMissingError(f"{filename} not found in {where}") from exc
    except Exception as exc:  # any network or HTTP failure means "not available"
        raise ModelUnavailableError(f"cannot reach {where}: {type(exc).__name__}: {exc}") from exc

    reported = [0]

    def report(done: int, total: int | None) -> None:
        reported[0] = done
        if progress is not None:
            progress(done, total)

    try:
        path = hf_hub_download(
            hf_hub_id,
            filename,
            cache_dir=str(cache_dir),
            endpoint=endpoint,
            etag_timeout=timeout,
            tqdm_class=_progress_bar_class(report),
            library_name="photoorg",
            library_version=__version__,
        )
    except RemoteEntryNotFoundError as exc:
        raise _RemoteFileMissingError(f"{filename} not found in {where}") from exc
    except Exception as exc:  # same: the download failed, for whatever reason
        raise ModelUnavailableError(
            f"download of {filename} from {where} failed: {type(exc).__name__}: {exc}"
        ) from exc
    local = Path(str(path))
    size = local.stat().st_size
    if progress is not None and reported[0] != size:
        progress(size, size)
    return local


def _unavailable(
    spec: ModelSpec, reason: str, filename: str | None = None
) -> ModelUnavailableError:
    filename = filename or _HF_SAFE_WEIGHTS_NAME
    return ModelUnavailableError(
        f"Model {spec.name} is not available: {reason}. "
        f"The download needs network access to {_hf_endpoint()}; or fetch the weights file "
        f"({filename}) on another machine, put it somewhere and use "
        f"--model {spec.arch}/path/to/{filename}; or set HF_HOME to a Hugging Face cache that "
        f"has it. For a quick try without weights: --model {TEST_MODEL}.",
        spec.name,
    )


def _hub_weights(spec: ModelSpec, cache_dir: Path | None, progress: ProgressFn | None) -> Path:
    repo_id, candidates = _hub_files(spec)
    cached = _cached_hub_file(repo_id, candidates, cache_dir)
    if cached is not None:
        return cached
    target = _app_hf_cache(cache_dir)
    reasons = []
    for filename in candidates:
        try:
            return _download_weights(repo_id, filename, target, progress)
        except _RemoteFileMissingError as exc:
            reasons.append(str(exc))
        except ModelUnavailableError as exc:
            raise _unavailable(spec, str(exc), candidates[-1]) from exc
    raise _unavailable(spec, "; ".join(reasons), candidates[-1])


def weights_file(spec: str | ModelSpec, cache_dir: Path | None = None) -> Path | None:
    """The file a model's weights are read from, when it is on disk (None: random weights,
    or not downloaded yet); no network."""
    spec = parse_model_spec(spec) if isinstance(spec, str) else spec
    if spec.kind == "random":
        return None
    if spec.kind == "bundled":
        path = bundled_model_dir() / TINY_WEIGHTS
    elif spec.kind == "file":
        path = Path(spec.pretrained)
    else:
        try:
            return _cached_hub_file(*_hub_files(spec), cache_dir)
        except ModelUnavailableError:
            return None
    return path if path.is_file() else None


def weights_available(spec: str | ModelSpec, cache_dir: Path | None = None) -> bool:
    """Whether the model can be loaded right now without network (ValueError if spec invalid)."""
    if isinstance(spec, str) and weights_missing_quickly(spec):
        return False  # known without open_clip, whose import (torch) takes seconds
    spec = parse_model_spec(spec) if isinstance(spec, str) else spec
    if spec.kind == "random":
        return True
    if spec.kind == "bundled":
        return (bundled_model_dir() / TINY_WEIGHTS).is_file()
    if spec.kind == "file":
        return Path(spec.pretrained).is_file()
    try:
        repo_id, candidates = _hub_files(spec)
    except ModelUnavailableError:
        return False
    return _cached_hub_file(repo_id, candidates, cache_dir) is not None


# --------------------------------------------------------------------------- the embedder


TEXT_BATCH = 16
"""Texts encoded at once. Suggested names encode ~550 prompts: all at once, their activations
took 1 GB more memory (ViT-B-32 text tower); about 4.7 MB a prompt, 80 MB in batches of 16,
as fast as larger batches on 2 cores (measured)."""


class Embedder(TowerSet):
    """A loaded CLIP model: pictures and texts in, L2-normalised float32 vectors out.

    Each tower (see :mod:`photoorg.core.models.towers`) is loaded when first used. A *lean* embedder
    (``photoorg index``) holds one tower at a time and lets its weights go when told it is
    idle (:meth:`idle`); they are read again when next needed, equal to before."""

    def __init__(self, spec: ModelSpec, model: Any, preprocess: Callable[[Any], Any],
                 weights: Any | None = None, *, lean: bool = False) -> None:
        from photoorg.core.models import towers

        self.spec = spec
        self.model = model.eval()
        self._preprocess = preprocess
        self._weights = weights  # reads a tower again; None: the model is all there, for good
        self._init_towers(lean and weights is not None)
        self._loaded = towers.loaded_towers(model)
        cfg = _open_clip().get_model_config(spec.arch) or {}
        dim = cfg.get("embed_dim") or getattr(model.visual, "output_dim", None)
        self.dim: int = int(dim)
        size = getattr(model.visual, "image_size", 224)
        self.image_size: int = int(size[0] if isinstance(size, tuple | list) else size)
        self._tokenizer: Any = None
        self._tokenizer_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Embedder({self.spec.name!r}, dim={self.dim}, image_size={self.image_size})"

    # -- towers --------------------------------------------------------------------------

    def _resident(self) -> set[str]:
        return self._loaded

    def _load_tower(self, name: str) -> None:
        from photoorg.core.models import towers

        if name in self._loaded:
            return
        try:
            tensors = self._weights.tensors({name})
        except (towers.WeightsError, OSError) as exc:
            raise ModelUnavailableError(
                f"Model {self.spec.name}: its {name} weights could not be read again: {exc}",
                self.spec.name) from exc
        towers.assign(self.model, tensors)
        self._loaded.add(name)

    def _may_release(self) -> bool:
        return self._weights is not None  # only a model that can read its weights again

    def _drop_tower(self, name: str) -> None:
        from photoorg.core.models import towers

        if name == towers.TEXT:
            with self._tokenizer_lock:
                self._tokenizer = None  # 30 MB of BPE tables, made again with the tower
        towers.release(self.model, name)
        self._loaded.discard(name)

    # -- encoding ------------------------------------------------------------------------

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """open_clip's eval transform (resize, crop, RGB, normalise); thread-safe."""
        return self._preprocess(image)

    def encode_image_tensors(self, batch: torch.Tensor) -> np.ndarray:
        """Embed a preprocessed batch (N, 3, H, W): (N, dim) float32, L2-normalised."""
        import torch

        if batch.ndim == 3:
            batch = batch.unsqueeze(0)
        if batch.shape[0] == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._using("visual"), torch.inference_mode():
            features = self.model.encode_image(batch.to(torch.float32), normalize=True)
        return np.ascontiguousarray(features.float().numpy(), dtype=np.float32)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Embed PIL images: (N, dim) float32, L2-normalised."""
        import torch

        if len(images) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.encode_image_tensors(torch.stack([self.preprocess(im) for im in images]))

    def tokenizer(self) -> Callable[..., Any]:
        """open_clip's tokenizer for this architecture (created once)."""
        with self._tokenizer_lock:
            if self._tokenizer is None:
                try:
                    self._tokenizer = _open_clip().get_tokenizer(self.spec.arch)
                except (OSError, ValueError) as exc:  # e.g. an HF tokenizer that needs a download
                    raise _unavailable(self.spec, f"its tokenizer cannot be loaded: {exc}") from exc
            return self._tokenizer

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts: (N, dim) float32, L2-normalised."""
        import torch

        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        from photoorg.core.models.towers import trim_heap

        tokens = self.tokenizer()(list(texts))
        parts = []
        with self._using("text"), torch.inference_mode():
            for start in range(0, len(tokens), TEXT_BATCH):
                parts.append(_encode_text(self.model, tokens[start : start + TEXT_BATCH]))
                if self.lean and len(tokens) > TEXT_BATCH:
                    trim_heap()  # each batch's activations (-30 MB at peak for 549 prompts)
        return np.ascontiguousarray(torch.cat(parts).float().numpy(), dtype=np.float32)


def _encode_text(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """open_clip's ``encode_text(tokens, normalize=True)``, over the tokens up to the last
    end-of-text of the batch only, where that gives the same vectors: a causal text tower
    (each token attends to those before it) pooled at the end-of-text token never looks at
    the padding after it. Prompts are ~5-15 tokens in a context of 77, so this does a
    fraction of the work (search queries, pets, scenes, suggested names)."""
    import torch
    from open_clip.model import CLIP
    from open_clip.transformer import text_global_pool

    pool = getattr(model, "text_pool_type", None)
    eos = getattr(model, "text_eos_id", None)
    if (type(model) is not CLIP or getattr(model, "attn_mask", None) is None
            or pool not in ("argmax", "eos") or (pool == "eos" and eos is None)):
        return model.encode_text(tokens, normalize=True)
    ends = tokens.argmax(dim=-1) if pool == "argmax" else (tokens == eos).int().argmax(dim=-1)
    length = int(ends.max()) + 1
    text = tokens[:, :length]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(text).to(cast) + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = text_global_pool(model.ln_final(x), text, pool, eos_token_id=eos)
    if model.text_projection is not None:
        if isinstance(model.text_projection, torch.nn.Linear):
            x = model.text_projection(x)
        else:
            x = x @ model.text_projection
    return torch.nn.functional.normalize(x, dim=-1)


def _create(arch: str, pretrained: str | None, **kwargs: Any) -> tuple[Any, Any]:
    """open_clip's model and eval transform; ``device=None`` leaves meta parameters be."""
    kwargs.setdefault("device", "cpu")
    quiet = _quiet_random_init_warning() if pretrained is None else contextlib.nullcontext()
    with quiet:
        model, _, preprocess = _open_clip().create_model_and_transforms(
            arch, pretrained=pretrained, **kwargs
        )
    return model, preprocess


def _random_create(arch: str) -> Callable[[], tuple[Any, Any]]:
    def create() -> tuple[Any, Any]:
        return _create(arch, None, device=None)

    return create


def load_embedder(
    spec: str | ModelSpec,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    threads: int | None = None,
    *,
    lean: bool = True,
    towers: Sequence[str] = (),
) -> Embedder:
    """Load a model for inference on the CPU, downloading hub weights if needed.

    ``cache_dir`` is photoorg's cache (default :func:`photoorg.config.cache_dir`); hub weights
    go to ``cache_dir / "hf"``. ``progress(done, total)`` is called while downloading.
    The weights are checked now; each tower is read when first used (``towers``: now).
    ``lean``: see :class:`Embedder` (the window keeps both towers: ``lean=False``).
    Raises :class:`ModelUnavailableError` when the weights cannot be had, ValueError for a bad spec.
    """
    import torch

    from photoorg.core.models import towers as tw

    spec = parse_model_spec(spec) if isinstance(spec, str) else spec
    torch.set_num_threads(max(1, threads or os.cpu_count() or 1))

    extra: dict[str, Any] = {}
    if spec.kind == "random":
        create = _random_create(spec.arch)
        model, preprocess = tw.skeleton(create)
        return _embedder(spec, model, preprocess, tw.RandomWeights(create, spec.seed), lean,
                         towers)
    if spec.kind == "bundled":
        weights = bundled_model_dir() / TINY_WEIGHTS
        if not weights.is_file():
            raise ModelUnavailableError(
                f"Model {spec.name} is not available: the bundled weights {weights} are missing "
                "(run tools/train_tiny_model.py to make them)",
                spec.name,
            )
    elif spec.kind == "file":
        weights = Path(spec.pretrained)
        if not weights.is_file():
            raise ModelUnavailableError(
                f"Model {spec.name} is not available: weights file {weights} not found. Put the "
                f"weights file there, or pass its path: --model {spec.arch}/path/to/"
                f"{_HF_SAFE_WEIGHTS_NAME}",
                spec.name,
            )
    elif spec.kind == "hub":
        weights = _hub_weights(spec, cache_dir, progress)
        cfg = _open_clip().get_pretrained_cfg(spec.arch, spec.pretrained)
        # The tag's preprocessing (open_clip applies it only when given the tag, not a file).
        extra = {
            f"image_{key}": cfg[key]
            for key in ("mean", "std", "interpolation", "resize_mode")
            if cfg.get(key)
        }
        if cfg.get("quick_gelu"):
            extra["force_quick_gelu"] = True
    else:
        raise ValueError(f"unknown model kind {spec.kind!r}; expected one of {KINDS}")

    def create_full() -> tuple[Any, Any]:
        return _create(spec.arch, str(weights), **extra)

    try:
        model, preprocess = tw.skeleton(lambda: _create(spec.arch, None, device=None, **extra))
        source = tw.file_weights(weights, tw.expected_shapes(model), create_full)
        if isinstance(source, tw.OpenClipWeights):  # open_clip converts it: load it all now
            model, preprocess = source.whole()
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        if spec.kind == "hub":
            reason = f"cached weights {weights} could not be loaded: {exc}"
            raise _unavailable(spec, reason) from exc
        raise ModelUnavailableError(
            f"Model {spec.name}: {weights} could not be loaded as {spec.arch} weights: {exc}",
            spec.name,
        ) from exc
    return _embedder(spec, model, preprocess, source, lean, towers)


def _embedder(spec: ModelSpec, model: Any, preprocess: Any, source: Any, lean: bool,
              towers: Sequence[str]) -> Embedder:
    embedder = Embedder(spec, model, preprocess, source, lean=lean)
    embedder.load(*towers)
    return embedder
