"""Text encoding: open_clip's full-context ``encode_text`` vs photoorg's, which stops at the
batch's last end-of-text token (photoorg.core.models.embedder._encode_text), in one process.

    python benchmarks/text_encoding.py --json [--model ViT-B-32/random]

Encodes the suggested-names prompts (``photoorg.core.groups.suggest``, ~550, in batches of 16 as
the names stage does) and single search queries both ways; prints one JSON line with
seconds, the ratio and the largest difference between the vectors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUERIES = ["dog", "dog on the beach at sunset", "birthday cake with candles",
           "a red car parked in front of a house", "snow", "two children playing football"]


def main() -> int:
    import torch

    from photoorg.core.groups import suggest
    from photoorg.core.models import embedder as E

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32/random")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    embedder = E.load_embedder(args.model)
    embedder.load("text")
    model, tokenize = embedder.model, embedder.tokenizer()
    prompts = sorted(set(suggest._builtin_prompts()))
    batches = [tokenize(prompts[i:i + E.TEXT_BATCH]) for i in range(0, len(prompts), E.TEXT_BATCH)]
    queries = [tokenize([q]) for q in QUERIES]
    ways = {"full": lambda t: model.encode_text(t, normalize=True),
            "trimmed": lambda t: E._encode_text(model, t)}
    seconds, vectors = {}, {}
    with torch.inference_mode():
        for name, encode in ways.items():
            encode(queries[0])  # warm up
            start = time.perf_counter()
            vectors[name] = torch.cat([encode(b) for b in batches])
            seconds[f"{name}_prompts_s"] = time.perf_counter() - start
            start = time.perf_counter()
            for _ in range(3):
                for q in queries:
                    encode(q)
            seconds[f"{name}_query_ms"] = 1000 * (time.perf_counter() - start) / (3 * len(queries))
    row = {"model": args.model, "prompts": len(prompts),
           **{k: round(v, 2) for k, v in seconds.items()},
           "prompts_speedup": round(seconds["full_prompts_s"] / seconds["trimmed_prompts_s"], 2),
           "query_speedup": round(seconds["full_query_ms"] / seconds["trimmed_query_ms"], 2),
           "max_abs_diff": float((vectors["full"] - vectors["trimmed"]).abs().max())}
    print(json.dumps(row) if args.json else row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
