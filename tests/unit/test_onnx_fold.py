"""The exact graph rewrites of photoorg.core.models.onnx_fold: on small graphs of each
shape they rewrite, on PP-OCRv4's detector as RapidOCR ships it, and the cached copy that
is used only when it answers as the original does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

from photoorg.core.ingest import textgate
from photoorg.core.media.imaging import load_rgb
from photoorg.core.models import onnx_fold

FACES = Path(__file__).resolve().parents[1] / "data" / "faces-dev"


def _run(model: onnx.ModelProto | Path, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model.SerializeToString()
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _lcnet_block(pad_second: bool, group: int) -> onnx.ModelProto:
    """paddle2onnx's spelling of a PP-LCNetV3 step: conv, affine, hard-swish, affine, conv
    (padded 3x3, grouped, or 1x1), and a second consumer of the last affine."""
    rng = np.random.default_rng(3)
    inits = [
        numpy_helper.from_array(rng.normal(size=(8, 3, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(size=8).astype(np.float32), "b1"),
        numpy_helper.from_array(
            rng.normal(size=(8, 8 // group, 3 if pad_second else 1, 3 if pad_second else 1))
            .astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(size=8).astype(np.float32), "b2"),
    ]
    for name, value in (("s1", 0.9), ("c1", 0.4), ("three", 3.0), ("zero", 0.0),
                        ("six", 6.0), ("s2", 1.7), ("c2", -0.6)):
        inits.append(numpy_helper.from_array(np.array(value, np.float32), name))
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["s1", "a"], ["a1"]),
        helper.make_node("Add", ["a1", "c1"], ["a2"]),
        helper.make_node("Add", ["a2", "three"], ["h1"]),
        helper.make_node("Clip", ["h1", "zero", "six"], ["h2"]),
        helper.make_node("Mul", ["a2", "h2"], ["h3"]),
        helper.make_node("Div", ["h3", "six"], ["h4"]),
        helper.make_node("Mul", ["s2", "h4"], ["e1"]),
        helper.make_node("Add", ["e1", "c2"], ["e2"]),
        helper.make_node("Conv", ["e2", "w2", "b2"], ["y"], group=group,
                         pads=[1, 1, 1, 1] if pad_second else [0, 0, 0, 0]),
    ]
    graph = helper.make_graph(
        nodes, "block", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT,
                                                       [1, 3, 20, 24])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 8, 20, 24])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])


@pytest.mark.parametrize(("pad_second", "group"), [(False, 1), (True, 1), (True, 8),
                                                   (False, 2)])
def test_each_rewrite_gives_the_same_outputs(pad_second: bool, group: int) -> None:
    model = _lcnet_block(pad_second, group)
    x = np.random.default_rng(1).uniform(-2, 2, (1, 3, 20, 24)).astype(np.float32)
    before = _run(model, x)
    counts = onnx_fold.fold(model)
    onnx.checker.check_model(model)
    assert counts == {"conv_affine": 1, "hardswish": 1, "affine_conv": 1}
    ops = [n.op_type for n in model.graph.node]
    assert "Div" not in ops and "Clip" not in ops
    # a padded border sees zeros, not the shift: an Add stays before a padded convolution
    assert ops.count("Add") == (1 if pad_second else 0)
    np.testing.assert_allclose(_run(model, x), before, atol=1e-4, rtol=1e-5)


def test_the_shipped_detector_folds_to_the_same_maps_on_a_photo(tmp_path: Path) -> None:
    source = textgate.engine_model_file()
    assert _run(source, textgate.text_sample(96, 256)).max() > 0.9  # the check sample has text
    folded = onnx_fold.folded_copy(source, [textgate.text_sample(96, 256)], cache=tmp_path)
    assert folded != source and folded.parent == tmp_path
    assert json.loads(folded.with_suffix(".json").read_text())["use"] is True
    assert len(onnx.load(str(folded)).graph.node) < len(onnx.load(str(source)).graph.node)
    rgb = np.asarray(load_rgb(FACES / "obama" / "obama.jpg", 320))[:256, :320]
    x = np.ascontiguousarray(
        (rgb[:, :, ::-1].astype(np.float32) * (2 / 255) - 1).transpose(2, 0, 1)[None])
    np.testing.assert_allclose(_run(folded, x), _run(source, x), atol=1e-3)
    # made once: the next caller takes the file as it is
    stamp = folded.stat().st_mtime_ns
    assert onnx_fold.folded_copy(source, [textgate.text_sample(96, 256)], cache=tmp_path) == folded
    assert folded.stat().st_mtime_ns == stamp


def test_a_fold_that_changes_the_answers_is_not_used(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    source = textgate.engine_model_file()
    real_fold = onnx_fold.fold

    def wrong(model: onnx.ModelProto) -> dict[str, int]:
        counts = real_fold(model)
        weights = next(i for i in model.graph.initializer if "__fold" in i.name)
        weights.CopyFrom(numpy_helper.from_array(
            numpy_helper.to_array(weights) * 1.5, weights.name))
        return counts

    monkeypatch.setattr(onnx_fold, "fold", wrong)
    assert onnx_fold.folded_copy(source, [textgate.text_sample(96, 256)], cache=tmp_path) == source
    note = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert note["use"] is False and "differ" in note["why"]
    assert not list(tmp_path.glob("*.onnx"))
    # said once: not folded and checked again on every start
    monkeypatch.setattr(onnx_fold, "_make", lambda *a: pytest.fail("made again"))
    assert onnx_fold.folded_copy(source, [textgate.text_sample(96, 256)], cache=tmp_path) == source


def test_folding_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOORG_FOLD", "0")
    textgate.folded_file.cache_clear()
    try:
        assert textgate.detector_file() == textgate.engine_model_file()
    finally:
        textgate.folded_file.cache_clear()


def test_the_reading_engine_runs_the_three_models_folded() -> None:
    from photoorg.core.ingest import ocr

    models = ocr._engine_models()
    assert set(models) == {"det_model_path", "rec_model_path", "cls_model_path"}
    for path in models.values():
        assert Path(path).parent.name == "folded" and Path(path).is_file(), path


def test_a_shift_that_would_overflow_is_not_folded() -> None:
    """Mul(1e-39) -> Add(1) before a padded conv: c / s is not a float32; left as it is."""
    model = _lcnet_block(pad_second=True, group=1)
    for init in model.graph.initializer:
        if init.name == "s2":
            init.CopyFrom(numpy_helper.from_array(np.array(1e-39, np.float32), "s2"))
    x = np.random.default_rng(2).uniform(-2, 2, (1, 3, 20, 24)).astype(np.float32)
    before = _run(model, x)
    assert onnx_fold.fold(model)["affine_conv"] == 0
    np.testing.assert_allclose(_run(model, x), before, atol=1e-4, rtol=1e-5)


def test_a_constant_of_higher_rank_is_not_taken_for_a_scalar() -> None:
    model = _lcnet_block(pad_second=False, group=1)
    for init in model.graph.initializer:
        if init.name == "c2":  # (1, 1, 1, 1, 1): the Add makes the output rank 5
            init.CopyFrom(numpy_helper.from_array(np.full((1, 1, 1, 1, 1), -0.6, np.float32),
                                                  "c2"))
    assert onnx_fold.fold(model)["affine_conv"] == 0


def test_a_damaged_copy_or_verdict_is_made_again(tmp_path: Path) -> None:
    source = textgate.engine_model_file()
    sample = [textgate.text_sample(96, 256)]
    older = tmp_path / f"{source.stem}-1-2-v0.onnx"  # an earlier engine's copy
    older.write_bytes(b"old")
    folded = onnx_fold.folded_copy(source, sample, cache=tmp_path)
    assert folded != source and not older.exists()
    good = folded.read_bytes()
    folded.write_bytes(good[:1000])  # cut short: its size no longer matches the verdict
    assert onnx_fold.folded_copy(source, sample, cache=tmp_path) == folded
    assert folded.read_bytes() == good
    folded.with_suffix(".json").write_text('{"use": tr')  # half a verdict
    assert onnx_fold.folded_copy(source, sample, cache=tmp_path) == folded
    assert json.loads(folded.with_suffix(".json").read_text())["use"] is True


def test_a_fold_that_fails_is_said_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = textgate.engine_model_file()

    def broken(model: onnx.ModelProto) -> dict[str, int]:
        raise RuntimeError("a graph the rewrites trip on")

    monkeypatch.setattr(onnx_fold, "fold", broken)
    sample = [textgate.text_sample(96, 256)]
    assert onnx_fold.folded_copy(source, sample, cache=tmp_path) == source
    note = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert note["use"] is False and "trip on" in note["why"]
    monkeypatch.setattr(onnx_fold, "_make", lambda *a: pytest.fail("tried again"))
    assert onnx_fold.folded_copy(source, sample, cache=tmp_path) == source
