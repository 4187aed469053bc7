"""CPU cost of candidate CLIP image encoders (random weights = the same compute).

    python benchmarks/model_cost.py --json

Prints one JSON line per model: ms per image at batch 16 on this machine, and the ratio to
ViT-B-32 measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CANDIDATES = ["ViT-B-32/random", "ViT-B-32-256/random", "ViT-B-16/random"]


def ms_per_image(spec: str, batch: int, rounds: int) -> float:
    import torch

    from photoorg.core.models.embedder import load_embedder

    emb = load_embedder(spec)
    x = torch.randn(batch, 3, emb.image_size, emb.image_size)
    emb.encode_image_tensors(x)  # warm up
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        emb.encode_image_tensors(x)
        best = min(best, time.perf_counter() - start)
    return best * 1000 / batch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=CANDIDATES)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base = None
    for spec in args.models:
        ms = ms_per_image(spec, args.batch, args.rounds)
        base = base or ms
        row = {"model": spec, "ms_per_image": round(ms, 1), "vs_first": round(ms / base, 2)}
        print(json.dumps(row) if args.json else row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
