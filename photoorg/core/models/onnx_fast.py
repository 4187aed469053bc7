"""A tower's ONNX graph as onnxruntime leaves it after optimising, saved once beside the
export so that later sessions load it without optimising again.

``<tower>.fast.onnx`` holds the optimised graph and ``<tower>.fast.data`` its weights
(external data, which onnxruntime maps from the file instead of parsing a 250 MB
protobuf), ``<tower>.fast.json`` last: the onnxruntime version that made them. For
ViT-B-32 on the 2-core box, creating the text session took 0.93-1.06 s from ``text.onnx``
and 0.14 s from the fast form (files in the page cache, load about 1.9), with the same
vectors bit for bit; a process's peak memory fell from about 400 to 210 MB.

Saved at ``ORT_ENABLE_EXTENDED`` (the level whose result does not depend on the CPU: the
``ALL`` level adds layout changes for this machine's instruction set). An export made
before this form existed, or by another onnxruntime version, is made fast on its first
load (:func:`session`); when the folder cannot be written the plain graph is used and the
reason logged.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT = 1
# the towers loaded from their optimised form: the text tower, which a command-line search
# loads for one query (the image tower keeps onnxruntime's CPU-specific layout changes)
TOWERS = ("text",)


def _paths(folder: Path, tower: str) -> tuple[Path, Path, Path]:
    return (folder / f"{tower}.fast.onnx", folder / f"{tower}.fast.data",
            folder / f"{tower}.fast.json")


def _stamp() -> dict[str, Any]:
    import onnxruntime as ort

    return {"format": FORMAT, "onnxruntime": ort.__version__}


def ready(folder: Path, tower: str) -> bool:
    """Whether the fast form of ``tower`` is there and made by this onnxruntime."""
    model, data, marker = _paths(folder, tower)
    try:
        stamp = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return stamp == _stamp() and model.is_file() and data.is_file()


def _options(threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return opts


def make(folder: Path, tower: str, threads: int = 1) -> Any:
    """Optimise ``<tower>.onnx`` and save the fast form (atomically: files in a temporary
    folder beside it, moved in, the marker last); the session made on the way."""
    import onnxruntime as ort

    model, data, marker = _paths(folder, tower)
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{tower}.fast-"))
    try:
        opts = _options(threads)
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        opts.optimized_model_filepath = str(tmp / model.name)
        opts.add_session_config_entry(
            "session.optimized_model_external_initializers_file_name", data.name)
        opts.add_session_config_entry(
            "session.optimized_model_external_initializers_min_size_in_bytes", "1024")
        made = ort.InferenceSession(str(folder / f"{tower}.onnx"), opts,
                                    providers=["CPUExecutionProvider"])
        os.replace(tmp / data.name, data)
        os.replace(tmp / model.name, model)
        from photoorg.core.models.cache_files import write_atomic

        write_atomic(marker, json.dumps(_stamp()).encode())
        return made
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def session(folder: Path, tower: str, threads: int) -> Any:
    """An onnxruntime session of ``tower``: from the fast form, made first when missing;
    from the plain graph when it cannot be made (logged)."""
    import onnxruntime as ort

    model = _paths(folder, tower)[0]
    if ready(folder, tower):
        opts = _options(threads)
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001  (a damaged file: fall back, say why)
            log.warning("the optimised %s tower in %s does not load (%s); using the plain "
                        "graph", tower, folder, exc)
    else:
        try:
            made = make(folder, tower, threads)
        except OSError as exc:
            log.warning("cannot save the optimised %s tower in %s (%s); optimising at "
                        "each load", tower, folder, exc)
        else:
            return made
    return ort.InferenceSession(str(folder / f"{tower}.onnx"), _options(threads),
                                providers=["CPUExecutionProvider"])
