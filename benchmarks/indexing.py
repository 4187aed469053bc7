"""Indexing throughput: photoorg's pipeline vs a naive loop vs the model alone.

Same photos, same model, one process:
- ``indexer``: photoorg's Indexer (draft decoding in a thread pool, batched inference,
  catalog writes) on a fresh library;
- ``naive``: the seed blog posts' loop — ``Image.open → convert → preprocess → encode``
  one image at a time;
- ``model_only``: inference alone on already-preprocessed tensors in batches of 16
  (what the indexer could reach if decoding were free).

Photos: real ones (Debian's ``mate-backgrounds``, fetched with ``apt-get download`` into
``bench-data/`` when ``--photos`` is not given), re-encoded as camera-like JPEGs at two
sizes: 12 MP (4000×3000) and ≤ 2 MP (1600×1200).

    python benchmarks/indexing.py --json                   # ViT-B-32/random, both sizes
    python benchmarks/indexing.py --model ViT-B-32-256/random --count 32 --json
    python benchmarks/indexing.py --people --count 48 --json   # CLIP + faces, one JSON line

Prints one JSON line per size and a final summary line.

``--people``: a mixed library of ``--count`` 12 MP photos built from the same real photos
(benchmarks/people_photos.py: 60% scenes, 30% with one or two real faces from
``tests/data/faces-dev`` pasted in at 150-400 px, 10% drawings/posters/sketches/test
charts). In a fresh child process (so its peak RSS is the indexer's own), as a user would
run it: ``photoorg index --no-faces`` (Indexer without a face pass), then ``photoorg
index`` again (only the face pass runs). In this process: the naive CLIP-only loop, the
previous face pass on a sample (full-size decode resized to 2048, HOG on RGB, one
thread: the 483 ms/photo of issue 13) for a same-run ratio; face proposals against HOG
over the whole photo (faces kept, CPU per photo); People scored against the
truth, and order independence (the same faces clustered at once, in two halves, photo by
photo). Prints ONE JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from people_photos import fetch_mate_backgrounds  # noqa: E402 - re-exported (ocr.py)

SIZES = {"12mp": (4000, 3000), "2mp": (1600, 1200)}



def make_set(sources: list[Path], size: tuple[int, int], count: int, out: Path) -> list[Path]:
    """Camera-like JPEGs of ``size`` (crop to 4:3, resize, quality 92, some mirrored)."""
    from PIL import Image, ImageOps

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        src = sources[i % len(sources)]
        with Image.open(src) as im:
            im = ImageOps.fit(im.convert("RGB"), size)
            if (i // len(sources)) % 2:
                im = ImageOps.mirror(im)
            path = out / f"{i:04d}_{src.stem}.jpg"
            im.save(path, quality=92)
        paths.append(path)
    return paths


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_naive(embedder, paths: list[Path]) -> float:
    from PIL import Image

    start = time.perf_counter()
    for path in paths:
        with Image.open(path) as im:
            tensor = embedder.preprocess(im.convert("RGB"))
        embedder.encode_image_tensors(tensor.unsqueeze(0))
    return time.perf_counter() - start


def run_model_only(embedder, paths: list[Path], batch: int) -> float:
    import torch
    from PIL import Image

    tensors = []
    for path in paths:
        with Image.open(path) as im:
            im.draft("RGB", (embedder.image_size, embedder.image_size))
            tensors.append(embedder.preprocess(im.convert("RGB")))
    start = time.perf_counter()
    for i in range(0, len(tensors), batch):
        embedder.encode_image_tensors(torch.stack(tensors[i : i + batch]))
    return time.perf_counter() - start


def run_indexer(embedder, folder: Path, batch: int) -> float:
    from photoorg.core.ingest.indexer import Indexer
    from photoorg.core.ingest.scanner import scan_library
    from photoorg.core.store.catalog import Catalog

    with tempfile.TemporaryDirectory() as tmp, Catalog(Path(tmp) / "c.sqlite") as cat:
        cat.add_root(folder)
        start = time.perf_counter()
        scan_library(cat)
        summary = Indexer(cat, embedder, batch_size=batch).run()
        elapsed = time.perf_counter() - start
        assert summary.embedded == len(list(folder.glob("*.jpg"))), summary
    return elapsed


def _index_child(model: str, folder: Path, catalog: Path, batch: int) -> dict:
    """``photoorg index --no-faces`` then ``photoorg index`` on a fresh catalog, in this
    (child) process; times, face-pass CPU, and the process's peak RSS."""
    import os

    from photoorg.core.ingest.indexer import Indexer
    from photoorg.core.ingest.scanner import scan_library
    from photoorg.core.models.embedder import load_embedder
    from photoorg.core.people import faces
    from photoorg.core.store.catalog import Catalog

    embedder = load_embedder(model)
    embedder.encode_images([__import__("PIL.Image").Image.new("RGB", (64, 64))])  # warm up
    with Catalog(catalog) as cat:
        cat.add_root(folder)
        cpu_clip, start = time.process_time(), time.perf_counter()
        scan_library(cat)
        clip = Indexer(cat, embedder, batch_size=batch).run()
        t_clip = time.perf_counter() - start
        cpu_clip = time.process_time() - cpu_clip
        cpu0, start = time.process_time(), time.perf_counter()
        again = Indexer(cat, embedder, batch_size=batch, face_pass=faces.face_pass).run()
        t_faces = time.perf_counter() - start
        cpu_faces = time.process_time() - cpu0
        assert again.embedded == 0 and again.faces_photos == clip.embedded, (clip, again)
    return {"photos": clip.embedded, "t_no_faces": t_clip, "t_faces": t_faces,
            "cpu_no_faces": cpu_clip,
            "cpu_faces": cpu_faces, "peak_rss_mb": peak_rss_mb(), "face_workers":
            faces.default_face_workers(), "cpus": os.cpu_count()}


