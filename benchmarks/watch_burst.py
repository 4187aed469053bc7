"""How fast the folder watcher absorbs a burst of file-system changes, and whether any is lost.

    python benchmarks/watch_burst.py --n 10000 --json             # native (inotify) watching
    python benchmarks/watch_burst.py --n 10000 --json --poll      # polling observer
    python benchmarks/watch_burst.py --n 10000 --json --embed     # + embedding throughput

A library of ``--initial`` photos (default n/4) is scanned, then :class:`LibraryWatcher`
starts (real watchdog observer, default settle time) *without* a model: this measures
catalog reconciliation only. Then a burst of ``n`` file operations runs as fast as Python
can issue them: ~60% creates (small valid JPEGs and PNGs, each unique), ~15% renames /
moves (some into new folders), ~15% deletes, ~5% rewrites, plus folder renames of
whole subtrees. ``settle_s`` is the time from the end of the burst until the catalog's
online rows equal the file system (relative path + size, every root) and the watcher is
idle; ``events_lost`` is the number of paths that still differ after ``--timeout``.
``moves_kept_row`` counts moved photos that kept their catalog row (vector, names, tags).

With ``--embed``, embedding is measured separately afterwards: the tiny bundled model
(``photoorg-tiny/bundled``) indexes ``--embed-limit`` of the pending photos and the rate
is reported (``embed_per_s``).

Prints ONE JSON line with ``--json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from photoorg.core.ingest.scanner import scan_library  # noqa: E402
from photoorg.core.ingest.watcher import LibraryWatcher  # noqa: E402
from photoorg.core.store.catalog import Catalog  # noqa: E402


def _image_bytes(fmt: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


class Payload:
    """Unique small valid images: decoders ignore bytes after JPEG EOI / PNG IEND."""

    def __init__(self) -> None:
        self.jpeg = _image_bytes("JPEG", 1)
        self.png = _image_bytes("PNG", 2)
        self.count = 0

    def next(self) -> tuple[str, bytes]:
        self.count += 1
        tail = self.count.to_bytes(6, "big")
        return (".jpg", self.jpeg + tail) if self.count % 2 else (".png", self.png + tail)


def disk_state(lib: Path) -> dict[str, int]:
    out = {}
    for dirpath, _dirs, files in os.walk(lib):
        for name in files:
            path = Path(dirpath) / name
            with contextlib.suppress(FileNotFoundError):
                out[path.relative_to(lib).as_posix()] = path.stat().st_size
    return out


def catalog_state(cat: Catalog) -> dict[str, int]:
    return dict(
        cat.query(
            "SELECT p.rel_path, p.size FROM photos p JOIN roots r ON r.id = p.root_id "
            "WHERE r.online = 1"
        )
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="photoorg-burst-"))
    lib = tmp / "lib"
    payload = Payload()
    initial = args.initial if args.initial is not None else args.n // 4
    files: list[str] = []  # live photo paths, relative
    for i in range(initial):
        ext, data = payload.next()
        rel = f"seed{i % 25:02d}/s{i}{ext}"
        path = lib / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append(rel)
    cat = Catalog(tmp / "data" / "catalog.sqlite")
    cat.add_root(lib)
    t0 = time.perf_counter()
    scan_library(cat)
    initial_scan_s = time.perf_counter() - t0
    ids_before = {rel: pid for pid, rel in cat.query("SELECT id, rel_path FROM photos")}

    watcher = LibraryWatcher(
        cat.path,
        None,
        settle_s=args.settle,
        force_polling=args.poll,
        poll_interval_s=args.poll_interval,
    )
    watcher.start()
    if not watcher.wait_until_idle(120):
        raise SystemExit("watcher did not start")

    # -- the burst ---------------------------------------------------------------------
    moved_from_seed: dict[str, str] = {}  # original rel -> current rel, for seeded files
    origin: dict[str, str | None] = {rel: rel for rel in files}
    live = set(files)
    ops = {"create": 0, "move": 0, "delete": 0, "modify": 0, "folder_moves": 0}
    folder_every = max(1, args.n // 8)
    t_start = time.perf_counter()
    for k in range(args.n):
        if args.spread and k % 100 == 0:  # pace the burst over --spread seconds
            ahead = t_start + args.spread * k / args.n - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
        roll = rng.random()
        if k and k % folder_every == 0:
            # rename a whole folder of seeded photos (one event; rows move in one UPDATE)
            folder = f"seed{rng.randrange(25):02d}"
            if (lib / folder).is_dir():
                new = f"{folder}-renamed-{k}"
                os.rename(lib / folder, lib / new)
                ops["folder_moves"] += 1
                for rel in [r for r in live if r.startswith(folder + "/")]:
                    live.discard(rel)
                    now = new + rel[len(folder) :]
                    live.add(now)
                    origin[now] = origin.pop(rel)
        if roll < 0.60 or len(live) < 10:
            ext, data = payload.next()
            rel = f"burst{k % 40:02d}/b{k}{ext}"
            path = lib / rel
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            live.add(rel)
            origin[rel] = rel
            ops["create"] += 1
        elif roll < 0.75:
            rel = rng.choice(tuple(live))
            new = f"moved{k % 7}/{Path(rel).stem}-m{k}{Path(rel).suffix}"
            (lib / new).parent.mkdir(exist_ok=True)
            os.rename(lib / rel, lib / new)
            live.discard(rel)
            live.add(new)
            origin[new] = origin.pop(rel)
            ops["move"] += 1
        elif roll < 0.95:
            rel = rng.choice(tuple(live))
            (lib / rel).unlink()
            live.discard(rel)
            origin.pop(rel, None)
            ops["delete"] += 1
        else:
            rel = rng.choice(tuple(live))
            ext, data = payload.next()
            (lib / rel).write_bytes(data + b"rewritten")
            origin[rel] = None  # new content: a later move is not a pure move
            ops["modify"] += 1
    burst_s = time.perf_counter() - t_start
    t_end = time.perf_counter()

    # -- settle ------------------------------------------------------------------------
    expected = disk_state(lib)
    settle_s = None
    deadline = t_end + args.timeout
    while time.perf_counter() < deadline:
        if catalog_state(cat) == expected:
            settle_s = time.perf_counter() - t_end
            break
        time.sleep(0.05)
    idle = watcher.wait_until_idle(max(1.0, deadline - time.perf_counter()), quiet_s=1.0)
    idle_s = time.perf_counter() - t_end
    final = catalog_state(cat)
    lost = set(expected.items()) ^ set(final.items())
    rows_now = {rel: pid for pid, rel in cat.query("SELECT id, rel_path FROM photos")}
    for rel, first in origin.items():
        if first is not None and first in ids_before and rel != first:
            moved_from_seed[first] = rel
    kept = sum(
        1 for first, rel in moved_from_seed.items() if rows_now.get(rel) == ids_before[first]
    )
    lost_moves = [
        (first, rel, ids_before[first], rows_now.get(rel))
        for first, rel in moved_from_seed.items()
        if rows_now.get(rel) != ids_before[first]
    ]
    totals = watcher.totals
    debug = None
    if lost:
        debug = {
            "differing": sorted(
                (path, expected.get(path), final.get(path)) for path in {p for p, _ in lost}
            )[:8],
            "state": watcher.status.state,
            "waiting": len(watcher._dirty),
            "pending_deletes": len(watcher._pending),
            "error": watcher.status.error,
            "errors": totals.errors,
        }
    watcher.stop()

    result: dict[str, Any] = {
        "n": args.n,
        "mode": "polling" if args.poll else "native",
        "measures": "catalog reconciliation (no model)",
        "settle_s": None if settle_s is None else round(settle_s, 2),
        "idle_s": round(idle_s, 2),
        "catalog_equals_fs": not lost and idle,
        "events_lost": len({path for path, _ in lost}),
        "files_final": len(expected),
        "burst_s": round(burst_s, 2),
        "ops": ops,
        "moves_kept_row": f"{kept}/{len(moved_from_seed)}",
        "moves_new_row_examples": lost_moves[:3],
        "events_seen": totals.events,
        "overflows": totals.overflows,
        "rescans": totals.rescans,
        "initial_files": initial,
        "initial_scan_s": round(initial_scan_s, 2),
        "settle_window_s": args.settle,
    }
    if debug:
        result["debug"] = debug
    if args.embed:
        result.update(embed_throughput(cat, args.embed_limit))
    cat.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def embed_throughput(cat: Catalog, limit: int) -> dict[str, Any]:
    """Embed up to ``limit`` pending photos with the tiny bundled model; photos/second."""
    from photoorg.core.ingest.indexer import IndexControl, Indexer, IndexListener, Progress
    from photoorg.core.models.embedder import TEST_MODEL, load_embedder

    embedder = load_embedder(TEST_MODEL)
    control = IndexControl()

    class Stop(IndexListener):
        def on_progress(self, p: Progress) -> None:
            if p.done >= limit:
                control.cancel()

    indexer = Indexer(cat, embedder, listener=Stop(), control=control)
    summary = indexer.run()
    done = summary.embedded + summary.skipped
    return {
        "embed_model": TEST_MODEL,
        "embedded": summary.embedded,
        "embed_per_s": round(done / summary.seconds, 1) if summary.seconds else None,
        "embed_threads": os.cpu_count(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="file operations in the burst")
    ap.add_argument("--initial", type=int, help="photos in the library before (default n/4)")
    ap.add_argument("--settle", type=float, default=1.5, help="watcher settle window (s)")
    ap.add_argument("--poll", action="store_true", help="use the polling observer")
    ap.add_argument("--poll-interval", type=float, default=2.0)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--spread", type=float, default=0.0,
                    help="spread the burst over this many seconds (default: flat out)")
    ap.add_argument("--embed", action="store_true", help="also measure embedding throughput")
    ap.add_argument("--embed-limit", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:18} {value}")
    return 0 if result["catalog_equals_fs"] else 1


if __name__ == "__main__":
    sys.exit(main())
