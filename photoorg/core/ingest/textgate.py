"""Where in a photo words could be: the cheap first look of the OCR stage.

Letters are small, sharp, high-contrast marks packed close together; most of a photo (sky,
skin, a blurred background) has few such edges. The photo's draft (512 pixels wide) is
cut into 16-pixel tiles; a tile is a *candidate* when enough pixels sit on a strong edge,
in any colour channel (red letters on green leaves have hardly any contrast in grey), and
enough of them on a *stroke*: a line thinner than the tile that stands out from both its
sides (a morphological top-hat or black-hat), looked for in the copy and in its half and
quarter sizes (thick letters of a large sign are thin there). Foliage, rock and water
have edges everywhere but fewer strokes: on real photos without words the detector scans
0.37 of the copy instead of 0.62 (``benchmarks/ocr.py --sets``, ``gate_cost``).
Only the candidates, with a tile of margin, go through the text detector
(:func:`photoorg.core.ingest.ocr.likely_has_text`), and the detector also looks at a small
copy of the whole photo (:data:`WHOLE_LOOK_SIDE`), which finds the letters too large for
any tile (unless the candidates cover most of the copy: the detector sees all of it then);
a photo with no candidate costs the tiles and that look alone. The same session also runs
the full detection of a photo to read (:meth:`photoorg.core.ingest.ocr.TextReader.find_lines`).

The thresholds are biased toward recall: a false candidate costs a few milliseconds of
detection, a missed one loses the photo's words. ``python benchmarks/ocr.py --json`` measures
both on painted words (small ones included), screenshots, documents and photos without text.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from photoorg.core.models import onnx_fold

log = logging.getLogger(__name__)

GATE_SIDE = 512
"""Longest side of the copy the gate looks at (the detector's own size: smaller copies lose
text 2-3% of the photo's height, and so does a 12 MP JPEG's coarser 1/8 draft, 500x375)."""
DRAFT_SIDE = 576
"""A copy smaller than GATE_SIDE (a 12 MP JPEG's 1/8 draft, 500x375, that an embed stage
decodes anyway) is enlarged to this long side (bicubic) before the gate looks: at 375 the
detector misses print 2-3% of the height that it finds in a 512 copy made from the 1/4
draft (3 of 61 texts the full OCR reads on ``benchmarks/ocr.py --sets``; enlarged to 512,
1 of 61; to 576, none)."""
TILE = 16
EDGE_LEVEL = 56
"""A pixel is on a strong edge when some channel changes by this much (0-255) within 3x3."""
TILE_EDGES = 62
"""Strong-edge pixels (of 256) that make a tile a candidate. On sets made like
``benchmarks/ocr_sets.py``'s the emptiest tile holding words that the full OCR reads had 78
(0.8 of it, for margin)."""
STROKE_SIZE = 5
"""Strokes are looked for with a square of this side: lines up to 4 pixels wide."""
STROKES = ((1, 60, 32, TILE_EDGES), (2, 100, 64, TILE_EDGES), (4, 100, 128, TILE_EDGES))
"""(scale divisor, stroke contrast 0-255, stroke pixels per tile counted at full size,
strong-edge pixels per tile): a tile is a candidate when one scale finds that many strokes
where there are that many edges. At 1, print up to about 9% of the photo's height; at 2
and 4, larger letters (whose strokes are thick at 1), asked for more contrast and fuller
tiles, as leaves and rocks make coarse strokes too. The largest letters, whose tiles hold
little but flat colour, are the :data:`WHOLE_LOOK_SIDE` look's."""
WHOLE_LOOK_SIDE = 256
"""Long side of a small copy of the whole photo the detector also looks at, for about 5 ms:
letters from about a tenth of the photo's height up are found there whatever their strokes
(bold letters 10-40% of the height on photos of ``tests/data/faces-dev``: 1 of 112 missed,
against 21 by a gate of edges alone). Not where the candidates cover more than
:data:`WHOLE_SHARE` (the detector sees the whole copy then, and finds those letters there:
the same signs missed). Smaller sides miss more of those signs (224: 6; 192: 6). 0 turns
it off."""
BAND = 4
"""Tile rows covered together by one rectangle (fewer, larger detector calls)."""
WHOLE_SHARE = 0.6
"""When candidates cover more than this share of the photo, the detector sees all of it."""
BLOB_LEVEL = 0.3
"""The detector's own per-pixel text threshold (RapidOCR's ``thresh``)."""
BLOB_PIXELS = 4
"""A connected blob this large in the detector's map means text (the detector's box
post-processing keeps nothing smaller than 4x4 pixels either). Not more: white letters
with an outline at 2.5% of the height leave a blob of 5 pixels in a 512 copy."""