def _previous_face_pass(paths: list[Path]) -> tuple[float, float]:
    """(wall, CPU) seconds per photo of the face pass before issue 13: a full-size decode
    resized into 2048 px, HOG on the RGB image, landmarks and descriptors, one thread."""
    import dlib
    import numpy as np

    from photoorg.core.media.imaging import load_rgb
    from photoorg.core.people.faces import CHIP_PADDING, CHIP_SIZE, FaceAnalyzer

    analyzer = FaceAnalyzer(reject_drawings=False, proposals=False,
                            torch_descriptors=False)
    detector, shape_predictor, encoder = analyzer._models()
    cpu0, start = time.process_time(), time.perf_counter()
    for path in paths:
        pixels = np.ascontiguousarray(np.asarray(load_rgb(path, max_side=2048)))
        rects, _, _ = detector.run(pixels, 0, 0.0)
        chips = [dlib.get_face_chip(pixels, shape_predictor(pixels, r), CHIP_SIZE, CHIP_PADDING)
                 for r in rects]
        if chips:
            encoder.compute_face_descriptor(chips, 0)
    n = max(1, len(paths))
    return (time.perf_counter() - start) / n, (time.process_time() - cpu0) / n


def _proposals_vs_full_scan(paths: list[Path], sample: list[Path]) -> dict:
    """The face-proposal path against HOG over the whole photo (this pass before face
    proposals), one thread each: on ``paths``, how many of the faces the full scan keeps
    are kept with proposals too (same place, IoU > 0.5); on ``sample``, CPU per photo."""
    from photoorg.core.media.boxes import iou
    from photoorg.core.people.faces import FaceAnalyzer

    full, proposed = FaceAnalyzer(proposals=False), FaceAnalyzer()
    assert proposed.proposer is not None, "the face-proposal model did not load"

    found = kept = 0
    for path in paths:
        theirs = [f.box for f in proposed.analyze(path)]
        for face in full.analyze(path):
            found += 1
            kept += any(iou(face.box, box) > 0.5 for box in theirs)
    cpu = {}
    for name, analyzer in (("full", full), ("proposals", proposed)):
        start = time.process_time()
        for path in sample:
            analyzer.analyze(path)
        cpu[name] = (time.process_time() - start) / max(1, len(sample))
    return {"full_scan_faces": found, "full_scan_faces_kept_with_proposals": kept,
            "full_scan_cpu_ms_per_photo": round(1000 * cpu["full"], 1),
            "proposals_cpu_ms_per_photo": round(1000 * cpu["proposals"], 1),
            "proposals_cpu_vs_full_scan": round(cpu["full"] / cpu["proposals"], 2)}


