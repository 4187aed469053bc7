"""What an idle ``photoorg watch`` holds, and what letting its models go costs the next photo.

    python benchmarks/watch_idle.py --json [--n 300] [--model ViT-B-32/random]

Builds a library of ``--n`` synthetic photos, indexes it with the real ``photoorg index``,
then runs the real ``photoorg watch`` (child processes) three ways and drops photos into the
folder, timing each from the file's arrival (a rename into the folder) to its row being
``indexed`` in the catalog:

- ``resident``: ``--idle-release 3600``. The first photo starts the index worker (cold: it
  loads the model); the next ``--repeat`` are indexed by the loaded worker (``resident_s``,
  the median).
- ``release``: ``--idle-release S`` (default 5). A photo, then the worker exits idle
  (``rss_idle_released_mb``: the whole process tree), then ``--repeat`` times a photo that
  loads the models again and the release after it (``reload_s``, the median).
- ``in_process``: ``--idle-release 0``, the way ``watch`` ran before (models in the watch
  process, never let go): ``rss_idle_in_process_mb`` after a photo.
- ``service``: the window's indexing service (``python -m photoorg.core.app.service``, as
  the window starts it) with ``PHOTOORG_IDLE_RELEASE``: a search's seconds and RSS, RSS
  once it let its models go (it stays one process: torch stays imported), and the next
  search's seconds (the models loaded again).

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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.ocr_sets import plate_sign  # noqa: E402
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


RELEASE_SETTLE_S = 3.0
"""RSS is read this long after a release: the service hands memory back a second time
``TRIM_AGAIN_S`` (2 s) after it (photoorg.core.app.service)."""


def measure_service(data: Path, model: str, release_after: float,
                    photos: Path | None = None) -> dict[str, float]:
    """The window's indexing service as the window starts it (a child process): RSS after a
    search, RSS once it let its models go, and a search's seconds before and after. With
    ``photos`` (the library's folder): then a photo with a word is dropped there and the
    service indexes it and reads it: RSS idle with the OCR engine loaded, and once the
    service let it go (``memory`` ``released`` for spec ``ocr``)."""
    env = {**_env(), "PHOTOORG_IDLE_RELEASE": str(release_after)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "photoorg.core.app.service", "--data-dir", str(data),
         "--model", model, "--no-faces"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=env, cwd=REPO, bufsize=1)
    events: queue.Queue[dict] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                events.put(json.loads(line))

    threading.Thread(target=read, daemon=True).start()

    def wait(pred: object, timeout: float = 600) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                event = events.get(timeout=0.5)
            except queue.Empty:
                continue
            if pred(event):  # type: ignore[operator]
                return event
        raise RuntimeError("the service never answered")

    def search(gen: int) -> float:
        assert proc.stdin is not None
        started = time.monotonic()
        proc.stdin.write(json.dumps({"cmd": "search", "gen": gen, "text": "a red circle",
                                     "k": 20}) + "\n")
        proc.stdin.flush()
        wait(lambda e: e.get("event") == "results" and e.get("gen") == gen)
        return time.monotonic() - started

    try:
        wait(lambda e: e.get("event") == "idle")
        first = search(1)
        warm = search(2)
        rss_working = tree_rss_mb(proc.pid)
        wait(lambda e: e.get("event") == "memory" and e.get("state") == "released")
        time.sleep(RELEASE_SETTLE_S)
        rss_released = tree_rss_mb(proc.pid)
        after = search(3)
        text: dict[str, float] = {}
        if photos is not None:
            released = time.monotonic()
            wait(lambda e: e.get("event") == "memory" and e.get("state") == "released")
            plate_sign(photos / "service-sign.jpg", "BAKERY")
            assert proc.stdin is not None
            proc.stdin.write("rescan\n")
            proc.stdin.flush()
            wait(lambda e: e.get("event") == "progress" and e.get("phase") == "text")
            wait(lambda e: e.get("event") == "idle")
            time.sleep(1.0)
            text["service_rss_idle_after_reading_text_mb"] = round(tree_rss_mb(proc.pid), 1)
            wait(lambda e: e.get("event") == "memory" and e.get("state") == "released"
                 and e.get("spec") == "ocr")
            time.sleep(RELEASE_SETTLE_S)
            text["service_rss_released_after_reading_text_mb"] = round(
                tree_rss_mb(proc.pid), 1)
            text["service_text_cycle_s"] = round(time.monotonic() - released, 1)
    finally:
        assert proc.stdin is not None
        proc.stdin.write("quit\n")
        proc.stdin.close()
        proc.wait(120)
    return {
        "service_search_first_s": round(first, 2),
        "service_search_warm_s": round(warm, 2),
        "service_rss_after_search_mb": round(rss_working, 1),
        "service_rss_released_mb": round(rss_released, 1),
        "service_search_after_release_s": round(after, 2),
        **text,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--model", default="ViT-B-32/random")
    parser.add_argument("--release-after", type=float, default=5.0)
    parser.add_argument("--size", type=int, default=640, help="photo side in pixels")
    parser.add_argument("--repeat", type=int, default=3,
                        help="photos timed resident, and reloads timed (medians reported)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="watch-idle-"))
    try:
        photos, data, spare = tmp / "photos", tmp / "data", tmp / "spare"
        write_sample_library(photos, per_class=max(1, args.n // len(CLASSES)), seed=1,
                             size=args.size)
        made = write_sample_library(spare, per_class=1 + (2 * args.repeat + 3) // len(CLASSES),
                                    seed=2, size=args.size)
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
            resident = []
            for i in range(args.repeat):
                resident.append(drop(next(extra), photos, f"resident-{i + 2}.jpg", data))
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
            reloads = []
            for i in range(args.repeat):
                reloads.append(drop(next(extra), photos, f"release-{i + 2}.jpg", data))
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

        service = measure_service(data, args.model, args.release_after, photos)

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
            "resident_s": round(statistics.median(resident), 2),
            "resident_runs_s": [round(t, 2) for t in resident],
            "release_first_s": round(first_s, 2),
            "reload_s": round(statistics.median(reloads), 2),
            "reload_runs_s": [round(t, 2) for t in reloads],
            "reload_vs_resident": round(statistics.median(reloads)
                                        / statistics.median(resident), 2),
            "in_process_first_s": round(in_process_s, 2),
            **service,
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