Box = tuple[int, int, int, int]  # left, top, right, bottom, pixels of the gate's copy

ENGINE_MODEL = "ch_PP-OCRv4_det_infer.onnx"
"""PP-OCRv4's text detector (float32), as RapidOCR ships it in its wheel: the read path's
detector and the gate's. An int8 copy (``tools/make_text_gate.py``) was measured and not
adopted: 1.4x faster on this CPU, but it misses small print the float one finds."""


def candidate_regions(rgb: np.ndarray) -> list[Box]:
    """Rectangles of ``rgb`` (H x W x 3, uint8) worth a detector's look: the candidate
    tiles with one tile of context around them, covered band by band (:data:`BAND` tiles
    high) by the runs of columns they occupy. Empty when nothing looks like lettering."""
    import cv2  # opencv-python: installed with the OCR engine

    height, width = rgb.shape[:2]
    rows, cols = -(-height // TILE), -(-width // TILE)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    edges = _channel_max(cv2.morphologyEx(rgb, cv2.MORPH_GRADIENT, kernel)) >= EDGE_LEVEL
    edge_counts = _tile_counts(edges, TILE, rows, cols)
    active = np.zeros((rows, cols), bool)
    for divisor, level, count, edge_count in STROKES:
        tiles = edge_counts >= edge_count - 0.5
        if not tiles.any():
            continue
        copy = rgb if divisor == 1 else cv2.resize(
            rgb, (max(1, width // divisor), max(1, height // divisor)),
            interpolation=cv2.INTER_AREA)
        found = _tile_counts(_strokes(copy) >= level, TILE // divisor, rows, cols)
        active |= tiles & (found * (divisor * divisor) >= count - 0.5)
    if not active.any():
        return []
    grown = cv2.dilate(active.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    boxes: list[Box] = []
    for top in range(0, rows, BAND):
        band = grown[top:top + BAND]
        used_rows = np.flatnonzero(band.any(axis=1))
        if not len(used_rows):
            continue
        # a line of text may straddle two bands: each band's rectangle reaches one tile
        # into its neighbours, so the detector sees whole letters in at least one of them
        y0 = max(0, top + int(used_rows[0]) - 1)
        y1 = min(rows, top + int(used_rows[-1]) + 2)
        used = band.any(axis=0)
        x = 0
        while x < cols:
            if not used[x]:
                x += 1
                continue
            x1 = x
            while x1 < cols and used[x1]:
                x1 += 1
            boxes.append((x * TILE, y0 * TILE, min(width, x1 * TILE), min(height, y1 * TILE)))
            x = x1
    return boxes


def _channel_max(image: np.ndarray) -> np.ndarray:
    # numpy on the channels' views: 0.16 ms on the gate's copy (cv2.split and max: 0.39)
    return np.maximum(np.maximum(image[..., 0], image[..., 1]), image[..., 2])


def _strokes(rgb: np.ndarray) -> np.ndarray:
    """How much each pixel stands out as part of a thin line, brighter or darker than both
    its sides, in its most contrasted channel (0-255)."""
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (STROKE_SIZE, STROKE_SIZE))
    bright = cv2.morphologyEx(rgb, cv2.MORPH_TOPHAT, kernel)
    dark = cv2.morphologyEx(rgb, cv2.MORPH_BLACKHAT, kernel)
    return _channel_max(cv2.max(bright, dark))


def _tile_counts(mask: np.ndarray, tile: int, rows: int, cols: int) -> np.ndarray:
    """Pixels set in each ``tile``-sized square of ``mask`` (bool), as a ``rows`` x ``cols``
    grid (a smaller copy's grid may fall short of the full one's by a tile: left empty)."""
    import cv2

    height, width = mask.shape
    r, c = -(-height // tile), -(-width // tile)
    # each square's sum from the summed-area table's corners
    table = cv2.integral(mask.view(np.uint8))
    ys = np.minimum(np.arange(r + 1) * tile, height)
    xs = np.minimum(np.arange(c + 1) * tile, width)
    corners = table[np.ix_(ys, xs)]
    counts = corners[1:, 1:] - corners[:-1, 1:] - corners[1:, :-1] + corners[:-1, :-1]
    grid = np.zeros((rows, cols), np.float32)
    grid[:min(r, rows), :min(c, cols)] = counts[:rows, :cols]
    return grid


def covered_share(boxes: list[Box], size: tuple[int, int]) -> float:
    """The share of a ``size`` (width, height) image the boxes add up to (overlaps counted
    twice: what the detector would scan)."""
    area = sum((r - left) * (b - top) for left, top, r, b in boxes)
    return area / max(1, size[0] * size[1])


def has_text_blob(prob: np.ndarray, level: float = BLOB_LEVEL) -> bool:
    """Whether the detector's probability map (H x W) holds a blob of text pixels."""
    import cv2

    if float(prob.max()) <= level:  # most crops: nothing near the threshold
        return False
    mask = (prob > level).astype(np.uint8)
    if int(mask.sum()) < BLOB_PIXELS:
        return False
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return bool(n > 1 and stats[1:, cv2.CC_STAT_AREA].max() >= BLOB_PIXELS)


def model_input(rgb: np.ndarray) -> np.ndarray:
    """The detector's input for an RGB image (H x W x 3, uint8, a view will do): BGR,
    RapidOCR's (x / 255 - 0.5) / 0.5, channels first, in one OpenCV pass (a fifth of
    numpy's time on a crop)."""
    import cv2

    return cv2.dnn.blobFromImage(rgb, 2 / 255.0, None, (127.5, 127.5, 127.5), swapRB=True,
                                 crop=False)


def engine_model_file() -> Path:
    """The float32 detector inside the ``rapidocr_onnxruntime`` package (found without
    importing it: its ``__init__`` loads the whole engine's code)."""
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("rapidocr_onnxruntime is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / ENGINE_MODEL


def text_sample(height: int, width: int) -> np.ndarray:
    """What a folded OCR model is checked on against the shipped one: a line of dark print
    on a light plate beside a textured patch, as the models' input (1 x 3 x ``height`` x
    ``width``, BGR scaled to -1..1; on a sample without text a detector answers zero almost
    everywhere, whatever its weights)."""
    from PIL import ImageDraw, ImageFont

    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    draw = ImageDraw.Draw(image)
    size = max(8, height * 5 // 16)
    draw.rectangle((width // 32, height // 4, width * 25 // 32, height * 3 // 4),
                   fill=(235, 232, 220))
    draw.text((width // 16, height // 4 + size // 8), "Gate B12",
              font=ImageFont.load_default(size=size), fill=(20, 20, 30))
    return model_input(np.asarray(image))


_fold_lock = threading.Lock()


@functools.cache
def folded_file(source: Path, height: int, width: int) -> Path:
    """``source`` (one of the OCR engine's models) with its graph folded
    (:mod:`photoorg.core.models.onnx_fold`: the same outputs within float rounding, in
    0.5-0.66 of the time on this CPU: ``benchmarks/onnx_fold.py``), checked on a
    :func:`text_sample` of that size and made once into the app's cache; ``source``
    itself where folding is turned off or fails."""
    if not onnx_fold.folding_enabled():
        return source
    with _fold_lock:  # the gate and the engine's preload may ask at once: fold once
        return onnx_fold.folded_copy(source, [text_sample(height, width)])


def detector_file() -> Path:
    """The detector the gate and the reader run: :func:`engine_model_file`, folded."""
    return folded_file(engine_model_file(), 96, 256)


def rgb_array(image: Image.Image) -> np.ndarray:
    """``image``'s pixels as an H x W x 3 uint8 array (converted to RGB when it is not)."""
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def gate_copy(image: Image.Image) -> np.ndarray:
    """The RGB array the gate looks at: ``image`` with its long side at :data:`GATE_SIDE`,
    or enlarged to :data:`DRAFT_SIDE` when smaller."""
    import cv2

    if max(image.size) > GATE_SIDE:
        image = image.copy()
        image.thumbnail((GATE_SIDE, GATE_SIDE), Image.Resampling.BILINEAR)
    rgb = rgb_array(image)
    if max(image.size) < GATE_SIDE:
        # OpenCV's bicubic: a tenth of Pillow's time here (0.5 ms against 5.8)
        scale = DRAFT_SIDE / max(image.size)
        rgb = cv2.resize(rgb, (round(image.width * scale), round(image.height * scale)),
                         interpolation=cv2.INTER_CUBIC)
    return rgb


class GateDetector:
    """The gate: candidate tiles, then the text detector on them. Its own onnxruntime
    session, one thread per call and no spinning, so one instance serves several threads at
    once (an embed stage's decode threads, the text stage's decode pool) without a lock;
    the OCR engine (recognition) is never loaded for it."""

    def __init__(self, model: Path | None = None, blob_level: float = BLOB_LEVEL) -> None:
        import onnxruntime as ort

        path = Path(model) if model is not None else detector_file()
        if not path.is_file():
            raise FileNotFoundError(f"the text detector {path} is missing")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_mem_pattern = False  # crops change size from call to call
        # the arena kept (its default): the gate 7% faster for about 60 MB while loaded
        options.log_severity_level = 3
        self.blob_level = float(blob_level)
        try:
            self._session = ort.InferenceSession(str(path), options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:
            if model is not None or path == engine_model_file():
                raise
            # a folded copy that onnxruntime cannot open: the shipped file, said once
            log.warning("%s cannot be loaded (%s); the shipped detector is used", path, exc)
            path = engine_model_file()
            self._session = ort.InferenceSession(str(path), options,
                                                 providers=["CPUExecutionProvider"])
        self.model = path
        self._input = self._session.get_inputs()[0].name

    def decide(self, image: Image.Image) -> str:
        """The gate's decision on ``image`` (RGB, any size; looked at with its long side at
        :data:`GATE_SIDE`, or :data:`DRAFT_SIDE` when smaller): "no_candidates", "no_text"
        or "read"."""
        import cv2

        rgb = gate_copy(image)
        boxes = candidate_regions(rgb)
        whole_copy = bool(boxes) and covered_share(
            boxes, (rgb.shape[1], rgb.shape[0])) > WHOLE_SHARE
        # the small look finds letters too large for any tile; where the detector sees the
        # whole copy anyway it finds them there (large and bold signs: the same found)
        if WHOLE_LOOK_SIDE and not whole_copy:
            scale = WHOLE_LOOK_SIDE / max(rgb.shape[:2])
            small = cv2.resize(rgb, (max(1, round(rgb.shape[1] * scale)),
                                     max(1, round(rgb.shape[0] * scale))),
                               interpolation=cv2.INTER_AREA)
            if has_text_blob(self.probability(small), self.blob_level):
                return "read"
        if not boxes:
            return "no_candidates"
        crops = [rgb] if whole_copy else [rgb[top:bottom, left:right]
                                          for left, top, right, bottom in boxes]
        for crop in crops:
            if has_text_blob(self.probability(crop), self.blob_level):
                return "read"
        return "no_text"

    def probability(self, rgb: np.ndarray) -> np.ndarray:
        """The detector's per-pixel text probability for an RGB image (H x W x 3, uint8; a
        view into a larger one will do), padded by reflection to the network's multiple
        of 32."""
        import cv2

        height, width = rgb.shape[:2]
        pad_h, pad_w = -height % 32, -width % 32
        if pad_h or pad_w:
            rgb = cv2.copyMakeBorder(rgb, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT)
        prob: Any = self._session.run(None, {self._input: model_input(rgb)})[0]
        return prob[0, 0, :height, :width]


_shared: dict[Path | None, GateDetector] = {}
_shared_lock = threading.Lock()


def release_shared() -> bool:
    """Forget the shared detectors (loaded again when next asked for); whether any was."""
    with _shared_lock:
        held = bool(_shared)
        _shared.clear()
    return held


def shared_detector(model: Path | None = None) -> GateDetector:
    """One :class:`GateDetector` per model file for the whole process (loaded once)."""
    with _shared_lock:
        if model not in _shared:
            _shared[model] = GateDetector(model)
        return _shared[model]
