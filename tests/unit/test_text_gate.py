"""The OCR stage's gate (issue 26): photos without words stop after a cheap look, small
real text is still read, a broken photo still fails with its reason. Real OCR models
(RapidOCR's, in its wheel), real photos (``tests/data/faces-dev``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from photoorg.core.ingest import ocr, textgate
from photoorg.core.ingest.scanner import scan_library
from photoorg.core.media.imaging import load_rgb
from photoorg.core.store import failures
from photoorg.core.store.catalog import Catalog

FACES = Path(__file__).resolve().parents[1] / "data" / "faces-dev"
TINY = "photoorg-tiny/bundled"


def _photo(src: str) -> Image.Image:
    """A real photo as a 4.3 MP camera-like picture."""
    with Image.open(FACES / src) as im:
        return ImageOps.fit(im.convert("RGB"), (2400, 1800))


def _small_sign(word: str, src: str, height: float = 0.025) -> Image.Image:
    """``word`` on a small sign: letters 2.5% of the photo's height (45 of 1800 pixels,
    about 10 in the detector's 512-pixel copy)."""
    im = _photo(src)
    size = int(im.height * height)
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(im)
    box = draw.textbbox((0, 0), word, font=font)
    x, y, pad = 1500, 1500, size // 3
    draw.rectangle((x - pad, y - pad, x + box[2] - box[0] + pad, y + box[3] - box[1] + 2 * pad),
                   fill=(240, 238, 228))
    draw.text((x - box[0], y - box[1]), word, font=font, fill=(20, 20, 25))
    return im


def _large_sign(word: str, src: str, height: float) -> Image.Image:
    """A shop front: bold white letters ``height`` of the photo's height on a green plate.
    Their strokes are thicker than the gate's stroke test sees, even at half size."""
    from benchmarks.ocr_sets import bold_sign

    return bold_sign(_photo(src), word, height)


@pytest.fixture(scope="module")
def reader() -> ocr.TextReader:
    return ocr.TextReader(threads=1)


@pytest.fixture(autouse=True)
def _read_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ocr.ENV_READ_TEXT, "1")  # tests/conftest.py turns it off


def _indexed(cat: Catalog, folder: Path) -> None:
    """``folder`` scanned, its photos past the embed stage (the text stage reads those)."""
    cat.add_root(folder)
    scan_library(cat)
    cat.execute("UPDATE photos SET status = 'indexed'")


def test_small_text_is_read_by_photoorg_index(tmp_path: Path) -> None:
    photos, data = tmp_path / "photos", tmp_path / "data"
    photos.mkdir()
    _small_sign("PHARMACY", "obama/obama.jpg").save(photos / "street.jpg", quality=92)
    _photo("biden/biden2.jpg").save(photos / "portrait.jpg", quality=92)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", ocr.ENV_READ_TEXT: "1"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "photoorg", "--data-dir", str(data), *args],
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc

    index = json.loads(cli("index", str(photos), "--model", TINY, "--no-faces", "--json").stdout)
    assert index["stages"]["text"]["photos"] == 2
    hits = json.loads(cli("search", "pharmacy", "--json").stdout)
    assert hits and Path(hits[0]["path"]).name == "street.jpg"
    assert "text" in hits[0]["matched"]
    with Catalog(data / "catalog.sqlite") as cat:
        read = dict(cat.query("SELECT p.rel_path, t.status || ':' || t.text FROM photo_text t "
                              "JOIN photos p ON p.id = t.photo_id"))
    assert read == {"street.jpg": "done:PHARMACY", "portrait.jpg": "done:"}


def test_a_photo_without_text_skips_the_full_ocr(tmp_path: Path, reader: ocr.TextReader
                                                 ) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    for i, src in enumerate(["biden/biden2.jpg", "obama/obama.jpg", "rose_leslie/img1.jpg"]):
        _photo(src).save(folder / f"plain_{i}.jpg", quality=92)
    Image.new("RGB", (1600, 1200), (90, 140, 200)).save(folder / "sky.jpg")
    _small_sign("Boulangerie", "obama/obama.jpg").save(folder / "shop.jpg", quality=92)
    calls: list[tuple[int, int]] = []
    engine = reader._load()
    real_det = engine.text_det

    class Spy:  # the full detection, counted: its boxes are made once per detection (the
        # gate's own look uses the network alone, and never makes boxes)
        def __getattr__(self, name: str) -> object:
            return getattr(real_det, name)

        def postprocess_op(self, pred: np.ndarray, shape: tuple[int, int]) -> object:
            calls.append(shape)
            return real_det.postprocess_op(pred, shape)

    reader.counts.clear()
    engine.text_det = Spy()
    try:
        with Catalog(tmp_path / "c.sqlite") as cat:
            _indexed(cat, folder)
            assert ocr.text_stage(cat, reader=reader) == 5
            read = dict(cat.query("SELECT p.rel_path, t.text FROM photo_text t "
                                  "JOIN photos p ON p.id = t.photo_id"))
    finally:
        engine.text_det = real_det
    assert read["shop.jpg"] == "Boulangerie"
    assert {name: text for name, text in read.items() if name != "shop.jpg"} == {
        "plain_0.jpg": "", "plain_1.jpg": "", "plain_2.jpg": "", "sky.jpg": ""}
    # the gate's record: one photo read in full, four stopped before the full OCR (the
    # flat sky without even a detector pass), and the full detector ran once
    assert reader.counts["read"] == 1
    assert reader.counts["no_candidates"] >= 1
    assert reader.counts["no_candidates"] + reader.counts["no_text"] == 4
    assert len(calls) == 1

    # the same decision as a pure function on a decoded photo (a fused decode's caller)
    assert not ocr.likely_has_text(load_rgb(folder / "plain_0.jpg", 1024), reader)
    assert ocr.likely_has_text(load_rgb(folder / "shop.jpg", 1024), reader)


