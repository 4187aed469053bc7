"""What the undo journal costs a big decision: tagging N photos at once (Ctrl+A, Add tag)
through ``clusters.add_tag`` (journaled) against the same inserts without the journal, and
undoing it.

    python benchmarks/journal_cost.py --photos 50000 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from photoorg.core.groups import clusters  # noqa: E402
from photoorg.core.store import journal  # noqa: E402
from photoorg.core.store.catalog import Catalog  # noqa: E402


def run(n: int) -> dict[str, float | int]:
    folder = Path(tempfile.mkdtemp(prefix="photoorg-journal-"))
    with Catalog(folder / "catalog.sqlite") as cat:
        root = cat.add_root(folder)
        ids = cat.add_photos(root.id, [(f"p{i}.jpg", 1, 0.0, f"h{i}") for i in range(n)])
        started = time.perf_counter()
        with cat.transaction():  # the baseline: the same rows, no journal
            cat.execute("INSERT INTO tags(name) VALUES('Raw')")
            tag_id = cat.scalar("SELECT id FROM tags WHERE name = 'Raw'")
            for pid in ids:
                cat.changes_of("INSERT OR IGNORE INTO photo_tags(photo_id, tag_id, source) "
                               "VALUES(?, ?, 'user')", (pid, tag_id))
        raw = time.perf_counter() - started
        started = time.perf_counter()
        clusters.add_tag(cat, ids, "All")
        tagged = time.perf_counter() - started
        started = time.perf_counter()
        journal.undo(cat)
        undone = time.perf_counter() - started
        assert "All" not in dict(clusters.all_tags(cat))
        size = cat.scalar("SELECT SUM(LENGTH(data)) FROM journal")
    return {"photos": n, "journaled_s": round(tagged, 3), "baseline_s": round(raw, 3),
            "ratio": round(tagged / raw, 2), "undo_s": round(undone, 3),
            "journal_bytes": int(size or 0)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=50_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = run(args.photos)
    print(json.dumps(result) if args.json else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
