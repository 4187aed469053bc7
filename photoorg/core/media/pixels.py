"""The pixel check that decides duplicates (Qt-free, no model): two photos are copies only
when their pixels say so, whatever a CLIP cosine says.

Each photo keeps a small signature, made from the image the embed stage has already decoded
(EXIF orientation applied): a 64 x 64 greyscale of the whole picture (squashed to a square;
the aspect ratio is kept beside it) and a 64-bit perceptual hash (DCT of 32 x 32, the 8 x 8
lowest frequencies against their median). Comparing two signatures:

- **exact copy**: same picture up to resizing, recompression, a format change or a rotation
  (the four quarter turns are tried): the greyscales agree in structure (correlation of
  their gradients) *and* in level (mean absolute difference);
- **edited copy**: the structure agrees but the levels moved (brightness, contrast, a filter),
  or one is a crop of the other (searched over scale and position, coarse then fine);
- otherwise, nothing: two different photos of the same beach or whiteboard differ in their
  gradients even when CLIP puts them at 0.99.

Featureless pictures (almost uniform) are never called copies: there is nothing to compare.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

VERSION = 1
SIDE = 64
COLOUR_SIDE = 16
# the shortest side of the decode a signature is made from (the indexer decodes at least
# this much): from the tiny model's 64 px decode, 9 of 72 exact copies looked edited
MIN_SIDE = 160
EXACT = "exact"
EDITED = "edited"

# thresholds measured on real photos and their copies (benchmarks/duplicates_quality.py)
_ASPECT_TOL = 0.04  # |log(aspect a / aspect b)| for "same framing"
_GRAD_EXACT = 0.90  # gradient correlation of an exact copy (resize/recompress: >= 0.95)
_LEVEL_EXACT = 6.0  # mean |grey a - grey b| (0-255) of an exact copy
_BLOCK_EXACT = 12.0  # ... and in each 8 x 8 block (true copies: <= 8.1; a moved hand: more)
_GRAD_EDITED = 0.85  # same framing, levels moved (brightness, contrast, filters)
_INT_EDITED = 0.95  # ... and the greyscales themselves still correlate
# a crop: intensity and gradient correlation at the best placement (32 x 32). Measured: true
# 80% crops 0.95-0.997 / 0.87-0.99 (most >= 0.98 / 0.91); two views of a cloudy sky panned
# 10% (different photos) 0.97 / 0.88: both must hold
_CROP_INT = 0.975
_CROP_GRAD = 0.90
_CROP_CHROMA = 0.03  # mean |chromaticity difference| of a crop and its place in the original
_FLAT = 3.0  # grey standard deviation under which a picture is featureless
PHASH_PROPOSE = 12  # hash distance (bits of 64) under which a pair is worth a pixel check


@dataclass(frozen=True)
class Signature:
    grey: np.ndarray  # (SIDE, SIDE) uint8
    aspect: float  # width / height after orientation
    phash: int  # unsigned 64-bit
    colour: np.ndarray  # (16, 16, 3) uint8: what a crop's colours are checked against

    def to_row(self) -> tuple[bytes, float, int, bytes]:
        """``(grey bytes, aspect, phash as signed int64, colour bytes)`` for the catalog
        (photoorg.core.store.pixel_signatures)."""
        return self.grey.tobytes(), self.aspect, _signed(self.phash), self.colour.tobytes()

    @functools.cached_property
    def levels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The greyscale as float at 64, 32, 16 and 8 px (computed once per photo)."""
        g64 = self.grey.astype(np.float32)
        g32 = _half(g64)
        g16 = _half(g32)
        return g64, g32, g16, _half(g16)

    @functools.cached_property
    def _coarse(self) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        return {}

    def coarse(self, ratio: float) -> tuple[np.ndarray, np.ndarray]:
        """The crop search's first step as the bigger picture: the placements of a crop of
        aspect ``aspect / ratio`` and each one's 8 x 8 samples, normalised (made once per
        photo and aspect ratio, then each candidate pair costs a product)."""
        key = round(ratio, 3)
        found = self._coarse.get(key)
        if found is None:
            boxes = _boxes(_FRACTIONS, key, _COARSE_STEPS)
            rows = _sample(self.levels[2], boxes, 8).reshape(len(boxes), 64)
            rows = rows - rows.mean(axis=1, keepdims=True)
            rows /= np.linalg.norm(rows, axis=1, keepdims=True) + 1e-9
            found = self._coarse[key] = (boxes, rows)
        return found

    @functools.cached_property
    def flat(self) -> bool:
        """Almost uniform: nothing to compare, never called a copy."""
        return bool(self.levels[0].std() < _FLAT)

    @functools.cached_property
    def structure(self) -> np.ndarray:
        """Its normalised gradients (what "same picture" is judged on)."""
        return _z(_grad(self.levels[0]))

    @classmethod
    def from_row(cls, grey: bytes, aspect: float, phash: int, colour: bytes) -> Signature:
        return cls(np.frombuffer(grey, np.uint8).reshape(SIDE, SIDE), float(aspect),
                   phash & 0xFFFF_FFFF_FFFF_FFFF,
                   np.frombuffer(colour, np.uint8).reshape(COLOUR_SIDE, COLOUR_SIDE, 3))


