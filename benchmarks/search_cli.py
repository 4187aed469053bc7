"""``photoorg search`` as users run it: a fresh process per query on a real library.

Used by ``benchmarks/search.py --cli-photos N``. The library: N generated 2 MP JPEGs (random
crops of Debian's ``mate-backgrounds``, fetched once like ``benchmarks/indexing.py``),
indexed once with ``photoorg index --no-faces --read-text off --model MODEL`` into
``bench-data/search-cli/n<N>/`` (kept; the app cache folder beside it holds the model's
ONNX export). Then, back to back, ``--cli-repeat`` rounds of ``photoorg search QUERY
--json`` as a child process:

- ``cli_search_s`` / ``cli_search_peak_rss_mb``: the light runtime, query vector not
  cached (the query cache is emptied before each run): loads the text tower (ONNX);
- ``cli_search_cached_s`` / ``..._peak_rss_mb``: the same query again (its vector cached);
- ``cli_search_torch_s`` / ``..._peak_rss_mb``: ``PHOTOORG_RUNTIME=torch`` (the torch
  towers, as before the light runtime), same checkout;
- ``cli_search_baseline_s`` / ``..._peak_rss_mb``: with ``--cli-baseline REPO``, that
  checkout's code (e.g. main) on the same library, query vector not cached either;
- ``cli_same_results``: every run's JSON gives the same photos in the same order, scores
  within 1e-3 of the torch runtime's.

Medians of the rounds for seconds (``_s``: wall; ``_cpu_s``: the child's user + system CPU,
less sensitive to other work on the machine), the maximum for memory (``ru_maxrss``).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _make_photos(folder: Path, count: int, seed: int = 0) -> None:
    import random

    from people_photos import fetch_mate_backgrounds
    from PIL import Image, ImageEnhance, ImageOps

    done = folder / ".complete"
    if done.is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    sources = fetch_mate_backgrounds(REPO / "bench-data" / "mate")
    rng = random.Random(seed)
    images = {}
    for i in range(count):
        src = sources[i % len(sources)]
        if src not in images:
            with Image.open(src) as im:
                im.draft("RGB", (2400, 1800))
                images[src] = im.convert("RGB")
        im = images[src]
        w, h = im.size
        scale = rng.uniform(0.35, 1.0)
        cw, ch = int(w * scale), int(h * scale)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        out = ImageOps.fit(im.crop((x, y, x + cw, y + ch)), (1600, 1200))
        out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.7, 1.3))
        if rng.random() < 0.5:
            out = ImageOps.mirror(out)
        out.save(folder / f"{i:05d}.jpg", quality=90)
    done.write_text(str(count))


def _run(args: list[str], env: dict[str, str]) -> dict:
    """A Python child run to its end in the checkout it names (``python -m`` imports from
    the working folder first): wall seconds, peak RSS (MB), stdout."""
    cwd = env["PYTHONPATH"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                os.chdir(cwd)
                os.execvpe(sys.executable, [sys.executable, *args], env)
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args} failed ({status}): {errors[-2000:]}")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024,
            "cpu_s": usage.ru_utime + usage.ru_stime, "stdout": text}


def _env(cache: Path, repo: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PHOTOORG_RUNTIME", "PHOTOORG_ONNX_CACHE")}
    return {**env, "PHOTOORG_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(repo), **extra}


def _same(a: list[dict], b: list[dict]) -> bool:
    return ([r["path"] for r in a] == [r["path"] for r in b]
            and all(abs(x["score"] - y["score"]) <= 1e-3 for x, y in zip(a, b, strict=True)))


def run(count: int, query: str, repeat: int, model: str, baseline: Path | None) -> dict:
    lib = REPO / "bench-data" / "search-cli" / f"n{count}"
    photos, data, cache = lib / "photos", lib / "data", lib / "cache"
    _make_photos(photos, count)
    out: dict = {"cli_photos": count, "cli_query": query, "cli_model": model}
    if not (data / "catalog.sqlite").is_file():
        built = _run(["-m", "photoorg", "--data-dir", str(data), "index", "-q", "--no-faces",
                      "--read-text", "off", "--model", model, str(photos)],
                     _env(cache, REPO))
        out["cli_index_s"] = round(built["seconds"], 2)
        out["cli_index_peak_rss_mb"] = round(built["peak_rss_mb"], 1)
    search = ["-m", "photoorg", "--data-dir", str(data), "search", query, "--json"]
    kinds = {"light": _env(cache, REPO), "cached": _env(cache, REPO),
             "torch": _env(cache, REPO, PHOTOORG_RUNTIME="torch")}
    if baseline is not None:
        kinds["baseline"] = _env(cache, baseline)
    runs: dict[str, list[dict]] = {k: [] for k in kinds}
    for _ in range(repeat):
        for kind, env in kinds.items():
            if kind in ("light", "baseline"):  # both uncached: the same work compared
                shutil.rmtree(cache / "query-vectors", ignore_errors=True)
            runs[kind].append(_run(search, env))
    results = {k: [json.loads(r["stdout"]) for r in v] for k, v in runs.items()}
    want = results["torch"][0]
    out["cli_same_results"] = all(_same(r, want) for rs in results.values() for r in rs)
    out["cli_results"] = len(want)
    for kind, rs in runs.items():
        name = "cli_search" if kind == "light" else f"cli_search_{kind}"
        out[f"{name}_s"] = round(statistics.median(r["seconds"] for r in rs), 3)
        out[f"{name}_peak_rss_mb"] = round(max(r["peak_rss_mb"] for r in rs), 1)
        out[f"{name}_cpu_s"] = round(statistics.median(r["cpu_s"] for r in rs), 3)
    out["cli_search_speedup_vs_torch"] = round(out["cli_search_torch_s"] / out["cli_search_s"], 2)
    out["cli_load_avg"] = round(os.getloadavg()[0], 2)
    return out
