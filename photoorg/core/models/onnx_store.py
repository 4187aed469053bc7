"""Where exported ONNX towers live: ``<cache>/onnx/<key>/`` and the spec index
``<cache>/onnx/specs.json`` (spec -> key, with what the key was computed from, so a
process finds its export without importing open_clip or hashing the weights again).

An entry is trusted while its weights file has the same size and modification time (for
random weights: while open_clip and torch have the versions that made them)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from photoorg.core.models.cache_files import write_atomic

FOLDER = "onnx"
MANIFEST = "manifest.json"
SPECS = "specs.json"


def root(cache: Path | None) -> Path:
    """``<cache>/onnx``; ``PHOTOORG_ONNX_CACHE`` names another folder (tests share one
    export per model across a run)."""
    if os.environ.get("PHOTOORG_ONNX_CACHE"):
        return Path(os.environ["PHOTOORG_ONNX_CACHE"])
    if cache is None:
        from photoorg.config import cache_dir

        cache = cache_dir()
    return Path(cache) / FOLDER


def manifest(folder: Path) -> dict[str, Any] | None:
    """The export's manifest when it is complete (both towers and the manifest there)."""
    try:
        info = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    # an export from before the weights went beside the graph is made again (issue 26)
    if not all((folder / f"{tower}.onnx{ext}").is_file() for tower in ("visual", "text")
               for ext in ("", ".data")):
        return None
    return info if isinstance(info, dict) else None


def entry_for(key: str, spec: Any, weights: Path | None, versions: dict[str, str]
              ) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": key}
    if spec.kind == "random" or weights is None:
        entry["versions"] = versions
    else:
        st = weights.stat()
        entry.update(weights=str(weights), size=st.st_size, mtime_ns=st.st_mtime_ns)
    return entry


def _read_specs(where: Path) -> dict[str, Any]:
    try:
        specs = json.loads((where / SPECS).read_text())
    except (OSError, ValueError):
        return {}
    return specs if isinstance(specs, dict) else {}


def remember(where: Path, names: Iterable[str], entry: dict[str, Any]) -> None:
    specs = _read_specs(where)
    for name in names:
        specs[name] = entry
    write_atomic(where / SPECS, json.dumps(specs, indent=1).encode())


def _current_versions(dists: Iterable[str]) -> dict[str, str]:
    out = {}
    for dist in dists:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "?"
    return out


def lookup(spec: str, cache: Path | None) -> tuple[Path | None, str]:
    """The export folder of ``spec`` when it is there and still valid: ``(folder, "")``,
    else ``(None, why)``."""
    where = root(cache)
    entry = _read_specs(where).get(spec)
    if not isinstance(entry, dict) or "key" not in entry:
        return None, "not exported yet"
    if "weights" in entry:
        try:
            st = Path(entry["weights"]).stat()
        except OSError:
            return None, "its weights file is gone"
        if (st.st_size, st.st_mtime_ns) != (entry.get("size"), entry.get("mtime_ns")):
            return None, "its weights file changed"
    else:
        versions = entry.get("versions") or {}
        if _current_versions(versions) != versions:
            return None, "open_clip or torch changed version"
    folder = where / str(entry["key"])
    if manifest(folder) is None:
        return None, "the export is incomplete"
    return folder, ""
