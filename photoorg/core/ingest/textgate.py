"""Where in a photo words could be: the cheap first look of the OCR stage.

Letters are small, sharp, high-contrast marks packed close together; most of a photo (sky,
skin, a blurred background) has few such edges. The photo's draft (512 pixels wide) is
cut into 16-pixel tiles; a tile where enough pixels sit on a strong edge, in any colour
channel (red letters on green leaves have hardly any contrast in grey), is a *candidate*.
Only the candidates, with a tile of margin, go through the text detector
(:func:`photoorg.core.ingest.ocr.likely_has_text`); a photo with no candidate costs this
look alone.

The thresholds are biased toward recall: a false candidate costs a few milliseconds of
detection, a missed one loses the photo's words. ``python benchmarks/ocr.py --json`` measures
both on painted words (small ones included), screenshots, documents and photos without text.
"""

from __future__ import annotations

import numpy as np

GATE_SIDE = 512
"""Longest side of the copy the gate looks at (the detector's own size: smaller copies lose
text 2-3% of the photo's height, and so does a 12 MP JPEG's coarser 1/8 draft, 500x375)."""
TILE = 16
EDGE_LEVEL = 40
"""A pixel is on a strong edge when some channel changes by this much (0-255) from its
right (or lower) neighbour."""
TILE_EDGES = 9
"""A tile is a candidate when it has this many strong edges across *and* as many down (of
256 each). On the exploration sets the emptiest tile holding words that the full OCR reads
had 12 (a large yellow word on a light background; small print had 40 or more): 0.75 of
it, for margin."""
BAND = 4
MIN_CROP = 96
"""Tile rows covered together by one rectangle (fewer, larger detector calls)."""
WHOLE_SHARE = 0.6
"""When candidates cover more than this share of the photo, the detector sees all of it."""
BLOB_LEVEL = 0.3
"""The detector's own per-pixel text threshold (RapidOCR's ``thresh``)."""
BLOB_PIXELS = 4
"""A connected blob this large in the detector's map means text (the detector's box
post-processing keeps nothing smaller than 4x4 pixels either)."""

Box = tuple[int, int, int, int]  # left, top, right, bottom, pixels of the gate's copy


def candidate_regions(rgb: np.ndarray) -> list[Box]:
    """Rectangles of ``rgb`` (H x W x 3, uint8) worth a detector's look: the candidate
    tiles with one tile of context around them, covered band by band (:data:`BAND` tiles
    high) by the runs of columns they occupy. Empty when nothing looks like lettering."""
    import cv2  # opencv-python: installed with the OCR engine

    height, width = rgb.shape[:2]
    rows, cols = -(-height // TILE), -(-width // TILE)
    across = _tile_counts(_strong(cv2.absdiff(rgb[:, 1:], rgb[:, :-1])), rows, cols)
    down = _tile_counts(_strong(cv2.absdiff(rgb[1:], rgb[:-1])), rows, cols)
    # letters have strokes both ways; grass, wood grain, blinds and hair mostly one way
    active = (np.minimum(across, down) >= TILE_EDGES - 0.5).astype(np.uint8)
    if not active.any():
        return []
    grown = cv2.dilate(active, np.ones((3, 3), np.uint8)).astype(bool)
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
            boxes.append(_at_least(x * TILE, y0 * TILE, x1 * TILE, y1 * TILE, width, height))
            x = x1
    return boxes


def _at_least(left: int, top: int, right: int, bottom: int, width: int, height: int) -> Box:
    """The box grown evenly to :data:`MIN_CROP` on each side, within the image: the
    detector misses small print in a crop much smaller than that (measured: a 10-pixel
    word in an 80x80 crop)."""
    def grow(lo: int, hi: int, limit: int) -> tuple[int, int]:
        short = MIN_CROP - (hi - lo)
        if short > 0:
            lo, hi = lo - short // 2, hi + short - short // 2
        lo, hi = max(0, lo), min(limit, hi)
        return lo, hi

    left, right = grow(left, right, width)
    top, bottom = grow(top, bottom, height)
    return left, top, right, bottom


def _strong(diff: np.ndarray) -> np.ndarray:
    """1 where some channel of a neighbour difference reaches :data:`EDGE_LEVEL`."""
    import cv2

    red, green, blue = cv2.split(diff)
    _, strong = cv2.threshold(cv2.max(cv2.max(red, green), blue), EDGE_LEVEL - 1, 1,
                              cv2.THRESH_BINARY)
    return strong


def _tile_counts(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Pixels set in each TILE x TILE tile of ``mask`` (zero-padded to ``rows`` x ``cols``)."""
    import cv2

    padded = cv2.copyMakeBorder(mask, 0, rows * TILE - mask.shape[0], 0,
                                cols * TILE - mask.shape[1], cv2.BORDER_CONSTANT, value=0)
    # the mean over each tile (INTER_AREA on an exact multiple), as a count
    means = cv2.resize(padded.astype(np.float32), (cols, rows), interpolation=cv2.INTER_AREA)
    return means * (TILE * TILE)


def covered_share(boxes: list[Box], size: tuple[int, int]) -> float:
    """The share of a ``size`` (width, height) image the boxes add up to (overlaps counted
    twice: what the detector would scan)."""
    area = sum((r - left) * (b - top) for left, top, r, b in boxes)
    return area / max(1, size[0] * size[1])


def has_text_blob(prob: np.ndarray) -> bool:
    """Whether the detector's probability map (H x W) holds a blob of text pixels."""
    import cv2

    mask = (prob > BLOB_LEVEL).astype(np.uint8)
    if int(mask.sum()) < BLOB_PIXELS:
        return False
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return bool(n > 1 and stats[1:, cv2.CC_STAT_AREA].max() >= BLOB_PIXELS)
