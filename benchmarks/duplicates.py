"""Cost of grouping duplicates around their keepers, next to finding the look-alike pairs.

    python benchmarks/duplicates.py --n 10000 --json

Prints ONE JSON line: ``{"photos", "pairs", "groups", "pairs_s", "grouping_s",
"grouping_over_pairs"}``. ``pairs_s``: :meth:`SearchIndex.duplicate_pairs` (blockwise
matmul, numpy) over N synthetic 512-d vectors, half of them noisy copies of the other half,
stored through the catalog; ``grouping_s``: :func:`photoorg.core.search.engine.keeper_groups` on
those pairs (same run). The ratio says what the no-chaining grouping adds.
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

from photoorg.core.search.engine import SearchIndex, keeper_groups  # noqa: E402
from photoorg.core.store.catalog import Catalog  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--json", action="store_true")
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
              "grouping_over_pairs": round(grouping_s / pairs_s, 4)}
    print(json.dumps(result) if args.json else result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