def test_the_pools_detection_finds_the_boxes_rapidocr_finds(reader: ocr.TextReader) -> None:
    """find_lines (the gate's session, in the text stage's decode threads) against
    RapidOCR's own detector call on the same copies: the same boxes."""
    engine = reader._load()
    det = engine.text_det
    # the input find_lines makes is RapidOCR's normalisation: (x / 255 - 0.5) / 0.5
    assert list(det.mean) == [0.5] * 3 and list(det.std) == [0.5] * 3
    copies = [_small_sign("Boulangerie", "obama/obama.jpg", 0.04),
              _large_sign("EXIT", "biden/biden2.jpg", 0.15), _photo("obama/obama.jpg")]
    copies.append(copies[0].resize((2400, 1600)))  # 3:2, a side not a multiple of 32
    found = 0
    for im in copies:
        im.thumbnail((ocr.DETECT_SIDE, ocr.DETECT_SIDE))
        theirs, _ = det(np.ascontiguousarray(np.asarray(im)[:, :, ::-1]))
        ours = reader.find_lines(im)
        assert len(ours) == (0 if theirs is None else len(theirs))
        if len(ours):
            np.testing.assert_allclose(ours, theirs, atol=1.0)
            found += 1
    assert found == 3


def test_the_gate_finds_candidates_only_where_lettering_is() -> None:
    flat = np.full((384, 512, 3), 120, np.uint8)
    assert textgate.candidate_regions(flat) == []
    sign = Image.fromarray(flat)
    ImageDraw.Draw(sign).text((300, 300), "EXIT", font=ImageFont.load_default(size=12),
                              fill=(255, 40, 40))
    boxes = textgate.candidate_regions(np.asarray(sign))
    assert boxes and all(left <= 300 < right and top <= 305 < bottom
                         for left, top, right, bottom in boxes)
    assert textgate.covered_share(boxes, sign.size) < 0.1


