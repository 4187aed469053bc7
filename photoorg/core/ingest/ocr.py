"""The OCR stage: reading the words written in photos (signs, receipts, screenshots), offline.

Engine: RapidOCR (``rapidocr-onnxruntime``, Apache-2.0): PaddleOCR's PP-OCRv4 detection and
recognition models as ONNX files inside the wheel (16 MB; with onnxruntime 78 MB, opencv
72 MB, pyclipper and shapely), run by onnxruntime (MIT); wheels for Linux, macOS and
Windows. Nothing is downloaded.

Cost (most photos have no text): the gate (:func:`likely_has_text`,
:class:`photoorg.core.ingest.textgate.GateDetector`) looks for lettering first on a small
copy: the draft the embed stage decoded and kept for it in the same run
(:class:`photoorg.core.ingest.firstlook.TextDrafts`), else the photo decoded small here
(JPEG draft mode: DCT scaling, a fraction of a full decode; :data:`DETECT_SLACK`) to about
:data:`DETECT_SIDE`: about a millisecond of edge counting per 16-pixel tile, then the text
detector (PP-OCRv4's, in its own onnxruntime session: one core per call, no lock) only on
the tiles that could hold letters. Decoding and the gate run in a pool on every core; a
photo with no text stops there. Where text is found, the pool decodes the photo at
DETECT_SIDE for the full detection on the whole copy (RapidOCR's, the model run by the
gate's session), then at :data:`READ_SIDE` where it found lines (the cap on the working
image: its memory is bounded whatever the photo's size); the boxes, scaled up, are cropped
from that and *recognised* (~20 ms per photo with a line or two), one photo at a time.
``python benchmarks/ocr.py --sets --json`` measures ms/photo and recall per kind of text
and memory, gated against ungated in one run.

The stage is resumable and recorded per photo (``photo_text``: what was read, or "failed"
with the reason; a photo whose content changes is read again), runs last (lowest
priority) and never raises: a photo that cannot be read costs that photo only. The
library setting ``read_text`` (catalog meta, on by default) turns it off.

Issue 11 turns the pipeline into named stages: :func:`text_stage` has the stage shape
(catalog, progress, should_stop) -> photos processed.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from photoorg.core.ingest import textgate
from photoorg.core.media.imaging import load_rgb
from photoorg.core.search import textindex
from photoorg.core.store import failures
from photoorg.core.store.catalog import Catalog

if TYPE_CHECKING:
    from photoorg.core.ingest.firstlook import TextDrafts

log = logging.getLogger(__name__)

DETECT_SIDE = 512
"""Longest side of the copy the detector scans: text a reader could make out in a
512-pixel preview is found; smaller print is not worth the cost on every photo."""
DETECT_SLACK = 4 / 3
"""The gate takes any copy from DETECT_SIDE / DETECT_SLACK up: a 12 MP JPEG's 1/8 draft
(500x375, ~20 ms to decode instead of ~35 for the 1/4 draft resized), which it enlarges
(``textgate.DRAFT_SIDE``); a photo to read is decoded again at DETECT_SIDE."""
READ_SIDE = 2048
"""Longest side of the image the found lines are cropped from for recognition (the cap on
the working image: its memory is bounded whatever the photo's size)."""
READ_SLACK = 4 / 3
"""Any copy from READ_SIDE / READ_SLACK up will do: a 12 MP JPEG's 1/2 draft (2000x1500,
~36 ms to decode) as it is, not resampled to 1600 (~84 ms); recall measured unchanged."""
MIN_LINE_SCORE = 0.6
"""Recognised lines below this confidence are dropped (texture read as letters)."""
META_READ_TEXT = "read_text"
BATCH = 16
LOOKAHEAD = 8
"""Photos decoded and gated ahead of the reader (a photo to read holds its sharp copy,
9 MB at 2000x1500, until it is read)."""


class OcrUnavailableError(RuntimeError):
    """The OCR engine cannot be loaded here."""


ENV_READ_TEXT = "PHOTOORG_READ_TEXT"


def enabled(cat: Catalog) -> bool:
    """The library setting: read text in photos (on unless turned off). The environment
    variable ``PHOTOORG_READ_TEXT=0`` turns it off for one run (scripts, the test suite)."""
    if os.environ.get(ENV_READ_TEXT) == "0":
        return False
    return cat.get_meta(META_READ_TEXT, "1") != "0"


def set_enabled(cat: Catalog, on: bool) -> None:
    cat.set_meta(META_READ_TEXT, "1" if on else "0")


class TextReader:
    """One loaded RapidOCR engine (load once per process: ~0.3 s) for reading, and the gate
    (:class:`photoorg.core.ingest.textgate.GateDetector`, the detector alone in its own
    session) for deciding and finding lines. Recognition is serialised (the engine is not
    thread-safe); :meth:`decide` and :meth:`find_lines` may run on several threads at
    once."""

    def __init__(self, threads: int | None = None, *, gate_model: Path | None = None) -> None:
        # half the cores for the engine, the decode pool beside it: together every core.
        # More engine threads mostly spin (onnxruntime busy-waits) on a machine that is
        # busy anyway: measured, 1 thread + decoding cost 83 ms CPU per photo on 2 cores,
        # 2 threads 196 ms (benchmarks/ocr.py).
        self.threads = threads or max(1, (os.cpu_count() or 2) // 2)
        self.gate_model = gate_model
        """The gate's detector file (None: PP-OCRv4's, as RapidOCR ships it)."""
        self._engine: Any = None
        self._gate: textgate.GateDetector | None = None
        self._lock = threading.Lock()  # reading
        self._load_lock = threading.Lock()
        self._counts_lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()
        """What the gate decided, per photo: "no_candidates" (no tile looked like lettering:
        the detector never ran), "no_text" (the detector saw the candidates, found nothing),
        "read" (the full detection and recognition ran), "ungated" (read without the gate)."""

    def preload(self) -> None:
        """Load the reading engine now (thread-safe; raises :class:`OcrUnavailableError`)."""
        self._load()

    def _load(self) -> Any:
        with self._load_lock:
            return self._load_engine()

    def _load_engine(self) -> Any:
        if self._engine is None:
            # opencv-python points Qt at its own plugins when imported: keep the window's
            saved = os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH")
            try:
                from rapidocr_onnxruntime import RapidOCR
            except Exception as exc:  # not installed, or a broken native library
                raise OcrUnavailableError(f"OCR engine unavailable: {exc}") from exc
            finally:
                if saved is None:
                    os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)
                else:
                    os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"] = saved
            # "min" with a tiny limit: the detector takes the size it is given (no upscaling)
            settings = {"det_limit_type": "min", "det_limit_side_len": 32,
                        "intra_op_num_threads": self.threads, "inter_op_num_threads": 1}
            try:
                self._engine = RapidOCR(**_engine_models(), **settings)
            except Exception as exc:  # a folded copy onnxruntime cannot open
                log.warning("the folded OCR models cannot be loaded (%s); the shipped "
                            "ones are used", exc)
                self._engine = RapidOCR(**settings)
        return self._engine

    @property
    def gate(self) -> textgate.GateDetector:
        """The gate's detector, shared by every reader of the same model in the process."""
        if self._gate is None:
            try:
                self._gate = textgate.shared_detector(self.gate_model)
            except ImportError as exc:  # onnxruntime or opencv missing or broken
                raise OcrUnavailableError(f"OCR engine unavailable: {exc}") from exc
        return self._gate

    def _count(self, decision: str) -> None:
        with self._counts_lock:
            self.counts[decision] += 1

    def decide(self, image: Image.Image) -> str:
        """The gate's decision on ``image`` (RGB, any size), counted: "no_candidates",
        "no_text" or "read". Thread-safe, and never loads the recognition engine."""
        decision = self.gate.decide(image)
        self._count(decision)
        return decision

    def read(self, image: Image.Image,
             larger: Callable[[], Image.Image] | None = None, *, gate: bool = True) -> str:
        """The text in an RGB image, one line per detected line ("" when none).
        ``larger``: where text is found, a sharper copy of the same image to read it from
        (decoded only then); without it, ``image`` itself. ``gate``: look for lettering
        first (:meth:`decide`) and stop there when there is none."""
        if gate:
            if self.decide(image) != "read":
                return ""
        else:
            self._count("ungated")
        return self._read_found(image, larger)

    def find_lines(self, image: Image.Image) -> np.ndarray:
        """The full detection on ``image``'s :data:`DETECT_SIDE` copy: its lines' boxes (N x
        4 x 2, in that copy's pixels; none: N = 0). Thread-safe once the engine is loaded
        (the gate's session runs the model, the engine's code resizes and finds the boxes):
        the text stage's decode threads detect while the reader recognises."""
        return self._find(_probe(image))

    def _find(self, probe: Image.Image) -> np.ndarray:
        det = self._load().text_det
        if self.gate_model is None:
            boxes = _detect(det, self.gate.probability, probe)
        else:
            with self._lock:  # another model gates: the engine's own session detects
                boxes = _detect(det, lambda x: det.infer(textgate.model_input(x))[0][0, 0],
                                probe)
        return np.zeros((0, 4, 2), np.float32) if boxes is None else np.asarray(boxes)

    @property
    def loaded(self) -> bool:
        """Whether the reading engine is loaded."""
        return self._engine is not None

    def _read_found(self, image: Image.Image,
                    larger: Callable[[], Image.Image] | None = None,
                    boxes: np.ndarray | None = None) -> str:
        """The full detection on a :data:`DETECT_SIDE` copy (``boxes``: already made by
        :meth:`find_lines` on ``image``) and recognition of its lines."""
        probe = _probe(image)
        if boxes is None:
            boxes = self._find(probe)
        if not len(boxes):
            return ""
        with self._lock:
            engine = self._load()
            source = larger() if larger is not None else image
            scale = source.width / probe.width
            big = _bgr(source)
            boxes = engine.sorted_boxes(np.asarray(boxes, np.float32) * scale)
            crops = engine.get_crop_img_list(big, list(boxes))
            del big
            crops, _, _ = engine.text_cls(crops)
            lines, _ = engine.text_rec(crops)
            return "\n".join(
                text.strip() for text, score in lines
                if score >= MIN_LINE_SCORE and len(text.strip()) >= 2
            )

    def likely_has_text(self, image: Image.Image) -> bool:
        """Whether ``image`` (RGB, any size) may hold words worth reading: the gate alone,
        for a caller that decoded the photo already. Thread-safe without a lock (one core
        per call); loads the gate's detector only, never the recognition engine."""
        return self.gate.decide(image) == "read"


REC_MODEL = "ch_PP-OCRv4_rec_infer.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_infer.onnx"


def _engine_models() -> dict[str, str]:
    """The engine's three models, folded (``textgate.folded_file``: the recogniser runs in
    0.51 of its time, the detector in 0.66: ``benchmarks/onnx_fold.py``); a model not where
    RapidOCR keeps it is left to RapidOCR's own choice."""
    detector = textgate.engine_model_file()
    models = {"det_model_path": str(textgate.detector_file())}
    for key, name, (height, width) in (("rec_model_path", REC_MODEL, (48, 320)),
                                       ("cls_model_path", CLS_MODEL, (48, 192))):
        source = detector.with_name(name)
        if source.is_file():
            models[key] = str(textgate.folded_file(source, height, width))
    return models


def _probe(image: Image.Image) -> Image.Image:
    """The copy the full detection looks at: ``image`` fitted into :data:`DETECT_SIDE`."""
    if max(image.size) <= DETECT_SIDE:
        return image
    probe = image.copy()
    probe.thumbnail((DETECT_SIDE, DETECT_SIDE), Image.Resampling.BILINEAR)
    return probe


def _detect(det: Any, probability: Callable[[np.ndarray], np.ndarray], image: Image.Image
            ) -> Any:
    """RapidOCR's text detection (``det``, the engine's ``text_det``: its resize to the
    network's multiple of 32 and its box post-processing) on ``image``, the model run by
    ``probability`` (the gate's session: the same file, one thread, no lock), its input
    made in one OpenCV pass (RapidOCR's own normalises in float64: a fifth of the
    detection's time). The same boxes as ``det(image)``, to the pixel, on the 113 photos of
    ``benchmarks/ocr.py --sets``."""
    rgb = textgate.rgb_array(image)
    shape = rgb.shape[:2]
    resized = det.get_preprocess(max(shape)).resize(rgb)
    if resized is None:
        return None
    prob = probability(resized)  # already a multiple of 32: nothing padded
    boxes, _ = det.postprocess_op(prob[np.newaxis, np.newaxis], shape)
    return det.filter_tag_det_res(boxes, shape)


def _bgr(image: Image.Image) -> np.ndarray:
    import cv2  # opencv-python: installed with the OCR engine

    # 6 ms on a 2000x1500 copy; numpy's channel flip 14
    return cv2.cvtColor(textgate.rgb_array(image), cv2.COLOR_RGB2BGR)


def likely_has_text(image: Image.Image, reader: TextReader | None = None) -> bool:
    """Whether a decoded photo (RGB; a ~500-pixel draft is enough) may hold words: the OCR
    stage's cheap first look, for a caller that decodes each photo once for every stage. A
    false answer means the full OCR would find nothing worth reading there."""
    return (reader or default_reader()).likely_has_text(image)


_default_reader: TextReader | None = None


def default_reader() -> TextReader:
    global _default_reader
    if _default_reader is None:
        _default_reader = TextReader()
    return _default_reader


def release_models() -> bool:
    """Let the reading engine and the gate's detector go (a long-running process gone idle:
    about 135 MB; the next photo to read loads them again, in about half a second). Call
    only while no text stage runs. Returns whether any was loaded."""
    global _default_reader
    reader, _default_reader = _default_reader, None
    held = reader is not None and (reader._engine is not None or reader._gate is not None)
    return textgate.release_shared() or held


def read_photo(path: str | os.PathLike[str], reader: TextReader | None = None) -> str:
    """Read the text in a photo: a small decode (JPEG draft mode) for detection, a larger
    one only when there is text to recognise."""
    return (reader or default_reader()).read(
        load_rgb(path, max_side=DETECT_SIDE),
        lambda: load_rgb(path, READ_SIDE, slack=READ_SLACK))


def text_stage(
    cat: Catalog,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    reader: TextReader | None = None,
    decode_workers: int = 2,
    gate: bool = True,
    drafts: TextDrafts | None = None,
) -> int:
    """Read the text of every photo not read yet (resumable: the catalog is the queue).
    Returns the photos processed. Failures are recorded per photo and logged; what the
    gate decided is counted in ``reader.counts``. ``gate=False``: every photo through the
    full detector (the path before the gate, for benchmarks). ``drafts``: copies the embed
    stage kept (:class:`photoorg.core.ingest.firstlook.TextDrafts`): the gate looks at
    them instead of decoding those photos."""
    if not enabled(cat):
        return 0
    total = textindex.count_pending_text(cat)
    if not total:
        return 0
    reader = reader or default_reader()
    try:
        reader.gate  # noqa: B018 - the gate's detector: where it cannot load, nothing can run
    except OcrUnavailableError as exc:
        log.warning("%s; photos keep waiting for it", exc)
        return 0
    done = 0
    after = 0
    failed: collections.Counter[str] = collections.Counter()  # logged once per cause
    with ThreadPoolExecutor(decode_workers, thread_name_prefix="ocr-decode") as pool:
        # the reading engine (~0.3 s) loads in the pool while the first photos are gated
        engine: Future[Any] | None = pool.submit(reader.preload)
        while True:
            work = iter(textindex.pending_text(cat, limit=BATCH * 4, after_id=after))
            # in the pool, a bounded way ahead (both cores: the gate needs no lock): decode,
            # gate, find the lines of a photo to read (once the engine is loaded) and decode
            # the copy they are read from; here: recognise (and detect, before the load)
            ahead: collections.deque[tuple[int, Path, Future[_Look]]] = collections.deque(
                (pid, path, pool.submit(_look, path, reader, gate, drafts))
                for pid, path in itertools.islice(work, LOOKAHEAD))
            if not ahead:
                break
            results: list[tuple[int, str, str, str | None]] = []
            while ahead:
                pid, path, future = ahead.popleft()
                after = pid
                if should_stop is not None and should_stop():
                    for _, _, rest in ahead:
                        rest.cancel()
                    future.cancel()
                    failed.update(_store(cat, results))
                    failures.log_summary(log, "text", failed)
                    return done
                nxt = next(work, None)
                if nxt is not None:
                    ahead.append((*nxt, pool.submit(_look, nxt[1], reader, gate, drafts)))
                if engine is not None and _to_read(future):
                    try:
                        engine.result()
                    except OcrUnavailableError as exc:
                        log.warning("%s; photos keep waiting for it", exc)
                        failed.update(_store(cat, results))
                        return done
                    engine = None
                results.append(_read_one(pid, path, future, reader))
                done += 1
                if len(results) >= BATCH:
                    failed.update(_store(cat, results))
                    results = []
                if progress is not None:
                    progress(done, max(total, done))
            failed.update(_store(cat, results))
    failures.log_summary(log, "text", failed)
    if reader.counts:
        log.info("text: gate decisions %s", dict(reader.counts))
    return done


_Look = tuple[Image.Image, Image.Image | None, str, np.ndarray | None]


def _to_read(future: Future[_Look]) -> bool:
    """Whether the photo in ``future`` goes on to the reading engine (False when its decode
    failed: :func:`_read_one` records why)."""
    try:
        return future.result()[2] in ("read", "ungated")
    except Exception:
        return False


def _look(path: Path, reader: TextReader, gate: bool, drafts: TextDrafts | None = None
          ) -> _Look:
    """A photo's detection copy, the copy its lines are read from (None when there is
    nothing to read) and the gate's decision ("ungated" without it). The gate looks at the
    cheap draft (the one ``drafts`` kept, or decoded here); a photo to read is decoded again
    at :data:`DETECT_SIDE` (the full detector on the 500x375 draft found 13 of 24 words 2-3%
    of the height instead of 16; a kept draft is a JPEG copy) and at :data:`READ_SIDE`, here
    in the pool rather than in the reader's turn (measured: a 2000 px copy scaled down
    instead of the two decodes lost one or two of those 24 words). Once the engine is
    loaded, the pool also finds the lines (:meth:`TextReader.find_lines`; their boxes, or
    None when left to the reader), and a photo with none is not decoded sharp."""
    image = drafts.take(path) if drafts is not None else None
    kept = image is not None
    if image is None:
        image = load_rgb(path, DETECT_SIDE, slack=DETECT_SLACK)
    if gate:
        decision = reader.decide(image)
        if decision != "read":
            return image, None, decision, None
    else:
        decision = "ungated"
        reader._count(decision)
    if kept or max(image.size) < DETECT_SIDE:
        image = load_rgb(path, DETECT_SIDE)
    boxes = reader.find_lines(image) if reader.loaded else None
    if boxes is not None and not len(boxes):
        return image, None, decision, boxes
    return image, load_rgb(path, READ_SIDE, slack=READ_SLACK), decision, boxes


def _read_one(pid: int, path: Path, future: Future[_Look], reader: TextReader
              ) -> tuple[int, str, str, str | None]:
    try:
        image, sharp, decision, boxes = future.result()
        text = ""
        if decision in ("read", "ungated"):
            text = reader._read_found(image, None if sharp is None else lambda: sharp, boxes)
        return pid, text, "done", None
    except Exception as exc:  # one unreadable photo must not stop the stage
        log.debug("reading text in %s failed", path, exc_info=True)
        return pid, "", "failed", failures.describe(exc)


def _store(cat: Catalog, results: list[tuple[int, str, str, str | None]]
           ) -> collections.Counter[str]:
    """Store what was read; returns the failures' reasons, counted."""
    if not results:
        return collections.Counter()
    with cat.transaction():
        for pid, text, status, detail in results:
            content_hash = cat.scalar("SELECT content_hash FROM photos WHERE id = ?", (pid,))
            if content_hash is None and not cat.scalar(
                "SELECT 1 FROM photos WHERE id = ?", (pid,)
            ):
                continue  # removed meanwhile
            textindex.store_text(cat, pid, text, content_hash=content_hash, status=status,
                                 detail=detail)
        # a failed read is retried on a later run (bounded); the log says it once per cause
        failed = {pid: f"reading text failed ({detail})" for pid, _, status, detail in results
                  if status == "failed"}
        failures.record(cat, "text", failed)
        failures.clear(cat, "text", [pid for pid, _, status, _ in results if status == "done"])
    return collections.Counter(failed.values())