@dataclass(frozen=True)
class Match:
    kind: str  # EXACT or EDITED
    score: float  # the structural correlation that decided (0-1)
    how: str  # "same", "rotated 90", "brightness or colours changed", "cropped to 64%" ...


def _signed(h: int) -> int:
    return h - (1 << 64) if h >= 1 << 63 else h


def signature(image: Image.Image) -> Signature:
    """The signature of an oriented image (any mode, any size). Costs well under 1 ms for
    the embed stage's ~224 px decode (benchmarks/duplicates.py ``signature_ms``)."""
    w, h = image.size
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    small = rgb.resize((SIDE, SIDE), Image.Resampling.BOX)
    grey = np.asarray(small.convert("L"), dtype=np.uint8)
    colour = np.asarray(small.reduce(SIDE // COLOUR_SIDE), dtype=np.uint8)
    return Signature(grey.copy(), w / max(1, h), phash(grey), colour.copy())


def phash(grey: np.ndarray) -> int:
    """64-bit perceptual hash of a 64 x 64 greyscale (pHash: the DCT's 8 x 8 lowest
    frequencies but the first, each against their median)."""
    g = grey.astype(np.float32).reshape(32, 2, 32, 2).mean(axis=(1, 3))
    low = (_DCT8 @ g @ _DCT8.T).ravel()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view(">u8")[0])


def _dct_rows(n: int, k: int) -> np.ndarray:
    """The first ``k`` rows of the orthonormal DCT-II matrix of size ``n``."""
    i = np.arange(n)
    rows = np.cos(np.pi * (2 * i[None, :] + 1) * np.arange(k)[:, None] / (2 * n)) * math.sqrt(2 / n)
    rows[0] /= math.sqrt(2)
    return rows.astype(np.float32)


_DCT8 = _dct_rows(32, 8)


def hash_distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def _z(x: np.ndarray) -> np.ndarray:
    x = x - x.mean()
    n = float(np.sqrt((x * x).sum()))
    return x / n if n > 1e-9 else np.zeros_like(x)


def _grad(g: np.ndarray) -> np.ndarray:
    return np.concatenate([(g[:, 1:] - g[:, :-1]).ravel(), (g[1:, :] - g[:-1, :]).ravel()])


def _half(g: np.ndarray) -> np.ndarray:
    n = g.shape[0] // 2
    return g.reshape(n, 2, n, 2).mean(axis=(1, 3))


def compare(a: Signature, b: Signature) -> Match | None:
    """Whether ``b`` is a copy of ``a`` (or ``a`` of ``b``), and which kind; ``None``: two
    different photos."""
    ga, gb = a.levels[0], b.levels[0]
    if a.flat or b.flat:
        return None
    best: Match | None = None
    for turns in range(4):
        aspect = b.aspect if turns % 2 == 0 else 1 / b.aspect
        if abs(math.log(a.aspect / aspect)) > _ASPECT_TOL:
            continue
        rb = np.rot90(gb, turns) if turns else gb
        grad = float(a.structure @ (_z(_grad(rb)) if turns else b.structure))
        how = f"rotated {90 * turns}" if turns else "same"
        diff = np.abs(ga - rb)
        if grad >= _GRAD_EXACT and float(diff.mean()) <= _LEVEL_EXACT:
            if float(diff.reshape(8, 8, 8, 8).mean(axis=(1, 3)).max()) <= _BLOCK_EXACT:
                return Match(EXACT, grad, how)
            # the same picture but one part differs (retouched, or another frame of a
            # burst): for review, never ticked
            best = Match(EDITED, grad, "a part changed" if not turns
                         else f"a part changed, {how}")
            continue
        if grad >= _GRAD_EDITED and float(_z(ga).ravel() @ _z(rb).ravel()) >= _INT_EDITED:
            cand = Match(EDITED, grad, "brightness or colours changed" if not turns
                         else f"brightness or colours changed, {how}")
            if best is None or cand.score > best.score:
                best = cand
    if best is not None:
        return best
    return _crop_match(a, b) or _crop_match(b, a)


# -- crops ------------------------------------------------------------------------------------

_COARSE_STEPS = 5  # placements a side in the coarse search
_COARSE_MARGIN = 0.06  # how far below _CROP_INT a coarse (8 x 8) placement may score
# width fractions of a crop (at the same aspect, its area is about their square: >= 49%; a
# "crop" of less is a different picture, and circles matched circles at 42-48%)
_FRACTIONS = np.array([0.7, 0.74, 0.78, 0.82, 0.86, 0.9, 0.94], np.float32)


def _sample(big: np.ndarray, boxes: np.ndarray, n: int) -> np.ndarray:
    """Bilinear samples of ``big`` (S x S, on [0, 1]^2) on an n x n grid inside each box
    ``(x0, y0, fw, fh)`` (fractions): shape (len(boxes), n, n)."""
    s = big.shape[0]
    flat = big.ravel()
    t = (np.arange(n, dtype=np.float32) + 0.5) / n
    xs = np.clip((boxes[:, 0:1] + boxes[:, 2:3] * t) * s - 0.5, 0, s - 1.001)  # (k, n)
    ys = np.clip((boxes[:, 1:2] + boxes[:, 3:4] * t) * s - 0.5, 0, s - 1.001)
    x0, y0 = xs.astype(np.intp), ys.astype(np.intp)
    fx, fy = (xs - x0)[:, None, :], (ys - y0)[:, :, None]
    at = y0[:, :, None] * s + x0[:, None, :]  # (k, n, n) flat index of the top-left
    top = np.take(flat, at)
    top += (np.take(flat, at + 1) - top) * fx
    bot = np.take(flat, at + s)
    bot += (np.take(flat, at + s + 1) - bot) * fx
    return top + (bot - top) * fy


def _boxes(fracs: np.ndarray, ratio: float, steps: int) -> np.ndarray:
    """Crop boxes of the big picture with the small one's aspect: width fraction ``fw``,
    height ``fw * ratio`` (ratio = aspect big / aspect small), at ``steps`` positions a side."""
    fw = np.asarray(fracs, np.float32)
    fh = fw * ratio
    keep = (fh <= 1.0) & (fh >= 0.6) & (fw <= 1.0)
    fw, fh = fw[keep], fh[keep]
    if not len(fw):
        return np.zeros((0, 4), np.float32)
    u = np.linspace(0, 1, steps, dtype=np.float32)
    gx, gy = np.meshgrid(u, u, indexing="ij")
    x0 = (1 - fw)[:, None] * gx.ravel()[None, :]
    y0 = (1 - fh)[:, None] * gy.ravel()[None, :]
    w = np.broadcast_to(fw[:, None], x0.shape)
    h = np.broadcast_to(fh[:, None], x0.shape)
    return np.stack([x0, y0, w, h], axis=-1).reshape(-1, 4)


def _around(box: np.ndarray, ratio: float, scale: float, shift: float) -> np.ndarray:
    """Boxes near ``box``: width +-``scale``, place +-``shift`` (5 steps each), kept inside."""
    x0, y0, fw, _ = (float(v) for v in box)
    w = fw + np.linspace(-scale, scale, 5, dtype=np.float32)
    h = w * ratio
    ok = (w >= 0.6) & (w <= 1.0) & (h >= 0.6) & (h <= 1.0) & (w * h >= 0.49)
    w, h = w[ok], h[ok]
    d = np.linspace(-shift, shift, 5, dtype=np.float32)
    dx, dy = np.meshgrid(d, d, indexing="ij")
    xs = np.clip(x0 + dx.ravel()[None, :], 0, (1 - w)[:, None])
    ys = np.clip(y0 + dy.ravel()[None, :], 0, (1 - h)[:, None])
    ws = np.broadcast_to(w[:, None], xs.shape)
    hs = np.broadcast_to(h[:, None], xs.shape)
    return np.stack([xs, ys, ws, hs], axis=-1).reshape(-1, 4).astype(np.float32)


def _batch_ncc(stack: np.ndarray, ref: np.ndarray) -> np.ndarray:
    flat = stack.reshape(len(stack), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(flat, axis=1) + 1e-9
    return (flat @ _z(ref).ravel()) / norms


def _chroma_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean difference of chromaticity (r, g over r + g + b) of two (n, n, 3) colour grids:
    blind to brightness, not to hue."""
    ca = a[..., :2] / (a.sum(axis=-1, keepdims=True) + 30.0)
    cb = b[..., :2] / (b.sum(axis=-1, keepdims=True) + 30.0)
    return float(np.abs(ca - cb).mean())


def _crop_match(big_sig: Signature, small_sig: Signature) -> Match | None:
    """Whether ``small`` is a crop of ``big``: coarse search (8 x 8) over scale and
    place, then a finer one around the best, then the decision at 32 x 32."""
    ratio = big_sig.aspect / small_sig.aspect
    # each level samples a picture reduced to about twice its grid (points, not averages:
    # sampled from the full 64 x 64 they alias and a true crop scored 0.8 at 8 x 8)
    boxes, rows = big_sig.coarse(ratio)
    if not len(boxes):
        return None
    big, big32, _, _ = big_sig.levels
    _, small32, small16, small8 = small_sig.levels
    scores = rows @ _z(small8).ravel()
    if scores.max() < _CROP_INT - _COARSE_MARGIN:
        return None
    # refine the three best placements at 16 x 16, then the best of those at 32 x 32
    seeds = boxes[np.argsort(scores)[-3:]]
    near = np.concatenate([_around(box, ratio, 0.06, 0.06) for box in seeds])
    scores = _batch_ncc(_sample(big32, near, 16), small16)
    fine_boxes = _around(near[int(np.argmax(scores))], ratio, 0.02, 0.02)
    samples = _sample(big, fine_boxes, 32)
    scores = _batch_ncc(samples, small32)
    top = int(np.argmax(scores))
    if scores[top] < _CROP_INT:
        return None
    grad = float(_z(_grad(samples[top])) @ _z(_grad(small32)))
    if grad < _CROP_GRAD:
        return None
    # the colours there must be the crop's too: greyscale alone took a zoomed purple circle
    # for a crop of an orange one
    box = fine_boxes[top : top + 1]
    there = np.stack([_sample(big_sig.colour[:, :, c].astype(np.float32), box, 8)[0]
                      for c in range(3)], axis=-1)
    if _chroma_gap(there, small_sig.colour.astype(np.float32).reshape(8, 2, 8, 2, 3)
                   .mean(axis=(1, 3))) > _CROP_CHROMA:
        return None
    area = float(fine_boxes[top, 2] * fine_boxes[top, 3])
    return Match(EDITED, grad, f"cropped to {round(100 * area)}%")


# -- proposals without a model ----------------------------------------------------------------


def hash_pairs(ids: Sequence[int], hashes: Sequence[int], max_distance: int = PHASH_PROPOSE,
               block: int = 1024) -> list[tuple[int, int]]:
    """Pairs of photos whose perceptual hashes are within ``max_distance`` bits (exhaustive,
    in ``block`` x 8 ``block`` tiles: memory stays ~70 MB whatever the library size):
    candidates from the pixels alone, whatever the model."""
    if len(ids) < 2:
        return []
    h = np.array([x & 0xFFFF_FFFF_FFFF_FFFF for x in hashes], np.uint64)
    id_arr = np.asarray(ids, np.int64)
    out: list[tuple[int, int]] = []
    cols = 8 * block
    for a in range(0, len(h), block):
        left = h[a : a + block, None]
        for c in range(a, len(h), cols):
            dist = np.bitwise_count(left ^ h[None, c : c + cols])
            i, j = np.nonzero(dist <= max_distance)
            i, j = i + a, j + c
            upper = j > i
            out.extend(zip(id_arr[i[upper]].tolist(), id_arr[j[upper]].tolist(), strict=True))
    return out
