"""Exact rewrites of a convolutional ONNX graph that onnxruntime does not make itself.

PaddleOCR's models, exported by paddle2onnx, spell every activation out: PP-LCNetV3's
"learnable affine" blocks are a ``Mul`` and an ``Add`` by scalars after each convolution
and each activation, and hard-swish is ``Add 3 -> Clip 0..6 -> Mul -> Div 6``. onnxruntime
fuses none of these into its convolutions, so on this CPU half of PP-OCRv4's detector time
went to element-wise passes over the feature maps and to layout reorders around them.

:func:`fold` rewrites them, each step exact in real arithmetic:

- ``Conv -> Mul(s) -> Add(c)``: ``s`` and ``c`` go into the convolution's weights and bias;
- hard-swish: ``x * HardSigmoid(x)`` (``alpha`` 1/6, ``beta`` 0.5), two nodes for four;
- ``Mul(s) -> Add(c) -> Conv``: ``s`` goes into the convolution's weights; ``c`` into its
  bias when no consumer pads (a padded border sees zeros, not ``c``), else an ``Add`` of
  ``c / s`` stays.

:func:`folded_copy` writes the folded model to the app's cache once per source file and
uses it only when its outputs equal the original's on test inputs (float rounding apart).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FOLD_VERSION = 1
"""Part of a folded copy's name: a change to the rewrites makes new copies."""
DROPPED = "__dropped_by_fold__"
TOLERANCE = 1e-3
"""Largest difference allowed between the folded and the original outputs (float rounding
gives about 2e-5 on PP-OCRv4's detector maps, which lie in 0..1)."""


def fold(model: Any) -> dict[str, int]:
    """Rewrite ``model`` (an ``onnx.ModelProto``) in place; returns how many of each
    rewrite were made."""
    graph = _Graph(model)
    counts = {
        "conv_affine": graph.fold_conv_affine(),
        "hardswish": graph.fold_hardswish(),
        "affine_conv": graph.fold_affine_conv(),
    }
    graph.finish()
    return counts


