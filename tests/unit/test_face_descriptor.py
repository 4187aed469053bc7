"""The torch port of dlib's face descriptor network (photoorg.core.people.descriptor)."""

from __future__ import annotations

import importlib.util
import logging
import struct
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from photoorg.core.media.imaging import load_rgb
from photoorg.core.people import descriptor as fd
from photoorg.core.people.faces import DESCRIPTOR_MODEL, FaceAnalyzer, model_path

REPO = Path(__file__).resolve().parents[2]
FACES_DEV = REPO / "tests" / "data" / "faces-dev"  # MIT, see its LICENSE file
TOLERANCE = 1e-3  # per component; descriptors are matched at an L2 distance of 0.6


def _bench():
    """benchmarks/face_descriptor.py: its chip collection (faces-dev photos and pasted faces)."""
    spec = importlib.util.spec_from_file_location(
        "face_descriptor_bench", REPO / "benchmarks" / "face_descriptor.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("face_descriptor_bench", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def port() -> fd.TorchFaceDescriptor:
    return fd.TorchFaceDescriptor(model_path(DESCRIPTOR_MODEL))


@pytest.fixture(scope="module")
def chips_and_dlib():
    """Real chips (faces-dev photos, then faces pasted 50-150 px tall into a scene) and
    dlib's own descriptors of them."""
    import dlib

    analyzer = FaceAnalyzer(proposals=False, torch_descriptors=False)
    chips, pasted = _bench().collect_chips(FACES_DEV, analyzer)
    encoder = dlib.face_recognition_model_v1(str(model_path(DESCRIPTOR_MODEL)))
    want = np.asarray([np.asarray(v) for v in encoder.compute_face_descriptor(chips, 0)])
    return chips, pasted, want


# -- dlib's serialization format -----------------------------------------------------------


def test_the_reader_decodes_dlib_ints_strings_floats_and_tensors() -> None:
    data = (
        b"\x01\x05"  # 5
        + b"\x81\x05"  # -5
        + b"\x02\x2c\x01"  # 300 (two little-endian bytes)
        + b"\x01\x00"  # 0
        + b"\x01\x03abc"  # "abc"
        + b"\x01\x03\x81\x02"  # float 3 * 2**-2
        + b"\x81\x03\x01\x01"  # float -3 * 2**1
        + b"\x01\x00\x02\x00\x7d"  # float inf (float_details' exponent 32000)
        + b"10"  # bools
        # a version-2 tensor (1, 2, 1, 1): raw little-endian float32
        + b"\x01\x02\x01\x01\x01\x02\x01\x01\x01\x01" + struct.pack("<2f", 1.5, -2.25)
        # a version-1 tensor (1, 1, 1, 2): dlib-encoded floats
        + b"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x02" + b"\x01\x01\x01\x00" + b"\x01\x05\x81\x01"
    )
    r = fd.DlibReader(data)
    assert [r.int(), r.int(), r.int(), r.int()] == [5, -5, 300, 0]
    assert r.string() == "abc"
    assert [r.float(), r.float(), r.float()] == [0.75, -6.0, float("inf")]
    assert (r.bool(), r.bool()) == (True, False)
    t2 = r.tensor()
    assert t2.shape == (1, 2, 1, 1) and t2.dtype == np.float32
    assert t2.ravel().tolist() == [1.5, -2.25]
    assert r.tensor().ravel().tolist() == [1.0, 2.5]
    assert r.at_end()


def test_the_reader_refuses_truncated_or_malformed_input() -> None:
    with pytest.raises(fd.DlibFormatError, match="truncated"):
        fd.DlibReader(b"\x02\x01").int()
    with pytest.raises(fd.DlibFormatError, match="truncated"):
        fd.DlibReader(b"\x01\x02\x01\x01\x01\x02\x01\x01\x01\x01\x00\x00").tensor()
    with pytest.raises(fd.DlibFormatError, match="control byte"):
        fd.DlibReader(b"\x0f").int()
    with pytest.raises(fd.DlibFormatError, match="bool"):
        fd.DlibReader(b"x").bool()


def test_the_model_file_parses_into_dlibs_resnet() -> None:
    net = fd.load_dlib_network(model_path(DESCRIPTOR_MODEL))
    kinds = [layer.kind for layer in net.layers]
    assert kinds.count("con") == 29 and kinds.count("add_prev") == 14
    assert net.layers[-1].kind == "fc" and net.layers[-1].weight.shape == (256, 128)
    assert net.avg_rgb == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)


# -- same descriptors as dlib -------------------------------------------------------------


