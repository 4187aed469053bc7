"""The light CLIP runtime: both towers in onnxruntime, no torch in the process.

:func:`load_light` finds the model's ONNX export (:mod:`onnx_store`), making it first in
a child process when there is none (:mod:`onnx_export`: it needs torch, once per model
and machine), and returns a :class:`LightEmbedder` with the interface of
:class:`~photoorg.core.models.embedder.Embedder`. Preprocess and tokenizer are the
torch-free equals of open_clip's (:mod:`image_prep`, :mod:`clip_tokenizer`). When there
is no export and none can be made (onnxruntime missing, an architecture the export does
not cover), it raises :class:`LightUnavailableError` with the reason; the caller then
uses the torch embedder, which gives the same vectors.

``PHOTOORG_RUNTIME=torch`` in the environment turns the light runtime off.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from photoorg.core.models import onnx_store
from photoorg.core.models.tower_set import TowerSet
from photoorg.core.models.towers import TEXT, VISUAL

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

TEXT_BATCH = 16


class LightUnavailableError(RuntimeError):
    """No ONNX form of this model here (the reason is the message)."""


def enabled() -> bool:
    return os.environ.get("PHOTOORG_RUNTIME", "").lower() != "torch"


class LightEmbedder(TowerSet):
    """A CLIP model in onnxruntime: pictures and texts in, L2-normalised float32 out.

    Each tower's session is made when first used; :meth:`release` drops it (the memory
    goes back) and the next use makes it again. ``lean``: one tower at a time."""

    runtime = "onnx"

    def __init__(self, spec: Any, folder: Path, info: dict[str, Any], threads: int | None,
                 *, lean: bool = True) -> None:
        from photoorg.core.models.image_prep import ImagePrep

        self.spec = spec
        self.folder = folder
        self.info = info
        self.dim = int(info["dim"])
        self.image_size = int(info["image_size"])
        self._init_towers(lean)
        self.threads = max(1, threads or os.cpu_count() or 1)
        prep = info["preprocess"]
        self._prep = ImagePrep(prep["size"], prep["mean"], prep["std"], prep["interpolation"])
        self._trim = bool(info.get("text_trim"))
        self._lock = threading.Lock()  # the tokenizer's
        self._sessions: dict[str, Any] = {}
        self._tokenizer: Any = None

    @property
    def weights_key(self) -> str:
        """The weights' identity (the export's folder name; see prompt_cache)."""
        return self.folder.name

    def __repr__(self) -> str:
        return f"LightEmbedder({self.spec.name!r}, dim={self.dim}, image_size={self.image_size})"

    # -- towers --------------------------------------------------------------------------

    def _resident(self) -> set[str]:
        return set(self._sessions)

    def _load_tower(self, name: str) -> Any:
        session = self._sessions.get(name)
        if session is None:
            from photoorg.core.models import onnx_fast

            if name in onnx_fast.TOWERS:
                session = onnx_fast.session(self.folder, name, self.threads)
            else:
                import onnxruntime as ort

                opts = ort.SessionOptions()
                opts.intra_op_num_threads = self.threads
                opts.inter_op_num_threads = 1
                opts.log_severity_level = 3
                session = ort.InferenceSession(str(self.folder / f"{name}.onnx"), opts,
                                               providers=["CPUExecutionProvider"])
            self._sessions[name] = session
        return session

    def _drop_tower(self, name: str) -> None:
        del self._sessions[name]
        if name == TEXT:
            with self._lock:
                self._tokenizer = None

    # -- encoding ------------------------------------------------------------------------

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """open_clip's eval transform as a float32 array (3, size, size); thread-safe."""
        return self._prep(image)

    def encode_image_tensors(self, batch: Any) -> np.ndarray:
        """Embed a preprocessed batch (N, 3, H, W), numpy or torch: (N, dim) float32."""
        pixels = np.ascontiguousarray(_numpy(batch), dtype=np.float32)
        if pixels.ndim == 3:
            pixels = pixels[None]
        if pixels.shape[0] == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._using(VISUAL) as session:
            out = session.run(None, {"pixels": pixels})[0]
        return np.ascontiguousarray(out, dtype=np.float32)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if len(images) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.encode_image_tensors(np.stack([self.preprocess(im) for im in images]))

    def tokenizer(self) -> Callable[..., np.ndarray]:
        """The torch-free equal of open_clip's tokenizer for this model (made once)."""
        from photoorg.core.models.clip_tokenizer import ClipTokenizer

        with self._lock:
            if self._tokenizer is None:
                cfg = self.info["tokenizer"]
                self._tokenizer = ClipTokenizer(Path(cfg["vocabulary"]), cfg["context_length"],
                                                cfg["clean"], cfg.get("special_tokens", ()),
                                                plain_copy=self.folder / "bpe-merges.txt")
            return self._tokenizer

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        tokens = self.tokenizer()(list(texts))
        parts = []
        with self._using(TEXT) as session:
            for start in range(0, len(tokens), TEXT_BATCH):
                part = tokens[start : start + TEXT_BATCH]
                if self._trim:  # up to the last end-of-text (see onnx_export._text_module)
                    part = part[:, : int(part.argmax(axis=-1).max()) + 1]
                parts.append(session.run(None, {"tokens": np.ascontiguousarray(part)})[0])
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def _numpy(batch: Any) -> np.ndarray:
    if isinstance(batch, np.ndarray):
        return batch
    if hasattr(batch, "detach"):  # a torch tensor
        return batch.detach().cpu().numpy()
    return np.asarray(batch)


def _spec_of(info: dict[str, Any]) -> Any:
    from photoorg.core.models.embedder import ModelSpec

    return ModelSpec(info["arch"], info["pretrained"], info["kind"], int(info.get("seed", 0)))


def load_light(spec: str, cache: Path | None = None, threads: int | None = None, *,
               lean: bool = True, export: bool = True,
               on_loading: Callable[[], None] | None = None) -> LightEmbedder:
    """The model in its light form, exporting it first (child process) when needed and
    ``export``; raises :class:`LightUnavailableError` with the reason otherwise.
    ``on_loading`` is called once the model will be loaded (or exported), before the work."""
    if not enabled():
        raise LightUnavailableError("PHOTOORG_RUNTIME=torch")
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise LightUnavailableError(f"onnxruntime is not installed ({exc})") from exc
    folder, why = onnx_store.lookup(spec, cache)
    if folder is None and not export:
        raise LightUnavailableError(why)
    if on_loading is not None:
        on_loading()
    if folder is None:
        from photoorg.core.models.onnx_export import run_child

        log.info("exporting %s to ONNX (%s)", spec, why)
        done, failure = run_child(spec, cache)
        if not done:
            raise LightUnavailableError(failure)
        folder, why = onnx_store.lookup(spec, cache)
        if folder is None:
            raise LightUnavailableError(f"the export of {spec} is not usable: {why}")
    info = onnx_store.manifest(folder)
    if info is None:
        raise LightUnavailableError("the export is incomplete")
    return LightEmbedder(_spec_of(info), folder, info, threads, lean=lean)
