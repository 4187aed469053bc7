"""The indexer's controls on a real library: pause holds every pass, not just embedding."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from photoorg.core.ingest.indexer import IndexControl, IndexListener, Progress
from photoorg.core.media.synthetic import write_sample_library
from photoorg.core.models.embedder import TEST_MODEL, weights_available
from photoorg.core.store.catalog import Catalog

pytestmark = pytest.mark.skipif(not weights_available(TEST_MODEL), reason="tiny model missing")


class Recorder(IndexListener):
    def __init__(self, control: IndexControl) -> None:
        self.control = control
        self.events: list[tuple[str, int, bool, int]] = []

    def on_progress(self, progress: Progress) -> None:
        self.events.append((progress.phase, progress.done, progress.paused, progress.total))
        if progress.phase == "faces" and not any(e[2] for e in self.events):
            self.control.pause()  # the user presses pause while faces are being found


def _faces_done(path: Path) -> int:
    with Catalog(path, readonly=True) as cat:
        return int(cat.scalar("SELECT COUNT(*) FROM photos WHERE faces_done = 1"))


def test_pause_holds_the_face_pass_until_resume(tmp_path: Path) -> None:
    """The pipeline's faces stage (what `photoorg index`, `watch` and the window run)."""
    from photoorg.core.app.library import Library

    write_sample_library(tmp_path / "photos", per_class=1, seed=5, size=96)
    lib = Library(tmp_path / "data", model=TEST_MODEL)
    lib.add_folders([tmp_path / "photos"])
    lib.scan()
    cat = lib.writer
    total = int(cat.scalar("SELECT COUNT(*) FROM photos"))
    control = IndexControl()
    listener = Recorder(control)
    thread = threading.Thread(target=lambda: lib.run_pipeline(listener=listener,
                                                              control=control))
    thread.start()
    deadline = time.monotonic() + 60
    while not any(e[2] for e in listener.events):
        assert time.monotonic() < deadline and thread.is_alive(), listener.events
        time.sleep(0.05)
    held = _faces_done(cat.path)
    time.sleep(0.6)
    assert _faces_done(cat.path) == held < total  # nothing moves while paused
    assert thread.is_alive()
    paused = next(e for e in listener.events if e[2])
    assert paused[0] == "faces" and paused[3] == total  # "Finding faces 0 of N · paused"
    control.resume()
    thread.join(60)
    assert not thread.is_alive()
    assert _faces_done(cat.path) == total
    lib.close()
