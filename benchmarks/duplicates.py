"""Cost of grouping duplicates around their keepers, next to finding the look-alike pairs,
and of the pixel stage that decides them.

    python benchmarks/duplicates.py --n 10000 --json

Prints ONE JSON line: ``{"photos", "pairs", "groups", "pairs_s", "grouping_s",
"grouping_over_pairs", "signature_ms", "signature_cpu_ms", "decode_ms", "signature_over_decode",
"pixel_photos", "pixel_pairs", "pixel_pair_ms", "copy_pair_ms", "hash_pairs_s"}``.

``pairs_s``: :meth:`SearchIndex.duplicate_pairs` (blockwise matmul, numpy) over N synthetic
512-d vectors, half of them noisy copies of the other half, stored through the catalog;
``grouping_s``: :func:`photoorg.core.search.engine.keeper_groups` on those pairs (same run). The
ratio says what the no-chaining grouping adds.

The pixel stage, on real photos (Debian's mate-backgrounds and the sample portraits, each
with copies: benchmarks/duplicate_library.py): ``decode_ms`` is the embed stage's decode
(``decode_photo(min_side=224)``) per photo and ``signature_ms`` what the signature adds to
it (:func:`photoorg.core.media.pixels.signature` on that decoded image: the indexing cost; wall
time, and ``signature_cpu_ms`` the thread's CPU time, which a busy machine does not inflate);
``pixel_pair_ms``: :func:`photoorg.core.media.pixels.compare` per candidate pair over every pair
of photos of different origin (what a model proposing nonsense costs: the crop search runs),
``copy_pair_ms`` over the true copy pairs; ``hash_pairs_s``: the model-free proposals
(:func:`photoorg.core.media.pixels.hash_pairs`) over N hashes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photoorg.core.media import pixels  # noqa: E402
from photoorg.core.media.imaging import decode_photo  # noqa: E402
from photoorg.core.search.engine import SearchIndex, keeper_groups  # noqa: E402
from photoorg.core.store.catalog import Catalog  # noqa: E402


def pixel_costs(work: Path, n: int) -> dict:
    """The pixel stage's cost on real photos and their copies (see the module docstring)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import duplicate_library
    from people_photos import fetch_mate_backgrounds

    folder = work / "photos"
    truth_file = work / "photos-truth.json"
    if truth_file.exists():
        truth = duplicate_library.Truth(**json.loads(truth_file.read_text()))
    else:
        shared = Path(__file__).resolve().parents[2] / "shared"
        truth = duplicate_library.build(folder, fetch_mate_backgrounds(work / "mate"),
                                        duplicate_library.faces_dev(shared))
    names = sorted(truth.origin)
    decode_s = sig_s = sig_cpu = 0.0
    sigs = {}
    for name in names:
        start = time.perf_counter()
        image = decode_photo(folder / name, min_side=224).image
        mid = time.perf_counter()
        cpu = time.thread_time()
        sigs[name] = pixels.signature(image)
        sig_cpu += time.thread_time() - cpu
        sig_s += time.perf_counter() - mid
        decode_s += mid - start
    others = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]
              if truth.origin[a] != truth.origin[b]]
    copies = [(truth.original[truth.origin[c]], c) for c in truth.copy]
    timings = {}
    for label, pairs in (("pixel_pair_ms", others), ("copy_pair_ms", copies)):
        fresh = {k: pixels.Signature(v.grey, v.aspect, v.phash, v.colour)  # no cached work
                 for k, v in sigs.items()}
        start = time.perf_counter()
        for a, b in pairs:
            pixels.compare(fresh[a], fresh[b])
        timings[label] = round(1000 * (time.perf_counter() - start) / max(1, len(pairs)), 3)
    rng = np.random.default_rng(1)
    hashes = [int(h) for h in rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)]
    start = time.perf_counter()
    pixels.hash_pairs(list(range(n)), hashes)
    hash_s = time.perf_counter() - start
    return {"signature_ms": round(1000 * sig_s / len(names), 3),
            "signature_cpu_ms": round(1000 * sig_cpu / len(names), 3),
            "decode_ms": round(1000 * decode_s / len(names), 2),
            "signature_over_decode": round(sig_s / decode_s, 4),
            "pixel_photos": len(names), "pixel_pairs": len(others), **timings,
            "hash_pairs_s": round(hash_s, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "photoorg-dupq",
                        help="where the real-photo set is built (kept between runs)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    dim, n = 512, args.n
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    vecs[n // 2 :] = vecs[: n - n // 2] + 0.15 * rng.standard_normal((n - n // 2, dim))
    with tempfile.TemporaryDirectory() as tmp, Catalog(Path(tmp) / "catalog.db") as cat:
        root = cat.add_root(Path(tmp) / "photos")
        model = cat.set_target_model("bench/vectors", dim)
        ids = cat.add_photos(root.id, [(f"{i}.jpg", 1, 0.0, None) for i in range(n)])
        cat.store_vectors(model.id, ids, vecs)
        with SearchIndex(cat, cache=False, backend="numpy") as index:
            start = time.perf_counter()
            pairs = index.duplicate_pairs(args.threshold)
            pairs_s = time.perf_counter() - start
            start = time.perf_counter()
            groups = keeper_groups(pairs)
            grouping_s = time.perf_counter() - start
    result = {"photos": n, "pairs": len(pairs), "groups": len(groups),
              "pairs_s": round(pairs_s, 3), "grouping_s": round(grouping_s, 4),
              "grouping_over_pairs": round(grouping_s / pairs_s, 4),
              **pixel_costs(args.work, n)}
    print(json.dumps(result) if args.json else result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