def test_a_broken_photo_still_fails_with_its_reason(tmp_path: Path, reader: ocr.TextReader
                                                    ) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    _photo("biden/biden2.jpg").save(folder / "good.jpg", quality=92)
    good = (folder / "good.jpg").read_bytes()
    (folder / "cut.jpg").write_bytes(good[: len(good) // 3])  # a truncated copy
    (folder / "noise.jpg").write_bytes(b"not a jpeg at all" * 100)
    with Catalog(tmp_path / "c.sqlite") as cat:
        _indexed(cat, folder)
        assert ocr.text_stage(cat, reader=reader) == 3
        rows = {name: (status, detail) for name, status, detail in cat.query(
            "SELECT p.rel_path, t.status, t.detail FROM photo_text t "
            "JOIN photos p ON p.id = t.photo_id")}
        causes = failures.causes(cat)
    assert rows["good.jpg"][0] == "done"
    for name in ("cut.jpg", "noise.jpg"):
        status, detail = rows[name]
        assert status == "failed" and detail, (name, detail)
    # recorded for the failures report, each with its reason, retried on a later run
    assert sum(c.count for c in causes if c.stage == "text") == 2
    assert all(c.reason.startswith("reading text failed (") for c in causes)


def _painted(word: str, src: str, height: float, style: int) -> Image.Image:
    """``word`` painted as ``benchmarks/ocr_sets.py`` paints them (its styles, seeded)."""
    import random

    from benchmarks.ocr_sets import paint_styled

    im = _photo(src)
    paint_styled(im, word, height, style, style, random.Random(height))
    return im


@pytest.fixture(scope="module")
def gate_photos() -> dict[str, Image.Image]:
    photos = {f"plain:{src}": _photo(src) for src in (
        "biden/biden2.jpg", "obama/obama.jpg", "rose_leslie/img1.jpg",
        "kit_harington/john1.jpeg", "alex_lacamoire/img1.jpg")}
    photos["small:PHARMACY"] = _small_sign("PHARMACY", "obama/obama.jpg")
    for style, (word, src) in enumerate([("Welcome", "biden/biden2.jpg"),
                                         ("Bus Stop", "rose_leslie/img1.jpg")]):
        photos[f"word:{word}"] = _painted(word, src, 0.06, style)
        photos[f"small:{word}"] = _painted(word, src, 0.025, style)
    for word, src, height in (("EXIT", "kit_harington/john1.jpeg", 0.25),
                              ("OPEN", "biden/biden2.jpg", 0.3)):
        photos[f"large:{word}"] = _large_sign(word, src, height)
    # the detection copy the text stage and an embed stage's draft give the gate
    for image in photos.values():
        image.thumbnail((ocr.DETECT_SIDE, ocr.DETECT_SIDE), Image.Resampling.BILINEAR)
    return photos


def test_the_gate_says_yes_on_painted_and_small_words_and_no_on_plain_photos(
        gate_photos: dict[str, Image.Image]) -> None:
    gate = textgate.GateDetector()  # its own session of the engine's detector file
    assert gate.model == textgate.detector_file()
    for name, image in gate_photos.items():
        assert (gate.decide(image) == "read") == (not name.startswith("plain")), name


def test_large_bold_letters_are_found_by_the_look_at_the_whole_photo(
        gate_photos: dict[str, Image.Image], monkeypatch: pytest.MonkeyPatch) -> None:
    gate = textgate.GateDetector()
    large = {name: image for name, image in gate_photos.items() if name.startswith("large")}
    assert large and all(gate.decide(image) == "read" for image in large.values())
    monkeypatch.setattr(textgate, "WHOLE_LOOK_SIDE", 0)  # the tiles alone miss them
    assert all(gate.decide(image) != "read" for image in large.values())


def test_the_gate_serves_two_threads_at_once_without_the_readers_lock(
        gate_photos: dict[str, Image.Image]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    reader = ocr.TextReader(threads=1)
    images = list(gate_photos.values()) * 2
    alone = [reader.likely_has_text(image) for image in images]
    assert alone.count(True) == 2 * sum(not n.startswith("plain") for n in gate_photos)
    with reader._lock, ThreadPoolExecutor(2) as pool:  # reading holds it: the gate must not wait
        together = list(pool.map(lambda im: ocr.likely_has_text(im, reader), images,
                                 timeout=120))
    assert together == alone
    assert reader._engine is None  # the recognition engine was never loaded


def test_likely_has_text_loads_the_detector_only(tmp_path: Path) -> None:
    _small_sign("PHARMACY", "obama/obama.jpg").save(tmp_path / "sign.jpg", quality=92)
    code = ("import sys\n"
            "from photoorg.core.ingest import ocr\n"
            "from photoorg.core.media.imaging import load_rgb\n"
            f"print(ocr.likely_has_text(load_rgb({str(tmp_path / 'sign.jpg')!r}, 512)),\n"
            "      'rapidocr_onnxruntime' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False"]


def test_the_text_stage_reads_the_same_with_its_gate_on_two_threads(
        tmp_path: Path, reader: ocr.TextReader) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    for i, src in enumerate(["biden/biden2.jpg", "obama/obama.jpg", "rose_leslie/img1.jpg"]):
        _photo(src).save(folder / f"plain_{i}.jpg", quality=92)
    _small_sign("PHARMACY", "rose_leslie/img1.jpg").save(folder / "sign.jpg", quality=92)
    read = {}
    for workers in (1, 2):
        reader.counts.clear()
        with Catalog(tmp_path / f"c{workers}.sqlite") as cat:
            _indexed(cat, folder)
            assert ocr.text_stage(cat, reader=reader, decode_workers=workers) == 4
            read[workers] = dict(cat.query("SELECT p.rel_path, t.text FROM photo_text t "
                                           "JOIN photos p ON p.id = t.photo_id"))
        assert reader.counts["read"] == 1 and sum(reader.counts.values()) == 4
    assert read[1] == read[2]
    assert read[2]["sign.jpg"] == "PHARMACY"


def test_the_gate_on_a_12_mp_jpegs_cheap_draft_answers_as_on_its_512_copy(
        tmp_path: Path) -> None:
    """An embed stage hands likely_has_text the 1/8 draft it decoded (500x375); the text
    stage gates the same draft. Small print must pass there as on the 512 copy (white
    letters with an outline at 2.5% of the height: at 375 pixels the detector misses them,
    enlarged to textgate.DRAFT_SIDE it does not)."""
    import random

    from benchmarks.ocr_sets import paint_styled

    gate = textgate.GateDetector()
    for name, src, word in [("poster", "obama/obama.jpg", "Welcome"),
                            ("plain", "biden/biden2.jpg", None)]:
        with Image.open(FACES / src) as im:
            photo = ImageOps.fit(im.convert("RGB"), (4000, 3000))
        if word:
            paint_styled(photo, word, 0.025, 1, 0, random.Random(7))
        photo.save(tmp_path / f"{name}.jpg", quality=92)
        draft = load_rgb(tmp_path / f"{name}.jpg", ocr.DETECT_SIDE, slack=ocr.DETECT_SLACK)
        assert draft.size == (500, 375)  # the 1/8 DCT draft, not resampled
        copy = load_rgb(tmp_path / f"{name}.jpg", ocr.DETECT_SIDE)
        expected = "read" if word else gate.decide(copy)
        assert gate.decide(copy) == gate.decide(draft) == expected, name
        assert ocr.likely_has_text(draft) == bool(word), name
