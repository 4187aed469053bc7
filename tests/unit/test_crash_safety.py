"""kill -9 at chosen moments (real subprocesses), restart, and nothing is lost or doubled.

The full version is ``benchmarks/crash_safety.py --kills 20 --json``; this runs three kill
points: during the indexer's batches, during the watcher's catch-up scan, and while the
watcher handles live moves of tagged photos.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_kill_9_at_three_points_loses_nothing() -> None:
    done = subprocess.run(
        [
            sys.executable, str(REPO / "benchmarks" / "crash_safety.py"), "--json",
            "--kills", "3", "--photos", "40", "--new-per-kill", "10", "--size", "64",
            "--plan", "index:embed,watch:scan,watch:live", "--seed", "1",
        ],
        capture_output=True, text=True, timeout=400, cwd=REPO,
    )
    assert done.stdout.strip(), done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["integrity_ok"] == 3, result
    assert result["names_lost"] == 0 and result["tags_lost"] == 0, result
    assert result["duplicates"] == 0, result
    # the undo journal is consistent with the state after each kill (decisions survived)
    assert result["journal_inconsistent"] == 0 and result["decisions"] > 0, result
    assert result["final_ok"] and result["final_pending"] == 0, result
    assert result["originals_modified"] == 0, result
    assert done.returncode == 0, done.stderr[-3000:]