def run_people(args: argparse.Namespace, sources: list[Path], work: Path) -> dict:
    import multiprocessing
    import os

    import people_photos as pp

    from photoorg.core.models.embedder import load_embedder
    from photoorg.core.store.catalog import Catalog

    load = [round(v, 1) for v in os.getloadavg()]
    n = args.count
    n_people, n_drawings = max(4, round(0.3 * n)), max(6, round(0.1 * n))
    folder = work / "people"
    with ProcessPoolExecutor(1) as maker:
        lib = maker.submit(pp.make_library, folder, sources, args.faces_dev,
                           scenes=max(1, n - n_people - n_drawings), people=n_people,
                           drawings=n_drawings).result()
    paths = sorted(folder.glob("*.jpg"))
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as child:
        idx = child.submit(_index_child, args.model, folder, work / "catalog.sqlite",
                           args.batch).result()
    embedder = load_embedder(args.model)
    embedder.encode_images([__import__("PIL.Image").Image.new("RGB", (64, 64))])
    cpu_naive = time.process_time()
    t_naive = run_naive(embedder, paths)
    cpu_naive = time.process_time() - cpu_naive
    sample = paths[:: max(1, len(paths) // 12)]
    prev_wall, prev_cpu = _previous_face_pass(sample)
    with_faces = [folder / name for name in sorted(lib.people) + sorted(lib.drawings)]
    scan = _proposals_vs_full_scan(with_faces, sample)
    with Catalog(work / "catalog.sqlite") as cat:
        faces = pp.catalog_faces(cat)
    quality = pp.score_people(lib, faces)
    order = pp.order_independence(folder, faces, work)
    order.pop("order_runs")
    photos = idx["photos"]
    face_ms = 1000 * idx["t_faces"] / photos
    full = idx["t_no_faces"] + idx["t_faces"]
    return {
        "mode": "people", "model": args.model, "photos": photos, "size": "12mp",
        "load_avg_before": load, "load_avg_after": [round(v, 1) for v in os.getloadavg()],
        "cpus": idx["cpus"], "face_workers": idx["face_workers"],
        "naive_clip_s": round(t_naive, 2),
        "index_no_faces_s": round(idx["t_no_faces"], 2),
        "face_pass_s": round(idx["t_faces"], 2),
        "face_pass_ms_per_photo": round(face_ms, 1),
        "face_pass_cpu_ms_per_photo": round(1000 * idx["cpu_faces"] / photos, 1),
        "previous_face_pass_ms_per_photo": round(1000 * prev_wall, 1),
        "previous_face_pass_cpu_ms_per_photo": round(1000 * prev_cpu, 1),
        "face_pass_vs_previous": round(1000 * prev_wall / face_ms, 2),
        "face_pass_cpu_vs_previous": round(prev_cpu * photos / idx["cpu_faces"], 2),
        "no_faces_vs_naive": round(t_naive / idx["t_no_faces"], 2),
        "full_index_vs_naive": round(t_naive / full, 2),
        "naive_clip_cpu_s": round(cpu_naive, 2),
        "index_no_faces_cpu_s": round(idx["cpu_no_faces"], 2),
        "face_pass_cpu_s": round(idx["cpu_faces"], 2),
        "full_index_vs_naive_cpu": round(cpu_naive / (idx["cpu_no_faces"] + idx["cpu_faces"]), 2),
        "index_peak_rss_mb": round(idx["peak_rss_mb"], 1),
        **scan, **quality, **order,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32/random")
    parser.add_argument("--photos", type=Path, help="folder of source JPEGs")
    parser.add_argument("--count", type=int, default=48, help="photos per size")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--sizes", default="12mp,2mp")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--people", action="store_true",
                        help="a mixed 12 MP library with faces: CLIP + face pass, one JSON line")
    parser.add_argument("--faces-dev", type=Path,
                        default=REPO / "tests" / "data" / "faces-dev")
    args = parser.parse_args()
    if args.people and not args.faces_dev.is_dir():
        parser.error(f"faces-dev not found at {args.faces_dev} (give --faces-dev DIR)")

    from photoorg.core.models.embedder import load_embedder

    sources = (
        sorted(args.photos.glob("*.jpg")) if args.photos
        else fetch_mate_backgrounds(REPO / "bench-data" / "mate")
    )
    if args.people:
        work = Path(tempfile.mkdtemp(prefix="photoorg-bench-"))
        try:
            row = run_people(args, sources, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(json.dumps(row) if args.json else row)
        return 0
    embedder = load_embedder(args.model)
    embedder.encode_images([__import__("PIL.Image").Image.new("RGB", (64, 64))])  # warm up
    results = []
    work = Path(tempfile.mkdtemp(prefix="photoorg-bench-"))
    try:
        sizes = args.sizes.split(",")
        sets, t_index, rss = {}, {}, {}
        for name in sizes:
            # photos are made in a child process so their big decodes don't count
            # towards this process's peak memory
            with ProcessPoolExecutor(1) as maker:
                sets[name] = maker.submit(make_set, sources, SIZES[name], args.count,
                                          work / name).result()
        # every indexer run first: the peak RSS after them is the indexer's own (the naive
        # loop's full 12 MP decodes would otherwise count towards the next size's figure)
        for name in sizes:
            t_index[name] = run_indexer(embedder, work / name, args.batch)
            rss[name] = peak_rss_mb()
        for name in sizes:
            paths = sets[name]
            t_naive = run_naive(embedder, paths)
            t_model = run_model_only(embedder, paths, args.batch)
            n = len(paths)
            row = {
                "size": name,
                "photos": n,
                "model": args.model,
                "indexer_per_s": round(n / t_index[name], 2),
                "naive_per_s": round(n / t_naive, 2),
                "model_only_per_s": round(n / t_model, 2),
                "indexer_vs_naive": round(t_naive / t_index[name], 2),
                "indexer_vs_model_only": round(t_model / t_index[name], 2),
                "peak_rss_mb_after_indexer": round(rss[name], 1),
            }
            results.append(row)
            print(json.dumps(row) if args.json else row, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {"summary": True,
               "indexing_peak_rss_mb": max(r["peak_rss_mb_after_indexer"] for r in results),
               **{f"{r['size']}_indexer_vs_naive": r["indexer_vs_naive"] for r in results},
               **{f"{r['size']}_indexer_vs_model_only": r["indexer_vs_model_only"]
                  for r in results}}
    print(json.dumps(summary) if args.json else summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
