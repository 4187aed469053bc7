"""What an idle ``photoorg watch`` holds, and what letting its models go costs the next photo.

    python benchmarks/watch_idle.py --json [--n 300] [--model ViT-B-32/random]

Builds a library of ``--n`` synthetic photos, indexes it with the real ``photoorg index``,
then runs the real ``photoorg watch`` (child processes) three ways and drops photos into the
folder, timing each from the file's arrival (a rename into the folder) to its row being
``indexed`` in the catalog:

- ``resident``: ``--idle-release 3600``. The first photo starts the index worker (cold: it
  loads the model); the second is indexed by the loaded worker (``resident_s``).
- ``release``: ``--idle-release S`` (default 5). A photo, then the worker exits idle
  (``rss_idle_released_mb``: the whole process tree), then a photo that loads the models
  again (``reload_s``).
- ``in_process``: ``--idle-release 0``, the way ``watch`` ran before (models in the watch
  process, never let go): ``rss_idle_in_process_mb`` after a photo.

RSS is VmRSS summed over the watch process and its children (``/proc``, Linux), sampled every
0.1 s: ``rss_working_mb`` is the peak while the resident run indexed its photos.
Prints one JSON line with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from photoorg.core.media.synthetic import CLASSES, write_sample_library  # noqa: E402
from photoorg.core.store.catalog import Catalog  # noqa: E402


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def tree_rss_mb(pid: int) -> float:
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


class Watch:
    """A running ``photoorg watch``: its stderr lines and a peak-RSS sampler."""

    def __init__(self, data: Path, idle_release: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "photoorg", "--data-dir", str(data), "watch",
             "--idle-release", str(idle_release), "--settle", "0.5"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=_env(), cwd=REPO)
        self.lines: queue.Queue[str] = queue.Queue()
        self.peak = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._sample, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_mb(self.proc.pid))
            time.sleep(0.1)

    def wait_for(self, text: str, timeout: float = 600.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if text in self.lines.get(timeout=0.5):
                    return
            except queue.Empty:
                continue
        raise RuntimeError(f"watch never said {text!r}")

    def settled_rss(self, seconds: float = 2.0) -> float:
        time.sleep(seconds)
        return tree_rss_mb(self.proc.pid)

    def stop(self) -> None:
        self._stop.set()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def drop(photo: Path, folder: Path, name: str, data: Path) -> float:
    """Seconds from ``photo`` arriving in ``folder`` to its row being indexed."""
    target = folder / name
    started = time.monotonic()
    os.rename(photo, target)
    with Catalog(data / "catalog.sqlite", readonly=True) as cat:
        while time.monotonic() - started < 600:
            status = cat.scalar("SELECT status FROM photos WHERE rel_path = ?", (name,))
            if status == "indexed":
                return time.monotonic() - started
            time.sleep(0.05)
    raise RuntimeError(f"{name} was not indexed in 600 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--model", default="ViT-B-32/random")
    parser.add_argument("--release-after", type=float, default=5.0)
    parser.add_argument("--size", type=int, default=640, help="photo side in pixels")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="watch-idle-"))
    try:
        photos, data, spare = tmp / "photos", tmp / "data", tmp / "spare"
        write_sample_library(photos, per_class=max(1, args.n // len(CLASSES)), seed=1,
                             size=args.size)
        made = write_sample_library(spare, per_class=1, seed=2, size=args.size)
        extra = iter(path for path, _color, _shape in made)
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "photoorg", "--data-dir", str(data), "index",
                        str(photos), "--model", args.model], env=_env(), cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        index_s = time.monotonic() - started
        count = sum(1 for _ in photos.iterdir())

        watch = Watch(data, 3600)
        try:
            watch.wait_for("watch: watching")
            rss_start = watch.settled_rss()
            cold_s = drop(next(extra), photos, "resident-1.jpg", data)
            watch.wait_for("watch: watching")
            resident_s = drop(next(extra), photos, "resident-2.jpg", data)
            watch.wait_for("watch: watching")
            rss_idle_resident = watch.settled_rss()
            rss_working = watch.peak
        finally:
            watch.stop()

        watch = Watch(data, args.release_after)
        try:
            watch.wait_for("watch: watching")
            first_s = drop(next(extra), photos, "release-1.jpg", data)
            watch.wait_for("watch: models released")
            rss_released = watch.settled_rss()
            reload_s = drop(next(extra), photos, "release-2.jpg", data)
            watch.wait_for("watch: models released")
        finally:
            watch.stop()

        watch = Watch(data, 0)
        try:
            watch.wait_for("watch: watching")
            in_process_s = drop(next(extra), photos, "in-process-1.jpg", data)
            watch.wait_for("watch: watching")
            rss_in_process = watch.settled_rss()
        finally:
            watch.stop()

        result = {
            "photos": count,
            "model": args.model,
            "index_s": round(index_s, 2),
            "rss_watching_before_work_mb": round(rss_start, 1),
            "rss_working_mb": round(rss_working, 1),
            "rss_idle_resident_mb": round(rss_idle_resident, 1),
            "rss_idle_released_mb": round(rss_released, 1),
            "rss_idle_in_process_mb": round(rss_in_process, 1),
            "cold_start_s": round(cold_s, 2),
            "resident_s": round(resident_s, 2),
            "release_first_s": round(first_s, 2),
            "reload_s": round(reload_s, 2),
            "reload_vs_resident": round(reload_s / resident_s, 2),
            "in_process_first_s": round(in_process_s, 2),
            "release_after_s": args.release_after,
            "load": os.getloadavg()[0],
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
