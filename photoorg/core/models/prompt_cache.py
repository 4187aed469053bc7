"""Text vectors of fixed prompts (the suggested names' vocabularies), shared by every library.

Encoding the ~1,100 prompts of the built-in vocabularies costs seconds with the text tower
(more than the embed stage of a small library); they depend only on the model's weights.
So they are kept once per weights in the app's cache folder
(``<cache>/prompt-vectors/<key>.npz``), where ``key`` is the SHA-256 of the weights file
(hashed once per file size and modification time, remembered in ``hashes.json``), or for
seeded random weights of the architecture, the seed and the open_clip and torch versions
that build them. A second library, or a library re-made from scratch, reads them instead.

A cache that cannot be read or written costs the time only (logged): the vectors are
encoded again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from photoorg.core.models.cache_files import write_atomic

log = logging.getLogger(__name__)

FOLDER = "prompt-vectors"


def _folder(cache: Path | None) -> Path:
    if cache is None:
        from photoorg.config import cache_dir

        cache = cache_dir()
    return cache / FOLDER


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def _file_hash(path: Path, folder: Path) -> str:
    """SHA-256 of a weights file, hashed once per (path, size, mtime)."""
    st = path.stat()
    ident = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    memo_path = folder / "hashes.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if ident in memo:
        return str(memo[ident])
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    memo[ident] = digest.hexdigest()
    write_atomic(memo_path, json.dumps(memo).encode(), sync=False)
    return str(memo[ident])


def weights_key(spec: str, cache: Path | None = None) -> str | None:
    """What the model's vectors depend on, as a file name (None: weights not on disk)."""
    from photoorg.core.models import onnx_store

    exported, _ = onnx_store.lookup(spec, cache)  # the same key, found without open_clip
    if exported is not None:
        return exported.name
    from photoorg.core.models.embedder import parse_model_spec, weights_file

    parsed = parse_model_spec(spec)
    if parsed.kind == "random":
        ident = (f"random|{parsed.arch}|{parsed.seed}|open_clip {_version('open_clip_torch')}"
                 f"|torch {_version('torch')}")
        return hashlib.sha256(ident.encode()).hexdigest()
    path = weights_file(parsed)
    if path is None:
        return None
    return _file_hash(path, _folder(cache))


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as npz:
        prompts, vectors = npz["prompts"], npz["vectors"]
    return {str(p): np.asarray(v, dtype=np.float32) for p, v in zip(prompts, vectors,
                                                                    strict=True)}


def load(spec: str, prompts: Sequence[str], cache: Path | None = None
         ) -> dict[str, np.ndarray]:
    """The cached vectors among ``prompts`` for this model ({} when none or unreadable)."""
    try:
        key = weights_key(spec, cache)
        if key is None:
            return {}
        have = _read(_folder(cache) / f"{key}.npz")
    except Exception as exc:  # an optimisation only: encode them instead
        log.warning("cannot read the cached prompt vectors of %s: %s", spec, exc)
        return {}
    return {p: have[p] for p in prompts if p in have}


def save(spec: str, vectors: Mapping[str, np.ndarray], cache: Path | None = None) -> None:
    """Add these prompt vectors to the model's cache file."""
    if not vectors:
        return
    try:
        key = weights_key(spec, cache)
        if key is None:
            return
        path = _folder(cache) / f"{key}.npz"
        try:
            merged = _read(path)
        except Exception:  # a damaged file is replaced
            merged = {}
        merged.update({p: np.asarray(v, dtype=np.float32) for p, v in vectors.items()})
        names = list(merged)
        import io

        buffer = io.BytesIO()
        np.savez(buffer, prompts=np.array(names), vectors=np.stack([merged[p] for p in names]))
        write_atomic(path, buffer.getvalue(), sync=False)
    except Exception as exc:
        log.warning("cannot cache the prompt vectors of %s: %s", spec, exc)
