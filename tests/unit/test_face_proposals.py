"""Face proposals in front of HOG: CenterFace says where a face may be, HOG scans only
there, and the faces kept are the ones a scan of the whole photo keeps."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoorg.core.media.boxes import iou
from photoorg.core.people import proposals as face_proposals
from photoorg.core.people.faces import FaceAnalyzer
from photoorg.core.people.proposals import FaceProposer

REPO = Path(__file__).resolve().parents[2]
FACES_DEV = REPO / "tests" / "data" / "faces-dev"  # MIT, see its LICENSE file


@pytest.fixture(scope="module")
def heads():
    spec = importlib.util.spec_from_file_location(
        "people_photos", REPO / "benchmarks" / "people_photos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("people_photos", module)
    spec.loader.exec_module(module)
    return module, module.cut_heads(FACES_DEV)


@pytest.fixture(scope="module")
def analyzers() -> tuple[FaceAnalyzer, FaceAnalyzer]:
    proposed = FaceAnalyzer()
    assert proposed.proposer is not None, "resources/models/centerface-int8.onnx did not load"
    return proposed, FaceAnalyzer(proposals=False)


def test_every_face_the_full_scan_finds_is_proposed(analyzers) -> None:
    proposed, full = analyzers
    assert proposed.proposer is not None
    photos = sorted(FACES_DEV.glob("*/*.jpg"))
    assert photos
    for path in photos:
        image = full.analysis_image(path)
        proposals = proposed.proposer.propose(image)
        for face in full.detect(image):
            x, y, w, h = face.box
            cx, cy = x + w / 2, y + h / 2
            assert any(p.box[0] <= cx <= p.box[0] + p.box[2] and
                       p.box[1] <= cy <= p.box[1] + p.box[3] for p in proposals), path


def test_a_photo_without_faces_gets_no_proposal_and_no_face(tmp_path: Path, analyzers) -> None:
    proposed, _ = analyzers
    ramp = np.linspace(40, 220, 2000, dtype=np.float32)
    sky = np.stack([ramp * 0.6, ramp * 0.8, ramp], axis=-1)
    image = Image.fromarray(np.broadcast_to(sky, (1500, 2000, 3)).astype(np.uint8))
    image.save(tmp_path / "sky.jpg", quality=90)
    assert proposed.proposer is not None
    calls = proposed.proposer.calls
    assert proposed.proposer.propose(image) == []
    assert proposed.analyze(tmp_path / "sky.jpg") == []
    assert proposed.proposer.calls == calls + 2


def test_small_and_large_faces_are_the_ones_the_full_scan_keeps(heads, analyzers) -> None:
    """Faces near HOG's smallest size (~80 px) at odd offsets, and big ones, in a 2000 px
    photo: the same faces, in the same places, with descriptors of the same person."""
    module, cut = heads
    proposed, full = analyzers
    rng = np.random.default_rng(7)
    total = 0
    for i in range(4):
        canvas = Image.new("RGB", (2000, 1500), (88, 110, 84))
        sizes = [82, 95, 120, 420] if i % 2 else [88, 105, 300]
        for k, size in enumerate(sizes):
            head = cut[(i * 3 + k) % len(cut)]
            at = (0.12 + 0.25 * k + float(rng.uniform(-0.01, 0.01)),
                  0.35 + float(rng.uniform(-0.05, 0.05)))
            module.paste_head(canvas, head, size, at)
        want = full.detect(canvas)
        got = proposed.detect(canvas)
        assert len(got) == len(want), i
        total += len(want)
        for face in want:
            match = max(got, key=lambda g, f=face: iou(f.box, g.box))
            assert iou(face.box, match.box) > 0.5
            assert float(np.linalg.norm(face.descriptor - match.descriptor)) < 0.25
    assert total >= 12  # the canvases hold 14 faces; HOG itself may miss the very smallest


def test_without_the_proposal_model_the_whole_photo_is_scanned(
        heads, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        tmp_path: Path) -> None:
    module, cut = heads
    monkeypatch.setattr(face_proposals, "model_file", lambda: tmp_path / "missing.onnx")
    with caplog.at_level(logging.WARNING, logger="photoorg.core.people.faces"):
        analyzer = FaceAnalyzer()
    assert analyzer.proposer is None
    assert "scanning whole photos" in caplog.text
    canvas = Image.new("RGB", (1600, 1200), (90, 120, 90))
    module.paste_head(canvas, cut[0], 200, (0.5, 0.45))
    assert len(analyzer.detect(canvas)) == 1


def test_proposer_decodes_boxes_and_suppresses_overlaps() -> None:
    """The heat map's peaks become boxes in image fractions; overlapping ones merge."""
    heat = np.zeros((32, 32), dtype=np.float32)
    heat[10, 20], heat[10, 21], heat[25, 5] = 0.9, 0.5, 0.3
    sizes = np.full((2, 32, 32), np.log(24 / 4), dtype=np.float32)  # 24 px boxes
    offsets = np.zeros((2, 32, 32), dtype=np.float32)
    found = face_proposals._decode(heat, sizes, offsets, 128, 128, threshold=0.2)
    assert [round(p.score, 1) for p in found] == [0.9, 0.3]
    x, y, w, h = found[0].box
    assert (round(x * 128), round(y * 128), round(w * 128), round(h * 128)) == (70, 30, 24, 24)
    assert FaceProposer().propose(Image.new("L", (300, 200), 128)) == []  # any mode, any size
