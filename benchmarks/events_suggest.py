"""Events and suggested names: speed of the event split, and the suggestion gate's rates.

Prints JSON:

* ``events``: splitting N dated photos (a synthetic 10-year library: bursts of photos on
  random days, GPS on some) into events, vs sorting the same timestamps (the floor any split
  pays) -- ``ratio_vs_sort``;
* ``gate_null``: how often the gate suggests something when the labels mean nothing
  (random label, shuffle and photo vectors: exchangeable), vs its design rate ``ALPHA``;
* ``gate_tiny``: with the bundled tiny CLIP, how many of the 24 colour-shape groups get a
  suggestion from the built-in scene and pet vocabularies (should be 0) and from a shapes
  vocabulary (and how many of those are right), and the same for random weights.

    python benchmarks/events_suggest.py --json [--n 100000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photoorg.core.groups import events as ev  # noqa: E402
from photoorg.core.groups import suggest as sg  # noqa: E402


def bench_events(n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    start = 1_400_000_000.0
    days = np.sort(rng.choice(3650, size=max(1, n // 40), replace=False))
    rows = []
    pid = 0
    for day in days:
        base = start + day * 86400 + rng.uniform(8, 18) * 3600
        located = rng.random() < 0.5
        lat, lon = (rng.uniform(-60, 60), rng.uniform(-170, 170)) if located else (None, None)
        for _ in range(40):
            pid += 1
            rows.append((pid, base + rng.uniform(0, 4 * 3600), 60 if located else None,
                         lat, lon))
    rows = rows[:n]
    t0 = time.perf_counter()
    sorted(r[1] for r in rows)
    sort_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = ev.split_events(ev.make_shots(rows), lambda shots: ["Somewhere"] * len(shots))
    split_s = time.perf_counter() - t0
    return {"photos": len(rows), "events": len(found), "split_s": round(split_s, 3),
            "sort_s": round(sort_s, 4), "ratio_vs_sort": round(split_s / max(sort_s, 1e-9), 1)}


def bench_gate_null(trials: int = 3000, m: int = 24, dim: int = 64, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(trials):
        labels = rng.normal(size=(m, dim))
        null = rng.normal(size=(sg.NULLS_PER_LABEL * m, dim))
        hits += sg.suggest_label(rng.normal(size=(6, dim)), labels, null,
                                 [str(i) for i in range(m)]) is not None
    return {"trials": trials, "suggested_rate": round(hits / trials, 4), "alpha": sg.ALPHA}


def bench_gate_tiny() -> dict:
    from photoorg.core.media.synthetic import CLASSES, draw_shape_image
    from photoorg.core.models.embedder import TEST_MODEL, load_embedder, weights_available

    if not weights_available(TEST_MODEL):
        return {"skipped": "tiny model missing"}
    shapes = sg.Vocabulary.of([f"{c} {s}" for c, s in CLASSES], name="shapes")
    out = {}
    for name, spec in (("trained", TEST_MODEL), ("random", "photoorg-tiny/random")):
        emb = load_embedder(spec, threads=2)
        groups = {c: emb.encode_images([draw_shape_image(*c, size=96, seed=900 + i)
                                        for i in range(5)]) for c in CLASSES}
        row = {}
        for vname, vocab, nulls in (
            ("scenes", sg.SCENES, sg.null_prompts([sg.SCENES, sg.PETS])),
            ("pets", sg.PETS, sg.null_prompts([sg.SCENES, sg.PETS])),
            ("shapes", shapes, sg.null_prompts([shapes])),
        ):
            labels, null = emb.encode_texts(vocab.prompts), emb.encode_texts(nulls)
            found = {c: sg.suggest_label(x, labels, null, vocab.labels)
                     for c, x in groups.items()}
            named = {c: s.name for c, s in found.items() if s is not None}
            row[vname] = {"groups": len(groups), "suggested": len(named),
                          "right": sum(v == f"{c[0]} {c[1]}" for c, v in named.items())}
        out[name] = row
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {"events": bench_events(args.n), "gate_null": bench_gate_null(),
              "gate_tiny": bench_gate_tiny()}
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
