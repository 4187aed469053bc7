"""Search speed on N synthetic vectors stored through the catalog's own API.

    python benchmarks/search.py --n 100000 --json

Prints ONE JSON line: ``{"n", "p50_ms", "p95_ms", "floor_ms", "ratio", "startup_ms", ...}``.
``floor_ms``: numpy float32 matmul + argpartition top-k over an in-memory float32 matrix
(same queries, same run). ``startup_ms``: a new Catalog + new SearchIndex (fresh state,
start-up cache file present) to the first answer; ``startup_sqlite_ms`` the same without
the cache file (vectors read from SQLite). Query encoding is excluded: queries are
vectors. Vectors are clustered (like real photo embeddings) and L2-normalised; queries are
noisy copies of library vectors. ``--data-dir`` keeps (and on a rerun with the same N,
reuses) the library.

``library_p50_ms`` / ``library_p95_ms``: the same queries through the one search the CLI
and the window call (:func:`photoorg.core.search.library_search.search_library`): the full-text
step (FTS5 over file and folder names, tags, places, people), the relevance cut-off and
the merge, with a phrase per query (descriptions, a place, a tag, a folder name); the
library carries a tag on 1% of photos, a place on 2%, a person on 0.5%.
``library_ratio``: library p50 / vector-only p50 (same run).

``--cli-photos N`` adds the ``cli_*`` keys: ``photoorg search QUERY --json`` as a fresh
process on a real library of N indexed photos, light (ONNX) and torch runtimes, seconds
and peak RSS (``benchmarks/search_cli.py``); ``--cli-only`` prints only those::

    python benchmarks/search.py --cli-photos 2000 --cli-only --cli-baseline /work/main --json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import apsw
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from photoorg.core.groups import clusters  # noqa: E402
from photoorg.core.search.engine import Filters, SearchIndex  # noqa: E402
from photoorg.core.search.library_search import search_library  # noqa: E402
from photoorg.core.store.catalog import Catalog  # noqa: E402

MODEL_SPEC = "benchmark/synthetic"
BATCH = 50_000


def synthetic_vectors(n: int, dim: int, seed: int, start: int = 0) -> np.ndarray:
    """Rows ``start .. start+n`` of a fixed clustered set: 1000 centres + noise, normalised."""
    centres = np.random.default_rng(seed).standard_normal((1000, dim), dtype=np.float32)
    rng = np.random.default_rng(seed + 1 + start)
    which = rng.integers(0, len(centres), n)
    mat = centres[which] + 1.3 * rng.standard_normal((n, dim), dtype=np.float32)
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    return mat


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_library(
    data: Path, n: int, dim: int, seed: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """The catalog with N photos + vectors (reused when already there); returns the photo
    ids, their float32 matrix and the seconds spent inserting."""
    path = data / "catalog.sqlite"
    with Catalog(path) as cat:
        model = cat.set_target_model(MODEL_SPEC, dim)
        have = cat.vector_count(model.id)
        if have == n:
            log(f"reusing {n} vectors in {path}")
            ids, mat = cat.load_vectors_bulk(model.id)
            return ids, mat, 0.0
        if have:
            raise SystemExit(f"{path} holds {have} vectors, not {n}: use another --data-dir")
        photos = data / "photos"
        photos.mkdir(exist_ok=True)
        root = cat.add_root(photos)
        mats, all_ids = [], []
        start = time.perf_counter()
        for at in range(0, n, BATCH):
            count = min(BATCH, n - at)
            ids = cat.add_photos(
                root.id,
                ((f"folder{i % 1000:03d}/img_{i:07d}.jpg", 1000, 0.0, None)
                 for i in range(at, at + count)),
            )
            mat = synthetic_vectors(count, dim, seed, at)
            cat.store_vectors(model.id, ids, mat)
            mats.append(mat)
            all_ids += ids
            log(f"inserted {at + count}/{n} ({time.perf_counter() - start:.1f}s)")
        seconds = time.perf_counter() - start
        cat.conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
    return np.array(all_ids, np.int64), np.concatenate(mats), seconds


PHRASES = [
    "a dog on the beach at sunset", "Paris", "birthday cake with candles", "Keepers",
    "snow covered mountains", "Alice Martin", "folder007", "a red car in the street",
    "city skyline at night", "Paris in the rain",
]


def add_labels(cat: Catalog, ids: np.ndarray) -> None:
    """Words for the full-text step to find: a tag, a place, a person (once)."""
    if cat.scalar("SELECT 1 FROM tags WHERE name = 'Keepers'"):
        return
    ids = ids.tolist()
    clusters.add_tag(cat, ids[::100], "Keepers")
    place = clusters.create_cluster(cat, "places", auto_name="Paris, France")
    with cat.transaction():
        for pid in ids[::50]:
            cat.execute("INSERT INTO cluster_photos(cluster_id, photo_id) VALUES(?, ?)",
                        (place, pid))
    person = clusters.create_cluster(cat, "people", "Alice Martin")
    with cat.transaction():
        for pid in ids[::200]:
            cat.execute("INSERT INTO faces(photo_id, x, y, w, h, descriptor, cluster_id, "
                        "created_at) VALUES(?, 0.1, 0.1, 0.2, 0.2, x'00', ?, 0)", (pid, person))


class QueryVectors:
    """Stands in for the text encoder: the benchmark's queries are vectors."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.current = np.zeros(dim, np.float32)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return np.repeat(self.current[None], len(texts), axis=0)

    def encode_images(self, images: list) -> np.ndarray:
        raise NotImplementedError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("-k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="auto", choices=["auto", "torch", "numpy"])
    parser.add_argument("--data-dir", help="keep the library here (default: a temp folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--cli-photos", type=int, default=0,
                        help="also time `photoorg search` processes on a library this big")
    parser.add_argument("--cli-query", default="a dog on the beach")
    parser.add_argument("--cli-repeat", type=int, default=3)
    parser.add_argument("--cli-model", default="ViT-B-32/random")
    parser.add_argument("--cli-baseline", type=Path,
                        help="another checkout (e.g. main) timed on the same library")
    parser.add_argument("--cli-only", action="store_true", help="only the cli_* keys")
    args = parser.parse_args(argv)
    cli: dict = {}
    if args.cli_photos:
        sys.path.insert(0, str(REPO / "benchmarks"))
        from search_cli import run as run_cli

        cli = run_cli(args.cli_photos, args.cli_query, args.cli_repeat, args.cli_model,
                      args.cli_baseline)
        if args.cli_only:
            print(json.dumps(cli) if args.json else
                  "\n".join(f"{k:30} {v}" for k, v in cli.items()))
            return 0

    t0 = time.perf_counter()
    import torch  # noqa: F401 - the app has it loaded for the text encoder anyway

    torch_import_ms = (time.perf_counter() - t0) * 1e3
    tmp = None
    if args.data_dir:
        data = Path(args.data_dir).expanduser().resolve()
        data.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="photoorg-bench-")
        data = Path(tmp.name)
    try:
        photo_ids, mat, insert_s = build_library(data, args.n, args.dim, args.seed)
        with Catalog(data / "catalog.sqlite") as cat:
            add_labels(cat, photo_ids)
        rng = np.random.default_rng(args.seed + 99)
        picks = rng.integers(0, args.n, args.queries)
        queries = mat[picks] + 0.6 * rng.standard_normal((args.queries, args.dim)).astype(
            np.float32
        ) / np.sqrt(args.dim)
        queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
        k = args.k

        # The floor: float32 matmul + argpartition over the in-memory matrix.
        def floor_topk(q: np.ndarray) -> np.ndarray:
            scores = mat @ q
            top = np.argpartition(scores, len(scores) - k)[len(scores) - k :]
            return top[np.argsort(-scores[top])]

        floor_topk(queries[0])
        floor_times, truth = [], []
        for q in queries:
            t = time.perf_counter()
            truth.append(floor_topk(q))
            floor_times.append(time.perf_counter() - t)

        catalog_path = data / "catalog.sqlite"
        # First open: no cache file yet -> reads SQLite and writes the cache.
        t = time.perf_counter()
        index = SearchIndex(catalog_path, backend=args.backend)
        index.search(queries[0], k=k)
        first_open_ms = (time.perf_counter() - t) * 1e3
        index.close()
        del index
        gc.collect()

        # Start-up to first answer with the cache file (fresh Catalog + index).
        t = time.perf_counter()
        index = SearchIndex(Catalog(catalog_path, readonly=True), backend=args.backend)
        index.search(queries[0], k=k)
        startup_ms = (time.perf_counter() - t) * 1e3
        loaded_from = index.loaded_from

        index.search(queries[1], k=k)
        times, agree = [], 0
        for q, want in zip(queries, truth, strict=True):
            t = time.perf_counter()
            hits = index.search(q, k=k)
            times.append(time.perf_counter() - t)
            agree += len({h.photo_id for h in hits} & set(photo_ids[want].tolist()))
        recall = agree / (k * len(queries))

        encoder = QueryVectors(args.dim)
        library_times, cut_totals = [], []
        for i, q in enumerate(queries):
            encoder.current = q
            phrase = PHRASES[i % len(PHRASES)]
            t = time.perf_counter()
            page = search_library(index, phrase, encoder, k=k)
            library_times.append(time.perf_counter() - t)
            cut_totals.append(page.total)

        folder = data / "photos" / "folder007"
        filtered = []
        for q in queries[:20]:
            t = time.perf_counter()
            index.search(q, k=k, filters=Filters(folder=folder))
            filtered.append(time.perf_counter() - t)
        stats = index.stats()
        index.close()

        cache_file = Path(stats.cache_file) if stats.cache_file else None
        startup_sqlite_ms = None
        if cache_file is not None and cache_file.exists():
            cache_file.unlink()
            gc.collect()
            t = time.perf_counter()
            index = SearchIndex(Catalog(catalog_path, readonly=True), backend=args.backend)
            index.search(queries[0], k=k)
            startup_sqlite_ms = (time.perf_counter() - t) * 1e3
            index.close()

        p50 = float(np.percentile(times, 50) * 1e3)
        floor = float(np.percentile(floor_times, 50) * 1e3)
        result = {
            "n": args.n,
            "p50_ms": round(p50, 2),
            "p95_ms": round(float(np.percentile(times, 95) * 1e3), 2),
            "floor_ms": round(floor, 2),
            "ratio": round(p50 / floor, 3),
            "startup_ms": round(startup_ms, 1),
            "startup_sqlite_ms": round(startup_sqlite_ms, 1) if startup_sqlite_ms else None,
            "first_open_ms": round(first_open_ms, 1),
            "loaded_from": loaded_from,
            "recall_at_k": round(recall, 4),
            "k": k,
            "filtered_p50_ms": round(float(np.percentile(filtered, 50) * 1e3), 2),
            "library_p50_ms": round(float(np.percentile(library_times, 50) * 1e3), 2),
            "library_p95_ms": round(float(np.percentile(library_times, 95) * 1e3), 2),
            "library_ratio": round(float(np.percentile(library_times, 50)) * 1e3 / p50, 3),
            "results_p50": int(np.percentile(cut_totals, 50)),
            "mode": stats.backend,
            "memory_mb": round(stats.memory_bytes / 1e6, 1),
            "insert_s": round(insert_s, 1),
            "torch_import_ms": round(torch_import_ms, 1),
            "load_avg": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            **cli,
        }
    finally:
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:18} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