def test_the_port_gives_dlibs_descriptors_on_real_and_pasted_faces(
        port: fd.TorchFaceDescriptor, chips_and_dlib) -> None:
    chips, pasted, want = chips_and_dlib
    assert len(chips) >= 20 and pasted >= 9  # every faces-dev face, and small pasted ones
    got = port(chips)
    assert got.shape == (len(chips), 128) and got.dtype == np.float32
    assert np.abs(got - want).max() < TOLERANCE
    # one at a time as well as batched
    single = np.concatenate([port([c]) for c in chips[-3:]])
    assert np.abs(single - want[-3:]).max() < TOLERANCE
    # without oneDNN (torch builds that lack it): torch's own convolution, same result
    generic = fd.TorchFaceDescriptor(model_path(DESCRIPTOR_MODEL))
    generic._mkldnn = False
    assert np.abs(generic(chips[:4]) - want[:4]).max() < TOLERANCE


def test_the_port_is_safe_from_threads_and_leaves_torch_threads_alone(
        port: fd.TorchFaceDescriptor, chips_and_dlib) -> None:
    import torch

    chips, _, want = chips_and_dlib
    threads_before = torch.get_num_threads()
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = np.concatenate([port(chips[j:j + 3]) for j in range(i, len(chips), 6)])

    workers = [threading.Thread(target=work, args=(i,)) for i in (0, 3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for i in (0, 3):
        expected = np.concatenate([want[j:j + 3] for j in range(i, len(chips), 6)])
        assert np.abs(results[i] - expected).max() < TOLERANCE
    assert torch.get_num_threads() == threads_before


def test_the_face_analyzer_uses_the_port_with_dlibs_results() -> None:
    photo = load_rgb(FACES_DEV / "obama" / "obama.jpg", max_side=2048)
    fast = FaceAnalyzer(proposals=False)
    slow = FaceAnalyzer(proposals=False, torch_descriptors=False)
    assert fast.descriptor is not None and slow.descriptor is None
    got, want = fast.detect(photo), slow.detect(photo)
    assert len(got) == len(want) >= 1
    for a, b in zip(got, want, strict=True):
        assert a.box == b.box
        assert a.descriptor.dtype == np.float32 and a.descriptor.shape == (128,)
        assert np.abs(a.descriptor - b.descriptor).max() < TOLERANCE


# -- a broken model file: dlib, with a warning --------------------------------------------


def test_a_truncated_or_corrupt_model_file_falls_back_to_dlib_with_one_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = model_path(DESCRIPTOR_MODEL).read_bytes()
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(data[: len(data) // 2])
    corrupt = tmp_path / "corrupt.dat"
    at = data.index(b"affine_")
    corrupt.write_bytes(data[:at] + b"afFine_" + data[at + 7:])
    with pytest.raises(fd.DlibFormatError):
        fd.load_dlib_network(truncated)
    with pytest.raises(fd.DlibFormatError, match="unknown layer"):
        fd.load_dlib_network(corrupt)
    with caplog.at_level(logging.WARNING, logger="photoorg.core.people.descriptor"):
        assert fd.load_torch_descriptor(truncated) is None
        assert fd.load_torch_descriptor(corrupt) is None
        assert fd.load_torch_descriptor(truncated) is None  # warned once per file
    warnings = [r for r in caplog.records if "descriptors by dlib" in r.getMessage()]
    assert len(warnings) == 2


# -- the onnxruntime network (no torch) ----------------------------------------------------

ORT_TOLERANCE = 1e-4  # per component, against the torch port


@pytest.fixture(scope="module")
def ort_port():
    from photoorg.core.people import descriptor_onnx

    return descriptor_onnx.OnnxFaceDescriptor(model_path(DESCRIPTOR_MODEL))


def test_onnxruntime_gives_the_torch_ports_and_dlibs_descriptors(
        ort_port, port: fd.TorchFaceDescriptor, chips_and_dlib) -> None:
    chips, pasted, want = chips_and_dlib
    got = ort_port(chips)
    assert got.shape == (len(chips), 128) and got.dtype == np.float32
    assert np.abs(got - port(chips)).max() < ORT_TOLERANCE
    assert np.abs(got - want).max() < TOLERANCE
    single = np.concatenate([ort_port([c]) for c in chips[-3:]])
    assert np.abs(single - got[-3:]).max() < ORT_TOLERANCE
    assert ort_port([]).shape == (0, 128)
    with pytest.raises(ValueError, match="150x150"):
        ort_port([np.zeros((100, 100, 3), dtype=np.uint8)])


def test_onnxruntime_descriptor_is_safe_from_threads(ort_port, chips_and_dlib) -> None:
    chips, _, _ = chips_and_dlib
    want = ort_port(chips)
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = np.concatenate([ort_port([chips[j]]) for j in range(i, len(chips), 2)])

    workers = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for i in (0, 1):
        assert np.abs(results[i] - want[i::2]).max() < ORT_TOLERANCE


def test_the_face_analyzer_describes_with_onnxruntime() -> None:
    from photoorg.core.people.descriptor_onnx import OnnxFaceDescriptor

    assert isinstance(FaceAnalyzer(proposals=False).descriptor, OnnxFaceDescriptor)


def test_a_corrupt_model_file_falls_back_saying_why(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from photoorg.core.people import descriptor_onnx

    data = model_path(DESCRIPTOR_MODEL).read_bytes()
    corrupt = tmp_path / "corrupt.dat"
    at = data.index(b"affine_")
    corrupt.write_bytes(data[:at] + b"afFine_" + data[at + 7:])
    with caplog.at_level(logging.WARNING, logger="photoorg.core.people"):
        assert descriptor_onnx.load_fast_descriptor(corrupt) is None
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "not by onnxruntime" in text and "unknown layer" in text
    assert "torch port instead" in text and "descriptors by dlib" in text


def test_the_torch_port_is_the_fallback_when_onnxruntime_fails(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from photoorg.core.people import descriptor_onnx

    def broken(path):  # type: ignore[no-untyped-def]
        raise RuntimeError("no onnxruntime here")

    monkeypatch.setattr(descriptor_onnx, "OnnxFaceDescriptor", broken)
    monkeypatch.setattr(descriptor_onnx, "_unusable", set())
    with caplog.at_level(logging.WARNING, logger="photoorg.core.people"):
        found = descriptor_onnx.load_fast_descriptor(model_path(DESCRIPTOR_MODEL))
    assert isinstance(found, fd.TorchFaceDescriptor)
    assert "no onnxruntime here" in caplog.text and "torch port instead" in caplog.text


def test_cli_index_with_faces_and_text_never_imports_torch(tmp_path: Path) -> None:
    """The default ``photoorg index`` (faces on, OCR on) as a process, on a library with a
    faces-dev face: the face is found and described, and torch is never imported (the CLIP
    export, made in a child process, already exists on the second library's index)."""
    import json
    import os
    import shutil
    import subprocess

    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(FACES_DEV / "obama" / "obama.jpg", photos / "obama.jpg")
    env = dict(os.environ, PYTHONPATH=str(REPO), PHOTOORG_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("PHOTOORG_RUNTIME", None)
    env.pop("PHOTOORG_READ_TEXT", None)  # the default: OCR on
    probe = ("import runpy, sys, json\n"
             "sys.argv = ['photoorg'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('photoorg', run_name='__main__')\n"
             "except SystemExit as e:\n    code = e.code\n"
             "print(json.dumps({'torch': 'torch' in sys.modules}), file=sys.stderr)\n")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                              text=True, env=env, cwd=REPO, timeout=600, check=False)

    for data in ("first", "second"):  # the first may export the CLIP towers
        done = run("--data-dir", str(tmp_path / data), "index", str(photos),
                   "--model", "photoorg-tiny/bundled", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stderr.strip().splitlines()[-1]) == {"torch": False}
        report = next(json.loads(line) for line in done.stdout.splitlines()
                      if line.startswith('{"stages"'))
        assert report["faces_photos"] == 1 and report["stages"]["text"]["photos"] == 1, report
    faces = run("--data-dir", str(tmp_path / "second"), "faces", "--unnamed", "--json")
    assert faces.returncode == 0, faces.stderr
    found = [f for group in json.loads(faces.stdout) for f in group["faces"]]
    assert [Path(f["photo"]).name for f in found] == ["obama.jpg"]


def test_the_hand_written_onnx_model_is_valid_onnx_without_importing_onnx() -> None:
    """The packaged app leaves the ``onnx`` package out: the model is built without it,
    and ``onnx`` itself (a development tool) reads and checks what was written."""
    import subprocess

    code = ("import sys\n"
            "from photoorg.core.people import descriptor_onnx as do\n"
            "from photoorg.core.people.faces import DESCRIPTOR_MODEL, model_path\n"
            "do.OnnxFaceDescriptor(model_path(DESCRIPTOR_MODEL))\n"
            "print(sorted(m for m in ('onnx', 'torch') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=300, check=True)
    assert done.stdout.strip() == "[]"
    import onnx

    from photoorg.core.people import descriptor_onnx

    data = descriptor_onnx.build_model_bytes(fd.load_dlib_network(model_path(DESCRIPTOR_MODEL)))
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["chips"]
    assert [o.name for o in model.graph.output] == ["descriptors"]
    assert sum(n.op_type == "Conv" for n in model.graph.node) == 29
