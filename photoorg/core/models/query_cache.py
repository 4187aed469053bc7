"""Recent search queries' text vectors, per model, in the app's cache folder.

``<cache>/query-vectors/<key>.npz`` where ``key`` is the weights' identity (the same as
the prompt vectors' and the ONNX export's): a script that runs ``photoorg search`` with
the same words again gets the vector without loading the text tower. At most
:data:`KEEP` queries per model, the most recently used kept. A cache that cannot be read
or written costs the time only (logged).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from photoorg.core.models.cache_files import write_atomic

log = logging.getLogger(__name__)

FOLDER = "query-vectors"
KEEP = 512
MAX_TEXTS = 8  # longer lists are prompt vocabularies (see prompt_cache), not queries


def _path(key: str, cache: Path | None) -> Path:
    if cache is None:
        from photoorg.config import cache_dir

        cache = cache_dir()
    return Path(cache) / FOLDER / f"{key}.npz"


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as npz:
        texts, vectors = npz["texts"], npz["vectors"]
    return {str(t): np.asarray(v, np.float32) for t, v in zip(texts, vectors, strict=True)}


def _write(path: Path, vectors: dict[str, np.ndarray]) -> None:
    names = list(vectors)[-KEEP:]
    buffer = io.BytesIO()
    np.savez(buffer, texts=np.array(names), vectors=np.stack([vectors[t] for t in names]))
    write_atomic(path, buffer.getvalue(), sync=False)


class CachedQueries:
    """An encoder whose ``encode_texts`` looks in the model's query cache first; everything
    else is the encoder's own."""

    def __init__(self, encoder: Any, key: str, cache: Path | None = None) -> None:
        self._encoder = encoder
        self._path = _path(key, cache)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._encoder, name)

    @property
    def encoder(self) -> Any:
        return self._encoder

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts or len(texts) > MAX_TEXTS:
            return self._encoder.encode_texts(texts)
        try:
            have = _read(self._path)
        except Exception as exc:  # a damaged file: encode, then replace it
            log.warning("cannot read the query vectors %s: %s", self._path, exc)
            have = {}
        missing = [t for t in dict.fromkeys(texts) if t not in have]
        if missing:
            for text, vec in zip(missing, self._encoder.encode_texts(missing), strict=True):
                have[text] = np.asarray(vec, np.float32)
        for text in texts:  # most recently used last
            have[text] = have.pop(text)
        try:
            _write(self._path, have)
        except Exception as exc:
            log.warning("cannot cache the query vectors in %s: %s", self._path, exc)
        return np.stack([have[t] for t in texts]).astype(np.float32, copy=False)


def cached(encoder: Any, cache: Path | None = None) -> Any:
    """``encoder`` with its query cache (the encoder itself when its model has no key)."""
    key = getattr(encoder, "weights_key", None)
    if key is None:
        try:
            from photoorg.core.models import prompt_cache

            key = prompt_cache.weights_key(encoder.spec.name, cache)
        except Exception as exc:
            log.info("no query cache for %s: %s", getattr(encoder, "spec", "?"), exc)
    return CachedQueries(encoder, key, cache) if key else encoder
