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

Prints one JSON line per size and a final summary line.
"""

from __future__ import annotations

import argparse
import glob
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIZES = {"12mp": (4000, 3000), "2mp": (1600, 1200)}


def fetch_mate_backgrounds(dest: Path) -> list[Path]:
    found = sorted(Path(p) for p in glob.glob(str(dest / "**" / "*.jpg"), recursive=True))
    if found:
        return found
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", "mate-backgrounds"], cwd=dest, check=True)
    deb = next(dest.glob("mate-backgrounds*.deb"))
    subprocess.run(["dpkg", "-x", str(deb), str(dest / "x")], check=True)
    return sorted(Path(p) for p in glob.glob(str(dest / "**" / "*.jpg"), recursive=True))


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
    from photoorg.core.catalog import Catalog
    from photoorg.core.indexer import Indexer
    from photoorg.core.scanner import scan_library

    with tempfile.TemporaryDirectory() as tmp, Catalog(Path(tmp) / "c.sqlite") as cat:
        cat.add_root(folder)
        start = time.perf_counter()
        scan_library(cat)
        summary = Indexer(cat, embedder, batch_size=batch).run()
        elapsed = time.perf_counter() - start
        assert summary.embedded == len(list(folder.glob("*.jpg"))), summary
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32/random")
    parser.add_argument("--photos", type=Path, help="folder of source JPEGs")
    parser.add_argument("--count", type=int, default=48, help="photos per size")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--sizes", default="12mp,2mp")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from photoorg.core.embedder import load_embedder

    sources = (
        sorted(args.photos.glob("*.jpg")) if args.photos
        else fetch_mate_backgrounds(REPO / "bench-data" / "mate")
    )
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
