"""The grid's All photos load with stacks and videos in the library, against the same library
without them (same run).

What the window's query worker runs to fill the grid (``window_backend.load_source`` on a
read-only connection: the timeline with stacks collapsed to their covers, plus the stack and
duration badges), on a catalog of ``--photos`` rows (default 100k, written straight into the
catalog: this query reads nothing else), spread over 20 years of capture dates:

- ``baseline``: no stacks, no videos;
- ``stacks``: the same rows with ``--stacked`` % of them in bursts of 4 (one tile each) and
  ``--videos`` % of them videos with a duration.

Each is loaded ``--rounds`` times (alternating), the best kept; ``ratio`` = stacks /
baseline. Prints ONE JSON line::

    python benchmarks/grid_stacks.py --json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build(data: Path, photos: int) -> None:
    from photoorg import config
    from photoorg.core.store.catalog import Catalog

    data.mkdir(parents=True)
    start = 946_684_800.0  # 2000-01-01
    with Catalog(config.catalog_path(data)) as cat:
        root = cat.add_root(data.parent / "photos")
        with cat.transaction():
            for i in range(photos):
                folder = f"f{i // 1000:03d}"
                cat.execute(
                    "INSERT INTO photos(root_id, rel_path, folder, ext, size, mtime, "
                    "content_hash, taken_at, camera, status, added_at) "
                    "VALUES(?, ?, ?, 'jpg', ?, ?, ?, ?, 'Cam', 'indexed', ?)",
                    (root.id, f"{folder}/IMG_{i:06d}.jpg", folder, 100_000 + i, start + i,
                     f"{i:032x}", None if i % 20 == 0 else start + i * 6300.0, start + i))


def add_stacks_and_videos(data: Path, stacked_pct: float, videos_pct: float) -> tuple[int, int]:
    from photoorg import config
    from photoorg.core.store.catalog import Catalog

    with Catalog(config.catalog_path(data)) as cat:
        ids = [pid for (pid,) in cat.query("SELECT id FROM photos ORDER BY id")]
        n_stacked = int(len(ids) * stacked_pct / 100) // 4 * 4
        every_video = max(1, round(100 / videos_pct)) if videos_pct else 0
        with cat.transaction():
            for k in range(0, n_stacked, 4):
                members = ids[k:k + 4]
                sid = cat.execute(
                    "INSERT INTO stacks(kind, cover_id, state, created_at) "
                    "VALUES('burst', ?, 'stacked', 0) RETURNING id", (members[1],)).fetchone()[0]
                for pid in members:
                    cat.execute("INSERT INTO stack_members(photo_id, stack_id) VALUES(?, ?)",
                                (pid, sid))
            videos = ids[n_stacked::every_video] if every_video else []
            for pid in videos:
                cat.execute("UPDATE photos SET duration = ?, ext = 'mp4' WHERE id = ?",
                            (5.0 + pid % 300, pid))
    return n_stacked // 4, len(videos)


def load(data: Path) -> tuple[float, int]:
    from photoorg.core.app import window_backend as engine
    from photoorg.core.app.api import Source

    state: dict = {}
    engine.open_reader(data)(state)
    try:
        t0 = time.perf_counter()
        shown = engine.load_source(state, Source("all"), "taken")
        return time.perf_counter() - t0, len(shown)
    finally:
        engine.close_catalog(state)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--stacked", type=float, default=10.0, help="%% of photos in bursts")
    parser.add_argument("--videos", type=float, default=2.0, help="%% of photos that are videos")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="photoorg-gridstacks-"))
    try:
        base, stacked = work / "base" / "data", work / "stacks" / "data"
        build(base, args.photos)
        shutil.copytree(base.parent, stacked.parent)
        n_stacks, n_videos = add_stacks_and_videos(stacked, args.stacked, args.videos)
        best = {"baseline": float("inf"), "stacks": float("inf")}
        rows = {}
        for _ in range(args.rounds):
            for label, data in (("baseline", base), ("stacks", stacked)):
                seconds, rows[label] = load(data)
                best[label] = min(best[label], seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "photos": args.photos, "stacks": n_stacks, "videos": n_videos,
        "rows_baseline": rows["baseline"], "rows_stacks": rows["stacks"],
        "baseline_s": round(best["baseline"], 4), "stacks_s": round(best["stacks"], 4),
        "ratio": round(best["stacks"] / best["baseline"], 3),
    }
    print(json.dumps(result) if args.json else result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
