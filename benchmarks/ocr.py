"""The OCR stage's cost and recall over a mixed library (most photos without text).

    python benchmarks/ocr.py --json                  # 40 photos of 2 MP, 1 in 4 with text
    python benchmarks/ocr.py --size 12mp --count 24 --json
    python benchmarks/ocr.py --size 12mp --count 48 --small-text --json   # half the words small
    python benchmarks/ocr.py --sets --json           # the gate: per kind of photo, gated/ungated

Photos: real ones (Debian's ``mate-backgrounds``, fetched with ``apt-get download`` into
``bench-data/`` when ``--photos`` is not given), re-encoded as camera-like JPEGs; every
``--text-every``-th one gets a word painted on it (a sign: a light plate with dark
letters, or bare letters, Pillow's bundled font, random size and place).

Measured in one process:
- ``stage``: :func:`photoorg.core.ingest.ocr.text_stage` over a fresh catalog of those photos
  (decode in a pool, detection on a small copy, recognition only where text is found),
  engine loading excluded (``load_ms``);
- ``naive``: RapidOCR's own full pipeline on each full-size file (the trial's way), on
  ``--baseline`` photos with the same share of text;
- ``recall``: painted words found by searching them (the full-text index, as a user
  would); ``false_text``: photos without painted text where some text was read.

Prints one JSON line: ``{"ms_per_photo", "naive_ms_per_photo", "ratio", "cpu_ms_per_photo",
"recall", ...}`` (``cpu_ms``: process CPU time, all threads -- on a busy machine the wall
time mostly measures the other jobs). ``ungated_ms_per_photo``/``gate_ratio``: the same
stage over the same library with the gate off (every photo through the full detector).

``--sets``: the gate (:mod:`photoorg.core.ingest.textgate`) per kind of photo
(``benchmarks/ocr_sets.py``: photos without words, painted words, small words at 2-3% of
the height, screenshots and documents), the stage run gated and ungated on each in one
process: ``{"sets": {kind: {"gated": {...}, "ungated": {...}, "ms_ratio"}}, "no_text_ms",
"gate_only_ms", ...}`` with per set ms/photo, CPU ms/photo, recall (painted words found by
search; on screenshots, photos where some text was read), the gate's decisions and the
stage's peak working memory (RSS above the start, sampled every 5 ms). ``drafts``: the
stage as ``photoorg index`` runs it, on the drafts its embed stage keeps
(``firstlook.TextDrafts``: ``no_text_drafts_ms_per_photo``, ``drafts_recall``; keeping
them cost the embed stage ``draft_keep_cpu_ms_per_photo``); ``no_words_drafts_*``: the
same on the plain photos where the full OCR, ungated, reads nothing (``no_words_photos`` of
them). ``gate_cost``: the gate alone on the plain photos' 512 copies, CPU ms per photo on
one thread, and wall ms per photo with two threads at once; ``draft_*``: on their 1/8 JPEG
drafts (500x375). ``scanned_share``: the share of the gate's copy the detector scans on the
plain photos (``_edges_only``: with a gate of edges alone). ``bold_signs``: large bold signs
(10-40% of the height) the gate misses, and a gate of edges alone.
``--int8 PATH`` (``tools/make_text_gate.py``'s detector): per set also ``gated_int8``,
summed up in ``int8_gate``, and its cost in ``gate_cost``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.indexing import SIZES, fetch_mate_backgrounds, make_set  # noqa: E402

if TYPE_CHECKING:
    from photoorg.core.ingest.firstlook import TextDrafts
    from photoorg.core.store.catalog import Catalog

WORDS = [
    "PLATFORM 9", "Boulangerie", "EXIT", "OPEN 24H", "Gate B12", "Pharmacie", "SALE 50%",
    "Hotel Central", "NO PARKING", "Welcome", "Receipt 4721", "Museum", "Bus Stop",
    "Kiosk", "TICKETS", "Pizzeria Roma",
]


def paint(path: Path, word: str, rng: random.Random,
          height: tuple[float, float] = (0.045, 0.09)) -> None:
    """Paint ``word`` on the photo, its font size a random share of the photo's height."""
    from PIL import Image, ImageDraw, ImageFont

    with Image.open(path) as im:
        im = im.convert("RGB")
    w, h = im.size
    size = int(h * rng.uniform(*height))
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(im)
    box = draw.textbbox((0, 0), word, font=font)
    tw, th = box[2] - box[0], box[3] - box[1]
    x = rng.randint(w // 20, max(w // 20, w - tw - w // 20))
    y = rng.randint(h // 20, max(h // 20, h - th - h // 20))
    if rng.random() < 0.6:  # a sign
        pad = size // 3
        draw.rectangle((x - pad, y - pad, x + tw + pad, y + th + 2 * pad), fill=(240, 238, 228))
        draw.text((x - box[0], y - box[1]), word, font=font, fill=(20, 20, 25))
    else:  # bare letters with an outline, as on posters and screenshots
        draw.text((x - box[0], y - box[1]), word, font=font, fill=(255, 255, 255),
                  stroke_width=max(2, size // 15), stroke_fill=(0, 0, 0))
    im.save(path, quality=92)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--size", choices=sorted(SIZES), default="2mp")
    parser.add_argument("--text-every", type=int, default=4, help="1 photo in N has text")
    parser.add_argument("--baseline", type=int, default=8, help="photos for the naive run")
    parser.add_argument("--photos", help="folder of source JPEGs (default: mate-backgrounds)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--small-text", action="store_true",
                        help="every other painted word small: 2-3%% of the photo's height")
    parser.add_argument("--threads", type=int, help="engine threads (default: all cores)")
    parser.add_argument("--sets", action="store_true",
                        help="the gate per kind of photo (benchmarks/ocr_sets.py)")
    parser.add_argument("--int8", type=Path, metavar="ONNX",
                        help="with --sets: also gate with this detector (tools/make_text_gate.py)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.sets:
        return main_sets(args)

    from photoorg.core.ingest import ocr
    from photoorg.core.ingest.scanner import scan_library
    from photoorg.core.search import textindex
    from photoorg.core.store.catalog import Catalog

    sources = (sorted(Path(args.photos).glob("*.jpg")) if args.photos
               else fetch_mate_backgrounds(REPO / "bench-data" / "mate"))
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="photoorg-ocr-") as tmp:
        folder = Path(tmp) / "photos"
        paths = make_set(sources, SIZES[args.size], args.count, folder)
        painted: dict[str, str] = {}
        for i, path in enumerate(paths):
            if i % args.text_every == 0:
                word = WORDS[(i // args.text_every) % len(WORDS)]
                small = args.small_text and (i // args.text_every) % 2 == 1
                paint(path, word, rng, (0.02, 0.03) if small else (0.045, 0.09))
                painted[path.name] = word

        reader = ocr.TextReader(threads=args.threads)
        t = time.perf_counter()
        reader._load()
        load_ms = (time.perf_counter() - t) * 1e3

        with Catalog(Path(tmp) / "data" / "catalog.sqlite") as cat:
            cat.add_root(folder)
            scan_library(cat)
            t, c = time.perf_counter(), time.process_time()
            done = ocr.text_stage(cat, reader=reader)
            stage_s, stage_cpu = time.perf_counter() - t, time.process_time() - c
            found = 0
            for name, word in painted.items():
                pid = cat.photo_id_for_path(folder / name)
                if pid in set(textindex.match_text(cat, word).ids.tolist()):
                    found += 1
            read = dict(cat.query("SELECT p.rel_path, t.text FROM photo_text t "
                                  "JOIN photos p ON p.id = t.photo_id"))
            failed = cat.scalar("SELECT COUNT(*) FROM photo_text WHERE status = 'failed'")
        false_text = sum(1 for name, text in read.items() if text and name not in painted)
        gate_counts = dict(reader.counts)
        ungated = run_stage(folder, Path(tmp) / "ungated", painted, gate=False, reader=reader)

        # naive: the engine's own pipeline on full-size files, same share of text
        engine = reader._load()
        with_text = [p for p in paths if p.name in painted]
        without = [p for p in paths if p.name not in painted]
        n_text = max(1, round(args.baseline / args.text_every))
        sample = with_text[:n_text] + without[: max(0, args.baseline - n_text)]
        t, c = time.perf_counter(), time.process_time()
        for path in sample:
            engine(str(path))
        naive_ms = (time.perf_counter() - t) * 1e3 / max(1, len(sample))
        naive_cpu = (time.process_time() - c) * 1e3 / max(1, len(sample))

    ms = stage_s * 1e3 / max(1, done)
    result = {
        "photos": done,
        "size": args.size,
        "with_text": len(painted),
        "ms_per_photo": round(ms, 1),
        "naive_ms_per_photo": round(naive_ms, 1),
        "ratio": round(ms / naive_ms, 3) if naive_ms else None,
        # CPU time (all threads): what the stage costs whatever else the machine runs
        "cpu_ms_per_photo": round(stage_cpu * 1e3 / max(1, done), 1),
        "naive_cpu_ms_per_photo": round(naive_cpu, 1),
        "recall": round(found / max(1, len(painted)), 3),
        "found": found,
        "false_text": false_text,
        "failed": failed,
        "load_ms": round(load_ms, 1),
        "ungated_ms_per_photo": ungated["ms_per_photo"],
        "ungated_cpu_ms_per_photo": ungated["cpu_ms_per_photo"],
        "gate_ratio": round(ms / ungated["ms_per_photo"], 3) if ungated["ms_per_photo"] else None,
        "ungated_recall": ungated["recall"],
        "gate": gate_counts,
        "detect_side": ocr.DETECT_SIDE,
        "threads": reader.threads,
        "load_avg": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:20} {value}")
    return 0


class PeakRss:
    """The process's resident memory sampled every 5 ms: the peak above the start."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self._stop = threading.Event()
        self.start = self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def above_start_mb(self) -> float:
        return round((self.peak - self.start) / 2**20, 1)


def keep_drafts(cat: Catalog) -> tuple[TextDrafts, float]:
    """What ``photoorg index``'s embed stage keeps for the text stage: the draft of each
    photo the stage will read (the look copy its decode gives, ``firstlook.LOOK_SIDE``),
    kept by ``firstlook.TextDrafts``; and the CPU ms per photo that keeping cost (the decode
    itself is the embed stage's, paid whether or not text is read)."""
    from photoorg.core.ingest import firstlook
    from photoorg.core.media.imaging import load_rgb
    from photoorg.core.search import textindex

    wanted = textindex.pending_text_files(cat, limit=100_000)
    drafts = firstlook.TextDrafts(wanted)
    cpu = 0.0
    for name in wanted:
        path = Path(name)
        image = load_rgb(path, firstlook.LOOK_SIDE, slack=firstlook.LOOK_SLACK)
        if firstlook.usable(image):  # as firstlook.decide: smaller copies are not kept
            c = time.thread_time()
            drafts.needed(image, path)
            cpu += time.thread_time() - c
    return drafts, round(cpu * 1e3 / max(1, len(wanted)), 2)


def run_stage(folder: Path, data: Path, truth: dict[str, str | None], *, gate: bool,
              reader: object, drafts: bool = False) -> dict:
    """The text stage over a fresh catalog of ``folder``: time, CPU, memory, recall.
    ``drafts``: as in ``photoorg index``, the stage gets the embed stage's kept drafts
    (:func:`keep_drafts`, made before the clock starts; their cost is ``keep_cpu_ms``)."""
    from photoorg.core.ingest import ocr
    from photoorg.core.ingest.scanner import scan_library
    from photoorg.core.search import textindex
    from photoorg.core.store.catalog import Catalog

    assert isinstance(reader, ocr.TextReader)
    reader.counts.clear()
    with Catalog(data / "catalog.sqlite") as cat:
        cat.add_root(folder)
        scan_library(cat)
        kept, keep_ms = keep_drafts(cat) if drafts else (None, None)
        n_kept = len(kept) if kept is not None else 0
        with PeakRss() as rss:
            t, c = time.perf_counter(), time.process_time()
            done = ocr.text_stage(cat, reader=reader, gate=gate, drafts=kept)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
        read = dict(cat.query("SELECT p.rel_path, t.text FROM photo_text t "
                              "JOIN photos p ON p.id = t.photo_id"))
        found = 0
        for name, word in truth.items():
            if word is None:
                continue
            if word == "?":  # a screenshot: some text read
                found += bool(read.get(name))
                continue
            pid = cat.photo_id_for_path(folder / name)
            found += pid in set(textindex.match_text(cat, word).ids.tolist())
    with_words = sum(1 for word in truth.values() if word is not None)
    return {
        "photos": done,
        "ms_per_photo": round(wall * 1e3 / max(1, done), 1),
        "cpu_ms_per_photo": round(cpu * 1e3 / max(1, done), 1),
        "found": found,
        "recall": round(found / with_words, 3) if with_words else None,
        "text_read": sum(1 for text in read.values() if text),
        "with_text": sorted(Path(name).name for name, text in read.items() if text),
        "peak_mb": rss.above_start_mb,
        "gate": dict(reader.counts),
        **({"keep_cpu_ms_per_photo": keep_ms,
            "drafts_kept": n_kept,
            "drafts_used": n_kept - len(kept)} if kept is not None else {}),
    }


def main_sets(args: argparse.Namespace) -> int:
    from benchmarks.ocr_sets import make_sets
    from photoorg.core.ingest import ocr
    from photoorg.core.media.imaging import load_rgb

    sources = (sorted(Path(args.photos).glob("*.jpg")) if args.photos
               else fetch_mate_backgrounds(REPO / "bench-data" / "mate"))
    root = REPO / "bench-data" / "ocr-sets"
    truth = make_sets(root, sources, REPO / "tests" / "data" / "faces-dev",
                      REPO / "docs" / "screenshots", WORDS)
    reader = ocr.TextReader(threads=args.threads)
    reader._load()
    engine = reader._load()
    # the same stage gated by another detector (--int8), same engine
    alt_reader = None
    if args.int8:
        alt_reader = ocr.TextReader(threads=args.threads, gate_model=args.int8)
        alt_reader._engine = engine
    modes = ("ungated", "gated", "drafts") + (("gated_int8",) if alt_reader else ())
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    sets = {}
    with tempfile.TemporaryDirectory(prefix="photoorg-ocr-sets-") as tmp:
        for kind, names in truth.items():
            # ungated first, then gated: the page cache is warm for both
            runs = {mode: run_stage(root / kind, Path(tmp) / f"{kind}-{mode}", names,
                                    gate=mode != "ungated", drafts=mode == "drafts",
                                    reader=alt_reader if mode == "gated_int8" else reader)
                    for mode in modes}
            runs["ms_ratio"] = (round(runs["gated"]["ms_per_photo"]
                                      / runs["ungated"]["ms_per_photo"], 3)
                                if runs["ungated"]["ms_per_photo"] else None)
            runs["cpu_ratio"] = (round(runs["gated"]["cpu_ms_per_photo"]
                                       / runs["ungated"]["cpu_ms_per_photo"], 3)
                                 if runs["ungated"]["cpu_ms_per_photo"] else None)
            sets[kind] = runs
    # photos without words: the plain ones on which the full OCR, ungated, read nothing (one
    # of the faces-dev photos has a sign's letters behind the person)
    with tempfile.TemporaryDirectory(prefix="photoorg-ocr-nowords-") as tmp:
        words = set(sets["plain"]["ungated"]["with_text"])
        bare = {name: None for name in truth["plain"] if name not in words}
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for name in bare:
            (folder / name).symlink_to(root / "plain" / name)
        no_words = run_stage(folder, Path(tmp) / "data", bare, gate=True, reader=reader,
                             drafts=True)
    # what a caller that decoded the photo already pays (the fused decode of issue 26):
    # the gate alone against the full detector, on the same decoded drafts
    drafts = [load_rgb(root / "plain" / name, max_side=ocr.DETECT_SIDE)
              for name in truth["plain"]]
    t = time.perf_counter()
    for image in drafts:
        ocr.likely_has_text(image, reader)
    gate_ms = (time.perf_counter() - t) * 1e3 / len(drafts)
    t = time.perf_counter()
    for image in drafts:
        engine.text_det(ocr._bgr(image))
    detector_ms = (time.perf_counter() - t) * 1e3 / len(drafts)
    gate_cost = _gate_cost(root / "plain", list(truth["plain"]), reader.gate,
                           alt_reader.gate if alt_reader else None)
    plain = sets["plain"]
    signs = _bold_signs(reader.gate)
    result = {
        "sets": sets,
        "no_text_ms_per_photo": plain["gated"]["ms_per_photo"],
        "no_text_ungated_ms_per_photo": plain["ungated"]["ms_per_photo"],
        "no_text_ratio": plain["ms_ratio"],
        "no_text_drafts_ms_per_photo": plain["drafts"]["ms_per_photo"],
        "no_text_drafts_cpu_ms_per_photo": plain["drafts"]["cpu_ms_per_photo"],
        "draft_keep_cpu_ms_per_photo": plain["drafts"]["keep_cpu_ms_per_photo"],
        "no_words_drafts_ms_per_photo": no_words["ms_per_photo"],
        "no_words_drafts_cpu_ms_per_photo": no_words["cpu_ms_per_photo"],
        "no_words_photos": no_words["photos"],
        "gate_only_ms_per_photo": round(gate_ms, 1),
        "detector_ms_per_photo": round(detector_ms, 1),
        "gate_only_ratio": round(gate_ms / detector_ms, 3),
        "recall": {kind: sets[kind]["gated"]["recall"] for kind in sets if kind != "plain"},
        "ungated_recall": {kind: sets[kind]["ungated"]["recall"] for kind in sets
                           if kind != "plain"},
        "drafts_recall": {kind: sets[kind]["drafts"]["recall"] for kind in sets
                          if kind != "plain"},
        "gate_model": reader.gate.model.name,
        "gate_cost": gate_cost,
        "bold_signs": signs,
        "peak_mb": max(run["gated"]["peak_mb"] for run in sets.values()),
        "ungated_peak_mb": max(run["ungated"]["peak_mb"] for run in sets.values()),
        "detect_side": ocr.DETECT_SIDE,
        "read_side": ocr.READ_SIDE,
        "threads": reader.threads,
        "load_avg": [load_before, round(os.getloadavg()[0], 2)]
        if hasattr(os, "getloadavg") else None,
    }
    if alt_reader:
        result["int8_gate"] = {
            "model": str(args.int8),
            "no_text_ms_per_photo": plain["gated_int8"]["ms_per_photo"],
            "no_text_cpu_ms_per_photo": plain["gated_int8"]["cpu_ms_per_photo"],
            "recall": {kind: sets[kind]["gated_int8"]["recall"] for kind in sets
                       if kind != "plain"},
        }
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=1))
    return 0


SIGN_PHOTOS = ("kit_harington/john1.jpeg", "biden/biden2.jpg", "obama/obama.jpg",
               "rose_leslie/img1.jpg")
SIGN_WORDS = ("EXIT", "OPEN", "SALE", "Hotel")
SIGN_HEIGHTS = (0.1, 0.12, 0.16, 0.2, 0.25, 0.3, 0.4)


def _bold_signs(gate: object) -> dict:
    """Large bold signs (``ocr_sets.bold_sign``: 4 words, 10-40% of the height, on 4 photos
    of ``tests/data/faces-dev``, their 512 copies): how many the gate misses, and a gate of
    edges alone (textgate.STROKES that every tile passes, no look at the whole photo)."""
    from PIL import Image, ImageOps

    from benchmarks.ocr_sets import bold_sign
    from photoorg.core.ingest import textgate

    faces = REPO / "tests" / "data" / "faces-dev"
    images = {}
    for src in SIGN_PHOTOS:
        with Image.open(faces / src) as im:
            photo = ImageOps.fit(im.convert("RGB"), (2400, 1800))
        for word in SIGN_WORDS:
            for height in SIGN_HEIGHTS:
                image = bold_sign(photo.copy(), word, height)
                image.thumbnail((512, 512), Image.Resampling.BILINEAR)
                images[f"{src.split('/')[0]}:{word}:{height}"] = image
    out: dict = {"signs": len(images)}
    for key, strokes, look in (("missed", textgate.STROKES, textgate.WHOLE_LOOK_SIDE),
                               ("missed_edges_only", ((1, 0, 0, textgate.TILE_EDGES),), 0)):
        saved = textgate.STROKES, textgate.WHOLE_LOOK_SIDE
        textgate.STROKES, textgate.WHOLE_LOOK_SIDE = strokes, look
        try:
            out[key] = sorted(name for name, image in images.items()
                              if gate.decide(image) != "read")  # type: ignore[attr-defined]
        finally:
            textgate.STROKES, textgate.WHOLE_LOOK_SIDE = saved
    return out


def _gate_cost(folder: Path, names: list[str], gate: object, int8: object | None) -> dict:
    """The gate alone on photos without words (their 512 copies, decoded beforehand): CPU ms
    per photo on one thread (``fp32``: the detector as the gate runs it, folded by
    ``photoorg.core.models.onnx_fold``; ``shipped_fp32``: the file RapidOCR ships, unfolded;
    ``int8``: ``--int8``'s), and wall ms per photo with two threads at once (one shared
    session, no lock)."""
    from concurrent.futures import ThreadPoolExecutor

    from photoorg.core.ingest import ocr, textgate
    from photoorg.core.media.imaging import load_rgb

    drafts = [load_rgb(folder / name, ocr.DETECT_SIDE) for name in names]
    small = [load_rgb(folder / name, ocr.DETECT_SIDE, slack=ocr.DETECT_SLACK)
             for name in names]
    out: dict = {"photos": len(drafts), "gate_model_file": str(gate.model)}  # type: ignore[attr-defined]
    shipped = textgate.GateDetector(textgate.engine_model_file())
    for key, detector in (("fp32", gate), ("shipped_fp32", shipped), ("int8", int8)):
        if detector is None:
            continue
        detector.decide(drafts[0])  # type: ignore[attr-defined]
        c = time.thread_time()
        decisions = [detector.decide(image) for image in drafts]  # type: ignore[attr-defined]
        out[f"{key}_cpu_ms_per_photo"] = round((time.thread_time() - c) * 1e3 / len(drafts), 1)
        out[f"{key}_said_read"] = decisions.count("read")
        out[f"{key}_decisions"] = decisions
    out["fold_same_answers"] = out.pop("fp32_decisions") == out.pop("shipped_fp32_decisions")
    out.pop("int8_decisions", None)
    # what share of each photo's gate copy the detector scans (1 where it takes the whole),
    # with the stroke test and with edges alone (textgate.STROKES that every tile passes)
    copies = [textgate.gate_copy(image) for image in small]
    for key, strokes in (("scanned_share", textgate.STROKES),
                         ("scanned_share_edges_only", ((1, 0, 0, textgate.TILE_EDGES),))):
        saved, textgate.STROKES = textgate.STROKES, strokes
        try:
            shares = []
            for rgb in copies:
                share = textgate.covered_share(textgate.candidate_regions(rgb),
                                               (rgb.shape[1], rgb.shape[0]))
                shares.append(1.0 if share > textgate.WHOLE_SHARE else share)
        finally:
            textgate.STROKES = saved
        out[key] = round(sum(shares) / len(shares), 3)
    # the 1/8 draft of a 12 MP JPEG (500x375), as an embed stage decodes it and hands it to
    # likely_has_text, and as the text stage gates it (enlarged to textgate.DRAFT_SIDE)
    c = time.thread_time()
    decisions = [gate.decide(image) for image in small]  # type: ignore[attr-defined]
    out["draft_fp32_cpu_ms_per_photo"] = round((time.thread_time() - c) * 1e3 / len(small), 1)
    out["draft_said_read"] = decisions.count("read")
    with ThreadPoolExecutor(2) as pool:
        t = time.perf_counter()
        both = list(pool.map(gate.decide, drafts))  # type: ignore[attr-defined]
        out["two_threads_ms_per_photo"] = round(
            (time.perf_counter() - t) * 1e3 / len(drafts), 1)
    out["two_threads_same_answers"] = both == [gate.decide(i)  # type: ignore[attr-defined]
                                               for i in drafts]
    return out


if __name__ == "__main__":
    raise SystemExit(main())
