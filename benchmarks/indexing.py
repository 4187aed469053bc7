"""Indexing as users run it: the real ``photoorg index`` against the naive loop and the model.

Every contender runs in its own child process, start-up included (a fresh library each
time), on the same photos with the same model:
- ``index``: the full default ``photoorg index --json`` (embed, metadata, faces, clusters,
  suggested names, OCR) on a fresh library; its own ``--json`` gives the seconds per stage;
- ``index_clip``: ``photoorg index --no-faces --read-text off --json`` on a fresh library;
- ``index_clip_scenes``: the same on the library's scene photos alone (the issue's 96 of
  120), against ``naive_scenes``, the naive loop on those photos
  (``index_clip_scenes_vs_naive``);
- ``index_no_text``: ``photoorg index --read-text off --json`` (faces on) on a fresh
  library: what reading text adds (``ocr_ms_per_photo``; ``text_stage_photos``, those that
  reached the OCR stage);
- ``index_again``: ``photoorg index FOLDER`` once more on the indexed library (nothing new:
  the start-up a user pays for a check);
- ``naive``: the seed blog posts' CLIP-only loop -- ``Image.open → convert → open_clip
  preprocess → encode`` one image at a time (model load included);
- ``model_only``: inference alone on already-preprocessed tensors in batches of ``--batch``
  (what the embed stage could reach if decoding and everything else were free).

Library: ``--count`` camera-like 12 MP JPEGs (4000×3000) made from real photos (Debian's
``mate-backgrounds``, fetched with ``apt-get download`` into ``bench-data/``; or
``--photos DIR``) by ``benchmarks/people_photos.py``: a fifth with one or two real faces from
``--faces-dev`` (``tests/data/faces-dev``) pasted in at 150-400 px, the rest scenes, a
tenth of all with a painted word (``benchmarks/ocr.py``'s signs). The default 120 photos:
96 scenes, 24 with a person, 12 with a word. Made once into ``bench-data/indexing/``.

The app's cache folder (``PHOTOORG_CACHE_DIR``) starts empty. What is cached there once
for every library (the prompt vectors of suggested names) is paid by a one-photo library
indexed first (``first_library_s`` and its stages: a user's very first library); the big
libraries are fresh but find it, as a user's next library would.

    python benchmarks/indexing.py --json
    python benchmarks/indexing.py --count 48 --model ViT-B-32-256/random --json

``--proposals``: also, after the timed runs, the faces a whole-photo HOG scan keeps that
the face-proposal path keeps too, and the CPU of each per photo (one thread).

Prints one JSON line: seconds of each run, the ratios (``index_vs_naive``: naive seconds /
index seconds; ``_cpu``: the same over the children's CPU seconds, less sensitive to other
work on the machine but blind to using both cores), ``index``'s stages, peak RSS
(``ru_maxrss`` of each child), whether every person photo was clustered and every painted
word found, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
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


def make_mixed(folder: Path, sources: list[Path], faces_dev: Path, count: int,
               seed: int = 0) -> dict:
    """The mixed library (once: kept with its truth in ``truth.json``)."""
    truth_file = folder / "truth.json"
    if truth_file.is_file():
        return json.loads(truth_file.read_text())
    import people_photos as pp
    from ocr import WORDS, paint

    people = max(1, round(0.2 * count))
    photos = folder / "photos"
    if photos.exists():
        shutil.rmtree(photos)
    lib = pp.make_library(photos, sources, faces_dev, scenes=count - people, people=people,
                          drawings=0, seed=seed)
    rng = random.Random(seed)
    words = {}
    for i, name in enumerate(lib.scenes[:: 8][: max(1, round(0.1 * count))]):
        words[name] = WORDS[i % len(WORDS)]
        paint(photos / name, words[name], rng)
    truth = {"people": lib.people, "centres": lib.centres, "scenes": lib.scenes,
             "words": words}
    truth_file.write_text(json.dumps(truth))
    return truth


def _env(cache: Path) -> dict[str, str]:
    """This checkout first on the children's path; a fresh app cache folder."""
    return {**os.environ, "PHOTOORG_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def run_child(args: list[str], env: dict[str, str]) -> dict:
    """Run a Python child to its end: wall seconds, peak RSS (MB) and its stdout."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(out.fileno(), 1)
                os.chdir(REPO)
                os.execvpe(sys.executable, [sys.executable, *args], env)
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args} failed ({status}): {text[-2000:]}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "stdout": text}


def photoorg_index(data: Path, cache: Path, folder: Path, *extra: str) -> dict:
    run = run_child(["-m", "photoorg", "--data-dir", str(data), "index", "-q", "--json",
                     *extra, str(folder)], _env(cache))
    report = json.loads(run.pop("stdout").strip().splitlines()[-1])
    return {**run, "stages": report["stages"], "indexed": report["indexed"],
            "own_peak_rss_mb": report["peak_rss_mb"]}


# -- the two baselines, each run as ``indexing.py --child naive|model_only`` -------------------


def _child_naive(model: str, folder: Path, batch: int) -> dict:
    from PIL import Image

    from photoorg.core.models.embedder import load_embedder

    embedder = load_embedder(model)
    n = 0
    for path in sorted(folder.glob("*.jpg")):
        with Image.open(path) as im:
            tensor = embedder.preprocess(im.convert("RGB"))
        embedder.encode_image_tensors(tensor.unsqueeze(0))
        n += 1
    return {"photos": n}


def _child_model_only(model: str, folder: Path, batch: int) -> dict:
    import torch
    from PIL import Image

    from photoorg.core.models.embedder import load_embedder

    embedder = load_embedder(model)
    tensors = []
    for path in sorted(folder.glob("*.jpg")):
        with Image.open(path) as im:
            im.draft("RGB", (embedder.image_size, embedder.image_size))
            tensors.append(embedder.preprocess(im.convert("RGB")))
    embedder.encode_image_tensors(tensors[0].unsqueeze(0))  # the tower is read: not timed
    start = time.perf_counter()
    for i in range(0, len(tensors), batch):
        embedder.encode_image_tensors(torch.stack(tensors[i : i + batch]))
    return {"photos": len(tensors), "inference_s": round(time.perf_counter() - start, 2)}


CHILDREN = {"naive": _child_naive, "model_only": _child_model_only}


# -- what the index found ------------------------------------------------------------------


def check_found(data: Path, truth: dict) -> dict:
    """Person photos whose every pasted person is in a People group; painted words that a
    text search finds."""
    import people_photos as pp

    from photoorg import config
    from photoorg.core.search import textindex
    from photoorg.core.store.catalog import Catalog

    lib = pp.Library(people=truth["people"],
                     centres={k: [tuple(c) for c in v] for k, v in truth["centres"].items()},
                     scenes=truth["scenes"])
    with Catalog(config.catalog_path(data)) as cat:
        quality = pp.score_people(lib, pp.catalog_faces(cat))
        found = 0
        root = cat.roots()[0].path
        for name, word in truth["words"].items():
            pid = cat.photo_id_for_path(Path(root) / name)
            found += pid in set(textindex.match_text(cat, word).ids.tolist())
    return {"people_photos": quality["people_photos"],
            "people_photos_clustered": quality["people_photos_clustered"],
            "pairwise_f1": quality["pairwise_f1"],
            "words": len(truth["words"]), "words_found": found}


def proposals_vs_full_scan(paths: list[Path], sample: list[Path]) -> dict:
    """The face-proposal path against HOG over the whole photo (the face pass before face
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


def ocr_cost(full: dict, no_text: dict, photos: int, with_words: int) -> dict:
    """What reading text adds to the full index: ``ocr_ms_per_photo``, the whole index's
    extra seconds over ``index --read-text off`` (faces on) per photo, words read
    included; ``text_stage_photos``, the photos that reached the OCR stage, and its
    seconds."""
    text = full["stages"].get("text", {"photos": 0, "seconds": 0.0})
    return {"ocr_ms_per_photo": round(1000 * (full["seconds"] - no_text["seconds"]) / photos, 1),
            "text_stage_photos": text["photos"], "text_stage_s": text["seconds"],
            "photos_without_words": photos - with_words}


def _start_s(run: dict) -> float:
    """Seconds of the child outside its stages: start-up (imports, opening the library,
    loading the model) and exit."""
    return round(run["seconds"] - sum(st["seconds"] for st in run["stages"].values()), 2)


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32/random")
    parser.add_argument("--photos", type=Path, help="folder of source JPEGs")
    parser.add_argument("--count", type=int, default=120, help="photos in the library")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--faces-dev", type=Path,
                        default=REPO / "tests" / "data" / "faces-dev")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of naive, index, index --no-faces back to back (the "
                        "top-level figures are the last round's; all in \"rounds\")")
    parser.add_argument("--proposals", action="store_true",
                        help="also: faces kept by face proposals vs a whole-photo HOG scan")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.model, args.folder, args.batch)))
        return 0
    if not args.faces_dev.is_dir():
        parser.error(f"faces-dev not found at {args.faces_dev} (give --faces-dev DIR)")

    sources = (sorted(args.photos.glob("*.jpg")) if args.photos
               else fetch_mate_backgrounds(REPO / "bench-data" / "mate"))
    tag = f"mixed-{args.count}" + (f"-{args.photos.name}" if args.photos else "")
    lib_dir = REPO / "bench-data" / "indexing" / tag
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1) as maker:  # its decodes don't count towards our memory
        truth = maker.submit(make_mixed, lib_dir, sources, args.faces_dev, args.count).result()
    folder = lib_dir / "photos"
    work = Path(tempfile.mkdtemp(prefix="photoorg-bench-"))
    row: dict = {"model": args.model, "photos": args.count, "size": "12mp",
                 "with_people": len(truth["people"]), "with_words": len(truth["words"]),
                 "cpus": os.cpu_count(), "load_avg_before": load()}
    try:
        def child(name: str, photos: Path = folder) -> dict:
            run = run_child([__file__, "--child", name, "--model", args.model, "--folder",
                             str(photos), "--batch", str(args.batch)], _env(work / name))
            return {**run, **json.loads(run.pop("stdout").strip().splitlines()[-1])}

        model_only = child("model_only")
        # the user's first library pays for what is cached for every library (the prompt
        # vectors of suggested names): a one-photo library, then the big ones
        first_folder = work / "first"
        first_folder.mkdir()
        shutil.copy(folder / truth["scenes"][0], first_folder)
        cache, model = work / "cache", ("--model", args.model)
        scenes = work / "scenes"  # the scene photos alone (hard links: no copy)
        scenes.mkdir()
        for name in truth["scenes"]:
            try:
                os.link(folder / name, scenes / name)
            except OSError:
                shutil.copy(folder / name, scenes / name)
        first = photoorg_index(work / "first-data", cache, first_folder, *model)
        rounds = []
        for i in range(args.repeat):  # the contenders back to back, ratios within a round
            naive = child("naive")
            full = photoorg_index(work / f"full{i}", cache, folder, *model)
            clip = photoorg_index(work / f"clip{i}", cache, folder, *model, "--no-faces",
                                  "--read-text", "off")
            no_text = photoorg_index(work / f"notext{i}", cache, folder, *model,
                                     "--read-text", "off")
            assert full["indexed"] == clip["indexed"] == no_text["indexed"] == args.count, (
                full, clip, no_text)
            naive_scenes = child("naive", scenes)
            clip_scenes = photoorg_index(work / f"scenes{i}", cache, scenes, *model,
                                         "--no-faces", "--read-text", "off")
            assert clip_scenes["indexed"] == len(truth["scenes"]), clip_scenes
            rounds.append({
                "naive_scenes_s": naive_scenes["seconds"],
                "index_clip_scenes_s": clip_scenes["seconds"],
                "index_clip_scenes_vs_naive": round(naive_scenes["seconds"]
                                                    / clip_scenes["seconds"], 2),
                "naive_s": naive["seconds"], "index_s": full["seconds"],
                "index_clip_s": clip["seconds"],
                "index_vs_naive": round(naive["seconds"] / full["seconds"], 2),
                "index_clip_vs_naive": round(naive["seconds"] / clip["seconds"], 2),
                "index_no_text_s": no_text["seconds"],
                **ocr_cost(full, no_text, args.count, len(truth["words"])),
                "naive_cpu_s": naive["cpu_s"], "index_cpu_s": full["cpu_s"],
                "index_clip_cpu_s": clip["cpu_s"], "load_avg": load()})
        again = photoorg_index(work / "full0", cache, folder)
        found = check_found(work / "full0", truth)
        assert again["indexed"] == 0, again
    finally:
        shutil.rmtree(work, ignore_errors=True)
    best = max(rounds, key=lambda r: r["index_vs_naive"])
    row.update({
        "naive_s": naive["seconds"],
        "model_only_inference_s": model_only["inference_s"],
        "index_s": full["seconds"],
        "index_clip_s": clip["seconds"],
        "index_again_s": again["seconds"],
        "first_library_s": first["seconds"],
        "first_library_stages": first["stages"],
        "index_vs_naive": round(naive["seconds"] / full["seconds"], 2),
        "index_clip_vs_naive": round(naive["seconds"] / clip["seconds"], 2),
        "scenes": len(truth["scenes"]),
        "naive_scenes_s": naive_scenes["seconds"],
        "index_clip_scenes_s": clip_scenes["seconds"],
        "index_clip_scenes_vs_naive": round(naive_scenes["seconds"] / clip_scenes["seconds"], 2),
        "index_clip_scenes_vs_naive_cpu": round(naive_scenes["cpu_s"] / clip_scenes["cpu_s"],
                                                2),
        "index_clip_scenes_stages": clip_scenes["stages"],
        "index_stage_seconds": {name: st["seconds"] for name, st in full["stages"].items()},
        "index_start_s": _start_s(full),
        "index_no_text_s": no_text["seconds"],
        **ocr_cost(full, no_text, args.count, len(truth["words"])),
        "index_vs_naive_cpu": round(naive["cpu_s"] / full["cpu_s"], 2),
        "index_clip_vs_naive_cpu": round(naive["cpu_s"] / clip["cpu_s"], 2),
        "rounds": rounds if args.repeat > 1 else None,
        "best_round_index_vs_naive": best["index_vs_naive"] if args.repeat > 1 else None,
        "embed_vs_model_only": round(model_only["inference_s"]
                                     / full["stages"]["embed"]["seconds"], 2),
        "index_stages": full["stages"],
        "index_clip_stages": clip["stages"],
        "index_peak_rss_mb": full["peak_rss_mb"],
        "index_clip_peak_rss_mb": clip["peak_rss_mb"],
        "index_again_peak_rss_mb": again["peak_rss_mb"],
        "naive_peak_rss_mb": naive["peak_rss_mb"],
        **found,
        "load_avg_after": load(),
    })
    if args.proposals:  # after the timed runs: not beside them
        paths = sorted(folder.glob("*.jpg"))
        row.update(proposals_vs_full_scan([folder / name for name in truth["people"]],
                                          paths[:: max(1, len(paths) // 12)]))
    print(json.dumps(row) if args.json else json.dumps(row, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
