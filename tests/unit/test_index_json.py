"""``photoorg index --json``: where the time went, stage by stage, as a process prints it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from photoorg.core.media.synthetic import write_sample_library

TINY = "photoorg-tiny/bundled"


def run_index(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "photoorg", "--data-dir", str(data), "index", *args, "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_index_json_reports_each_stage_then_nothing_to_do(tmp_path: Path) -> None:
    photos, data = tmp_path / "photos", tmp_path / "data"
    write_sample_library(photos, per_class=1, seed=5)
    count = len(list(photos.rglob("*.jpg")))
    first = run_index(data, str(photos), "--model", TINY, "--read-text", "off")
    report = json.loads(first.stdout)  # stdout holds the JSON and nothing else
    assert "indexed" in first.stderr  # the human summary moved to stderr
    stages = report["stages"]
    assert stages["scan"]["photos"] == count
    assert stages["embed"] == {"photos": count, "seconds": stages["embed"]["seconds"]}
    assert stages["embed"]["seconds"] > 0
    assert stages["faces"]["photos"] == count
    assert "text" not in stages  # reading text is off
    assert list(stages)[:2] == ["scan", "embed"]  # in the order they ran
    assert report["indexed"] == count and report["skipped"] == 0
    assert report["seconds"] >= sum(s["seconds"] for s in stages.values()) - 0.01
    assert 30 < report["peak_rss_mb"] < 4000

    again = json.loads(run_index(data, str(photos), "--model", TINY).stdout)
    assert again["indexed"] == 0
    assert again["peak_rss_mb"] < 150  # nothing new: no model loaded, not even torch
    assert again["stages"]["scan"]["photos"] == 0
    assert "embed" not in again["stages"] and "faces" not in again["stages"]
