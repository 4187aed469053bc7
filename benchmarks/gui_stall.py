"""How long can the window freeze while a library is being indexed?

Runs the real main window (offscreen unless ``QT_QPA_PLATFORM`` says otherwise) on a generated
library of synthetic photos, lets the library service index it (scan → embed → faces →
groups) while a "user" scrolls the grid every 150 ms and types a search halfway, and records
the lateness of a 10 ms ``QTimer`` heartbeat on the GUI thread. The longest lateness is the
longest time the window could not react::

    python benchmarks/gui_stall.py --json                           # 300 photos, tiny model
    python benchmarks/gui_stall.py --model ViT-B-32/random --json   # realistic CPU load
    python benchmarks/gui_stall.py --mode thread --json             # service in-process

Prints ``{"max_stall_ms", "p99_stall_ms", "photos", "seconds", ...}``. ``seconds`` is the
indexing time as the window saw it (service start to idle). The goal is max ≤ 50 ms.

``baseline_*``: the same heartbeat in an *empty* Qt app running alongside, at the same
time — the floor this machine sets (a shared or busy machine delays every thread); a
stall of the window well above the baseline is photoorg's own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_library(folder: Path, photos: int, size: int) -> int:
    from photoorg.core.media.synthetic import CLASSES, write_sample_library

    per_class = -(-photos // len(CLASSES))
    written = write_sample_library(folder, per_class=per_class, seed=7, size=size)
    for path, _color, _shape in written[photos:]:
        path.unlink()
    return min(photos, len(written))


def default_model() -> str:
    from photoorg.core.models.embedder import TEST_MODEL, weights_available

    return TEST_MODEL if weights_available(TEST_MODEL) else "ViT-B-32/random"


def baseline_child() -> int:
    """An empty Qt app with the same heartbeat, until stdin closes."""
    import threading

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import photoorg.ui  # noqa: F401 - the binding workarounds
    from photoorg.ui.heartbeat import StallMonitor

    app = QApplication([])
    monitor = StallMonitor(10)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    poll = QTimer()
    poll.timeout.connect(lambda: done.is_set() and app.quit())
    poll.start(100)
    monitor.start()
    app.exec()
    print(json.dumps({"max": round(monitor.max_ms, 1), "p99": round(monitor.percentile(99), 1)}))
    return 0


def main() -> int:
    if sys.argv[1:] == ["--baseline-child"]:
        return baseline_child()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--size", type=int, default=512, help="side of the generated JPEGs")
    parser.add_argument("--model", help="model spec (default: the bundled tiny model)")
    parser.add_argument("--mode", choices=("process", "thread"), default="process")
    parser.add_argument("--no-faces", action="store_true")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary library")
    args = parser.parse_args()

    from PySide6.QtCore import QTimer

    from photoorg import config
    from photoorg.core.store.catalog import Catalog
    from photoorg.ui.app import create_application
    from photoorg.ui.heartbeat import StallMonitor
    from photoorg.ui.main_window import MainWindow

    model = args.model or default_model()
    work = Path(tempfile.mkdtemp(prefix="photoorg-stall-"))
    data, library = work / "data", work / "photos"
    data.mkdir()
    photos = make_library(library, args.photos, args.size)
    with Catalog(config.catalog_path(data)) as cat:
        cat.add_root(library)

    import subprocess

    baseline = subprocess.Popen([sys.executable, __file__, "--baseline-child"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    app = create_application()
    window = MainWindow(data, model_spec=model, index_mode=args.mode, watch=False,
                        faces=not args.no_faces)
    window.errors.interactive = False
    monitor = StallMonitor(10)
    state = {"started": 0.0, "ended": 0.0, "embedded": False, "searched": False}
    service = window.controller.service

    def on_progress(p: object) -> None:
        phase = getattr(p, "phase", "")
        if phase == "embedding" and not state["searched"] and getattr(p, "done", 0) * 2 >= \
                max(1, getattr(p, "total", 1)):
            state["searched"] = True
            window.search_field.setText("a photo of a red circle")
            QTimer.singleShot(1500, lambda: window.search_field.setText(""))
        if phase == "embedding":
            state["embedded"] = True

    def on_idle() -> None:
        if state["embedded"] and not state["ended"]:
            state["ended"] = time.perf_counter()
            monitor.stop()
            QTimer.singleShot(200, app.quit)

    def scroll() -> None:
        bar = window.grid.verticalScrollBar()
        step = max(1, bar.pageStep())
        bar.setValue(bar.value() + step if bar.value() < bar.maximum() else 0)

    service.progress.connect(on_progress)
    service.idle.connect(on_idle)
    scroller = QTimer()
    scroller.timeout.connect(scroll)
    window.show()
    state["started"] = time.perf_counter()
    monitor.start()
    scroller.start(150)
    QTimer.singleShot(int(args.timeout * 1000), app.quit)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    app.exec()
    scroller.stop()
    monitor.stop()
    window.close()
    floor, _ = baseline.communicate("", timeout=60)
    floor_stats = json.loads(floor.strip().splitlines()[-1]) if floor.strip() else {}
    ended = state["ended"] or time.perf_counter()
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        indexed = cat.status_counts()["indexed"]
    result = {
        "max_stall_ms": round(monitor.max_ms, 1),
        "p99_stall_ms": round(monitor.percentile(99), 1),
        "photos": photos,
        "indexed": indexed,
        "seconds": round(ended - state["started"], 1),
        "model": model,
        "mode": args.mode,
        "heartbeats": len(monitor.lateness_ms),
        "baseline_max_stall_ms": floor_stats.get("max"),
        "baseline_p99_stall_ms": floor_stats.get("p99"),
        "stalls_over_20ms": monitor.worst[:20],
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load] if load else None,
        "errors": window.errors.shown,
    }
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")
    return 0 if indexed == photos and state["ended"] else 1


if __name__ == "__main__":
    sys.exit(main())