class _Graph:
    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper

        self.model = model
        self.graph = model.graph
        self._to_array = numpy_helper.to_array
        self._from_array = numpy_helper.from_array
        self.values: dict[str, np.ndarray] = {
            i.name: numpy_helper.to_array(i) for i in self.graph.initializer}
        for node in self.graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self.values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        self.outputs = {o.name for o in self.graph.output}
        self.new_initializers: list[Any] = []
        self._refresh()

    def _refresh(self) -> None:
        self.consumers: dict[str, list[Any]] = {}
        for node in self.graph.node:
            if node.op_type == DROPPED:
                continue
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    def _only_consumer(self, name: str, op_type: str) -> Any:
        users = self.consumers.get(name, [])
        if len(users) == 1 and users[0].op_type == op_type and name not in self.outputs:
            return users[0]
        return None

    def _scalar(self, node: Any) -> tuple[float | None, str | None]:
        """(the scalar constant, the other input) of a two-input node with one of them."""
        if len(node.input) != 2:
            return None, None
        first, second = (self.values.get(n) for n in node.input)
        # rank 0 or 1 only: a (1, 1, 1, 1, 1) constant would also change the output's rank
        if first is not None and first.size == 1 and first.ndim <= 1 and second is None:
            return float(first.ravel()[0]), node.input[1]
        if second is not None and second.size == 1 and second.ndim <= 1 and first is None:
            return float(second.ravel()[0]), node.input[0]
        return None, None

    def _constant(self, node: Any, index: int) -> float | None:
        if len(node.input) <= index:
            return None
        value = self.values.get(node.input[index])
        return float(value.ravel()[0]) if value is not None and value.size == 1 else None

    def _add_initializer(self, hint: str, array: np.ndarray) -> str:
        name = f"{hint}__fold{len(self.new_initializers)}"
        self.new_initializers.append(self._from_array(array.astype(np.float32), name))
        self.values[name] = array.astype(np.float32)
        return name

    def _rename(self, old: str, new: str) -> None:
        for user in self.consumers.get(old, []):
            for k, name in enumerate(user.input):
                if name == old:
                    user.input[k] = new
        self.consumers.setdefault(new, []).extend(self.consumers.pop(old, []))

    @staticmethod
    def _drop(*nodes: Any) -> None:
        # marked on the node itself: protobuf's Python wrappers of a repeated field's items
        # are not kept, so their id() can be reused by another item's
        for node in nodes:
            node.op_type = DROPPED

    @staticmethod
    def _padded(conv: Any) -> bool:
        for attribute in conv.attribute:
            if attribute.name == "pads" and any(attribute.ints):
                return True
            if attribute.name == "auto_pad" and attribute.s not in (b"", b"NOTSET", b"VALID"):
                return True
        return False

    def _conv_arrays(self, conv: Any) -> tuple[np.ndarray, np.ndarray] | None:
        weights = self.values.get(conv.input[1]) if len(conv.input) > 1 else None
        if weights is None or weights.ndim != 4:
            return None
        bias = (self.values.get(conv.input[2]) if len(conv.input) > 2
                else np.zeros(weights.shape[0], np.float32))
        if bias is None:
            return None
        return weights.astype(np.float64), bias.astype(np.float64)

    def _set_conv(self, conv: Any, weights: np.ndarray, bias: np.ndarray | None) -> None:
        conv.input[1] = self._add_initializer(conv.input[1], weights)
        if bias is not None:
            name = self._add_initializer(conv.input[1], bias)
            if len(conv.input) > 2:
                conv.input[2] = name
            else:
                conv.input.append(name)

    def fold_conv_affine(self) -> int:
        done = 0
        for conv in list(self.graph.node):
            if conv.op_type != "Conv":
                continue
            mul = self._only_consumer(conv.output[0], "Mul")
            scale = self._scalar(mul)[0] if mul is not None else None
            add = self._only_consumer(mul.output[0], "Add") if scale is not None else None
            shift = self._scalar(add)[0] if add is not None else None
            arrays = self._conv_arrays(conv) if shift is not None else None
            if arrays is None or add.output[0] in self.outputs:
                continue
            weights, bias = arrays
            self._set_conv(conv, weights * scale, bias * scale + shift)
            self._drop(mul, add)
            self._rename(add.output[0], conv.output[0])
            done += 1
        self._refresh()
        return done

    def fold_hardswish(self) -> int:
        from onnx import helper

        done = 0
        for add in list(self.graph.node):
            if add.op_type != "Add":
                continue
            three, x = self._scalar(add)
            if three != 3.0:
                continue
            clip = self._only_consumer(add.output[0], "Clip")
            if clip is None or (self._constant(clip, 1), self._constant(clip, 2)) != (0.0, 6.0):
                continue
            mul = self._only_consumer(clip.output[0], "Mul")
            if mul is None or x not in mul.input:
                continue
            div = self._only_consumer(mul.output[0], "Div")
            if div is None or div.input[0] != mul.output[0] or self._constant(div, 1) != 6.0:
                continue
            gate = f"{div.output[0]}__hardsigmoid"
            add.CopyFrom(helper.make_node("HardSigmoid", [x], [gate], alpha=1 / 6, beta=0.5,
                                          name=f"{div.output[0]}__hs"))
            clip.CopyFrom(helper.make_node("Mul", [x, gate], [div.output[0]],
                                           name=f"{div.output[0]}__mul"))
            self._drop(mul, div)
            done += 1
        self._refresh()
        return done

    def fold_affine_conv(self) -> int:
        done = 0
        for mul in list(self.graph.node):
            if mul.op_type != "Mul":
                continue
            scale, x = self._scalar(mul)
            if not scale:
                continue
            add = self._only_consumer(mul.output[0], "Add")
            shift = self._scalar(add)[0] if add is not None else None
            if shift is None or add.output[0] in self.outputs:
                continue
            convs = self.consumers.get(add.output[0], [])
            if not convs or any(c.op_type != "Conv" or c.input[0] != add.output[0]
                                for c in convs):
                continue
            arrays = [self._conv_arrays(c) for c in convs]
            if any(a is None for a in arrays):
                continue
            unpadded = not any(self._padded(c) for c in convs)
            with np.errstate(over="ignore"):
                if not unpadded and not np.isfinite(np.float32(shift / scale)):
                    continue  # a tiny scale: the shift before the conv would overflow
            for conv, (weights, bias) in zip(convs, arrays, strict=True):
                # a grouped convolution's output channel sums its own group's inputs only:
                # still the sum of its weights times the scalar shift
                self._set_conv(conv, weights * scale,
                               bias + shift * weights.sum(axis=(1, 2, 3)) if unpadded else None)
            if unpadded:
                for conv in convs:
                    conv.input[0] = x
                self._drop(mul, add)
            else:
                add.input[0] = x
                add.input[1] = self._add_initializer(add.output[0],
                                                     np.array(shift / scale, np.float64))
                self._drop(mul)
            done += 1
        self._refresh()
        return done

    def finish(self) -> None:
        """Drop the rewritten nodes, then whatever no longer feeds an output."""
        nodes = [n for n in self.graph.node if n.op_type != DROPPED]
        needed = set(self.outputs)
        kept: list[Any] = []
        for node in reversed(nodes):
            if any(o in needed for o in node.output):
                kept.append(node)
                needed.update(node.input)
        kept.reverse()
        del self.graph.node[:]
        self.graph.node.extend(kept)
        initializers = [i for i in list(self.graph.initializer) + self.new_initializers
                        if i.name in needed]
        del self.graph.initializer[:]
        self.graph.initializer.extend(initializers)


