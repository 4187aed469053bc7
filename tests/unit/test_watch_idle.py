"""``photoorg watch`` lets its models go when idle (issue 26): run as a process, as a user does."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from photoorg.core.ingest.scanner import scan_library
from photoorg.core.media.synthetic import write_sample_library
from photoorg.core.store.catalog import Catalog

REPO = Path(__file__).resolve().parents[2]
TINY = "photoorg-tiny/bundled"
IDLE_MB = 300


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "photoorg", "--data-dir", str(data), *args],
                          capture_output=True, text=True, env=_env(), timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    return proc


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def tree_rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` and every process below it, in MB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        todo.extend(_children(current))
    return total / 1024


class _Lines:
    """The watch process's stderr, line by line, without blocking the test."""

    def __init__(self, stream: object) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 120.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} in {timeout}s; stderr so far:\n{''.join(self.seen)}")


def _indexed(data: Path) -> dict[str, str]:
    with Catalog(data / "catalog.sqlite", readonly=True) as cat:
        rows = cat.query("SELECT rel_path, status FROM photos")
    return {str(r[0]): str(r[1]) for r in rows}


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_idle_watch_lets_models_go_and_the_next_photo_is_indexed(tmp_path: Path) -> None:
    photos, data, elsewhere = tmp_path / "photos", tmp_path / "data", tmp_path / "elsewhere"
    write_sample_library(photos, per_class=1, seed=5)
    _cli(data, "index", str(photos), "--model", TINY, "--no-faces")
    before = _indexed(data)
    assert before and set(before.values()) == {"indexed"}

    proc = subprocess.Popen(
        [sys.executable, "-m", "photoorg", "--data-dir", str(data), "watch", "--no-faces",
         "--idle-release", "2", "--settle", "0.5", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=REPO)
    try:
        err = _Lines(proc.stderr)
        err.wait_for("watch: watching")
        # a new photo while watching: the worker loads the model and indexes it
        write_sample_library(elsewhere, per_class=1, seed=11)
        os.rename(elsewhere / "red_circle_0.jpg", photos / "first_drop.jpg")
        err.wait_for("watch: 1 new")
        err.wait_for("watch: watching")
        working_mb = tree_rss_mb(proc.pid)
        err.wait_for("watch: models released after 2s idle")
        time.sleep(0.5)  # the worker has said so and is exiting
        deadline = time.monotonic() + 20
        while _children(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        idle_mb = tree_rss_mb(proc.pid)
        assert idle_mb < IDLE_MB, (idle_mb, working_mb)
        assert working_mb > idle_mb  # the model was really loaded while it worked

        # after the release: a dropped photo is indexed (the models load again)
        os.rename(elsewhere / "green_star_0.jpg", photos / "green_star_dropped.jpg")
        err.wait_for("watch: 1 new")
        err.wait_for("watch: watching")
        err.wait_for("watch: models released after 2s idle")
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, "".join(err.seen) + rest
    summary = json.loads(out)
    assert summary["added"] == 2 and summary["embedded"] == 2 and summary["errors"] == 0

    now = _indexed(data)  # no photo lost across the releases
    assert set(now) == set(before) | {"first_drop.jpg", "green_star_dropped.jpg"}
    assert set(now.values()) == {"indexed"}
    hits = json.loads(_cli(data, "similar", str(photos / "green_star_dropped.jpg"), "-k", "1",
                           "--json").stdout)
    assert Path(hits[0]["path"]).name == "green_star_dropped.jpg"
    hits = json.loads(_cli(data, "search", "a photo of a red circle", "-k", "3",
                           "--json").stdout)
    assert "first_drop.jpg" in {Path(h["path"]).name for h in hits}


def test_watch_says_at_once_that_the_model_is_missing(tmp_path: Path) -> None:
    """The worker loads the model before watching starts; missing weights are an error
    message and exit code, as before the worker (no traceback, no worker left behind)."""
    photos, data = tmp_path / "photos", tmp_path / "data"
    write_sample_library(photos, per_class=1, seed=3, size=64)
    missing = tmp_path / "gone" / "weights.safetensors"
    with Catalog(data / "catalog.sqlite") as cat:
        cat.add_root(photos)
        scan_library(cat)  # photos waiting for their vectors
        cat.set_target_model(f"ViT-B-32/{missing}", 512)
    proc = subprocess.run(
        [sys.executable, "-m", "photoorg", "--data-dir", str(data), "watch",
         "--idle-release", "5", "--duration", "30"],
        capture_output=True, text=True, env=_env(), timeout=300, cwd=REPO)
    assert proc.returncode != 0
    assert str(missing) in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "watch: watching" not in proc.stderr


@pytest.mark.slow
def test_a_worker_gone_idle_is_started_again(tmp_path: Path) -> None:
    """The worker exits after its idle time; the next run starts a fresh one (models loaded
    again) and its progress reaches the listener as before."""
    from photoorg.core.app.library import Library
    from photoorg.core.app.worker_client import IndexWorker
    from photoorg.core.ingest.indexer import IndexControl, IndexListener, Progress

    photos, data = tmp_path / "photos", tmp_path / "data"
    made = write_sample_library(photos, per_class=1, seed=3, size=64)
    with Library(data, model=TINY) as lib:
        lib.add_folders([photos])
        lib.scan()

    class Seen(IndexListener):
        phases: set[str] = set()

        def on_progress(self, progress: Progress) -> None:
            self.phases.add(progress.phase)

    released: list[float] = []
    worker = IndexWorker(data, model=TINY, faces=False, idle_release_s=0.5,
                         on_release=released.append)
    try:
        listener = Seen()
        summary = worker(IndexControl(), listener)
        assert summary.embedded == len(made) and "embedding" in listener.phases
        deadline = time.monotonic() + 30
        while not released and time.monotonic() < deadline:
            time.sleep(0.1)
        assert released == [0.5], "the worker did not exit idle"
        (photos / made[0][0].name).rename(photos / "renamed-away.tmp")
        write_sample_library(tmp_path / "more", per_class=1, seed=9, size=64)
        os.rename(tmp_path / "more" / "red_circle_0.jpg", photos / "late.jpg")
        with Library(data, model=TINY) as lib:
            lib.scan()
        summary = worker(IndexControl(), Seen())
        assert summary.embedded == 1 and worker.starts == 2
    finally:
        worker.close()
    assert worker.pid is None
