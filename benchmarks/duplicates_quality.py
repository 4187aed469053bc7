"""Whether duplicates can cost a unique photo: the real commands on a library of real photos
with known copies (benchmarks/duplicate_library.py), once per model.

    python benchmarks/duplicates_quality.py --json [--models photoorg-tiny/bundled ViT-B-32/random]

For each model: ``photoorg index`` (no faces, no text) into a fresh data folder, then
``photoorg duplicates --json``, scored against the truth. Prints ONE JSON line:
``{"photos", "models": {spec: {"groups", "false_groups", "exact_copies", "exact_grouped",
"exact_recall", "exact_as_exact", "edited_copies", "edited_grouped", "edited_preselected",
"different_pairs_over_097", "index_s", "duplicates_s"}}}``. ``false_groups``: groups whose
photos come from more than one origin (must be 0); ``exact_recall``: resized / recompressed /
EXIF-rotated / converted copies grouped with their original; ``different_pairs_over_097``:
pairs of photos of different origin whose CLIP cosine is above 0.97 (what a cosine-only
duplicate finder would have joined).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import duplicate_library  # noqa: E402
from people_photos import fetch_mate_backgrounds  # noqa: E402

from photoorg import config  # noqa: E402
from photoorg.core.store.catalog import Catalog  # noqa: E402

MODELS = ("photoorg-tiny/bundled", "ViT-B-32/random", "photoorg-tiny/random")


def _photoorg(data: Path, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    done = subprocess.run([sys.executable, "-m", "photoorg", "--data-dir", str(data), *args],
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"photoorg {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def score(groups: list, truth: duplicate_library.Truth, folder: Path, data: Path) -> dict:
    name_of = {str(folder / n): n for n in truth.origin}
    false = 0
    together: set[tuple[str, str]] = set()
    preselected: set[str] = set()
    kinds: dict[str, str] = {}
    for group in groups:
        names = [name_of[m["path"]] for m in group]
        if len({truth.origin[n] for n in names}) > 1:
            false += 1
        keeper = next(name_of[m["path"]] for m in group if m["keep"])
        for m in group:
            n = name_of[m["path"]]
            kinds[n] = m["kind"]
            together.update((n, o) for o in names)
            if not m["keep"] and m["kind"] == "exact":
                preselected.add(n)
        assert keeper in names
    exact = [n for n, k in truth.copy.items() if k in duplicate_library.EXACT_COPIES]
    edited = [n for n, k in truth.copy.items() if k in duplicate_library.EDITED_COPIES]

    def grouped(n: str) -> bool:
        return (n, truth.original[truth.origin[n]]) in together

    with Catalog(config.catalog_path(data), readonly=True) as cat:
        ids, mat = cat.load_vectors(cat.active_model().id)
        paths = dict(cat.query("SELECT id, rel_path FROM photos"))
    mat = mat / np.linalg.norm(mat, axis=1, keepdims=True)
    sims = mat @ mat.T
    origin = [truth.origin[paths[int(i)]] for i in ids]
    over = sum(1 for i in range(len(ids)) for j in range(i + 1, len(ids))
               if sims[i, j] > 0.97 and origin[i] != origin[j])
    return {
        "groups": len(groups), "false_groups": false,
        "exact_copies": len(exact), "exact_grouped": sum(map(grouped, exact)),
        "exact_recall": round(sum(map(grouped, exact)) / len(exact), 4),
        "exact_as_exact": sum(1 for n in exact if grouped(n) and kinds.get(n) == "exact"),
        "edited_copies": len(edited), "edited_grouped": sum(map(grouped, edited)),
        "edited_preselected": sum(1 for n in edited if n in preselected),
        "different_pairs_over_097": over,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "photoorg-dupq")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = args.work / "photos"
    truth_file = args.work / "photos-truth.json"
    if truth_file.exists():
        truth = duplicate_library.Truth(**json.loads(truth_file.read_text()))
    else:
        wallpapers = fetch_mate_backgrounds(args.work / "mate")
        shared = HERE.parent / "tests"  # its data/faces-dev (MIT, licence beside it)
        truth = duplicate_library.build(folder, wallpapers, duplicate_library.faces_dev(shared))
    out: dict = {"photos": len(truth.origin), "models": {}}
    for spec in args.models:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            start = time.perf_counter()
            _photoorg(data, "index", str(folder), "--model", spec, "--no-faces",
                      "--read-text", "off", "-q")
            index_s = time.perf_counter() - start
            start = time.perf_counter()
            groups = json.loads(_photoorg(data, "duplicates", "--json") or "[]")
            dup_s = time.perf_counter() - start
            result = score(groups, truth, folder, data)
            result.update(index_s=round(index_s, 2), duplicates_s=round(dup_s, 2))
            out["models"][spec] = result
    print(json.dumps(out) if args.json else json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