def folded_copy(source: Path, samples: Sequence[np.ndarray],
                cache: Path | None = None) -> Path:
    """``source`` folded (:func:`fold`), from the app's cache or made there now; ``source``
    itself when the fold changes nothing, fails, or its outputs differ from the original's
    on ``samples`` (inputs that make the model answer: a detector's sample holds text) by
    more than :data:`TOLERANCE` (the reason is logged). The verdict is kept beside the copy
    (with the copy's size: a damaged copy is made again), so each is decided once."""
    from photoorg.core.models.cache_files import write_atomic

    source = Path(source)
    try:
        stat = source.stat()
        folder = _folder(cache)
        target = folder / f"{source.stem}-{stat.st_size}-{stat.st_mtime_ns}-v{FOLD_VERSION}.onnx"
        note = target.with_suffix(".json")
        verdict = _read_verdict(note)
        if verdict is not None:
            if not verdict.get("use"):
                return source
            if target.is_file() and target.stat().st_size == verdict.get("size"):
                return target
        try:
            use, why = _make(source, target, samples)
        except ImportError:
            raise  # onnx is not here (a trimmed install): nothing to remember
        except Exception as exc:  # a graph the rewrites or the checks trip on: said once
            use, why = False, f"folding failed: {type(exc).__name__}: {exc}"
        size = target.stat().st_size if use else None
        write_atomic(note, json.dumps({"use": use, "why": why, "size": size}).encode(),
                     sync=False)
        if not use:
            log.info("%s: used as it is (%s)", source.name, why)
            return source
        _forget_older(folder, source.stem, keep={target.name, note.name})
        return target
    except Exception as exc:  # a cache that cannot be written costs speed, never the model
        log.warning("%s: used as it is (folding failed: %s: %s)", source.name,
                    type(exc).__name__, exc)
        return source


def _read_verdict(note: Path) -> dict[str, Any] | None:
    """The verdict kept in ``note``; None when there is none or it cannot be read (made
    again)."""
    try:
        verdict = json.loads(note.read_text())
    except (OSError, ValueError):
        return None
    return verdict if isinstance(verdict, dict) else None


def _forget_older(folder: Path, stem: str, keep: set[str]) -> None:
    """Remove the copies of earlier versions of the same model (an upgraded engine, an
    older fold), about 5-10 MB each."""
    for old in folder.glob(f"{stem}-*"):
        if old.name not in keep and old.suffix in (".onnx", ".json"):
            with contextlib.suppress(OSError):
                old.unlink()


def _folder(cache: Path | None) -> Path:
    if cache is None:
        from photoorg.core.models.onnx_store import root

        return root(None) / "folded"
    return Path(cache)


def _make(source: Path, target: Path, samples: Sequence[np.ndarray]) -> tuple[bool, str]:
    import onnx
    import onnxruntime as ort

    from photoorg.core.models.cache_files import write_atomic

    model = onnx.load(str(source))
    counts = fold(model)
    if not any(counts.values()):
        return False, "nothing to fold"
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    original = ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    folded = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    name = original.get_inputs()[0].name
    worst = 0.0
    for x in samples:
        for p, q in zip(original.run(None, {name: x}), folded.run(None, {name: x}),
                        strict=True):
            # NaN or inf anywhere, or another shape, is a difference (max() would skip NaN)
            if p.shape != q.shape or not np.all(np.isfinite(q)):
                return False, "folded outputs differ (shape, or not finite)"
            worst = max(worst, float(np.max(np.abs(p - q))))
    if not worst <= TOLERANCE:
        return False, f"folded outputs differ by {worst:.2g}"
    write_atomic(target, data)
    log.info("%s folded (%s; outputs within %.1g)", source.name,
             ", ".join(f"{k} {v}" for k, v in counts.items()), worst)
    return True, f"within {worst:.2g}"


def folding_enabled() -> bool:
    """``PHOTOORG_FOLD=0`` uses models as shipped (to compare, or to rule the rewrite out)."""
    return os.environ.get("PHOTOORG_FOLD", "1") != "0"
