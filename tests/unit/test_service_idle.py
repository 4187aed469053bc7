"""The window's service lets its models go when idle (issue 26): the text tower when the
search box is idle, every model when nothing is indexed or searched either; the next search
brings them back and still finds the right photos."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from photoorg.core.media.synthetic import write_sample_library
from photoorg.core.models.embedder import TEST_MODEL, weights_available

pytestmark = pytest.mark.skipif(not weights_available(TEST_MODEL), reason="tiny model missing")

IDLE_S = 1.5


class _Events:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.items.append(event)

    def since(self, start: int) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.items[start:])

    def mark(self) -> int:
        with self.lock:
            return len(self.items)

    def wait(self, pred: Callable[[dict[str, Any]], bool], start: int = 0,
             timeout: float = 120.0, while_waiting: Callable[[], None] | None = None
             ) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for event in self.since(start):
                if pred(event):
                    return event
            if while_waiting is not None:
                while_waiting()
            time.sleep(0.1)
        raise AssertionError(f"no such event in {timeout}s: {self.since(start)[-20:]}")


def _search(svc: Any, events: _Events, gen: int, text: str) -> tuple[int, dict[str, Any]]:
    start = events.mark()
    svc.command(json.dumps({"cmd": "search", "gen": gen, "text": text, "k": 4}))
    answer = events.wait(lambda e: e["event"] == "results" and e["gen"] == gen, start)
    return start, answer


@contextlib.contextmanager
def _running(data: Path, events: _Events) -> Iterator[Any]:
    """The window's service on ``data`` in a pipeline thread, quit and joined after."""
    from photoorg.core.app.service import LibraryService

    svc = LibraryService(data, events, model=TEST_MODEL, faces=False, idle_release_s=IDLE_S)
    runner = threading.Thread(target=svc.run, name="pipeline", daemon=True)
    runner.start()
    try:
        yield svc
    finally:
        svc.command("quit")
        runner.join(60)
    assert not runner.is_alive()


def _names(svc: Any, ids: list[int]) -> list[str]:
    cat = svc.library.reader()
    return [Path(str(cat.scalar("SELECT rel_path FROM photos WHERE id = ?", (i,)))).name
            for i in ids]


def test_idle_service_releases_models_and_a_search_brings_them_back(tmp_path: Path) -> None:
    from photoorg.core.app.library import Library

    photos, data = tmp_path / "photos", tmp_path / "data"
    made = write_sample_library(photos, per_class=2, seed=4, size=96)
    # names that say nothing: only the model can find the red circles
    classes = {}
    for i, (path, color, shape) in enumerate(made):
        path.rename(photos / f"p{i:02d}.jpg")
        classes[f"p{i:02d}.jpg"] = f"{color}_{shape}"
    expected = sorted(name for name, kind in classes.items() if kind == "red_circle")
    with Library(data, model=TEST_MODEL) as lib:
        lib.add_folders([photos])
    events = _Events()
    with _running(data, events) as svc:
        events.wait(lambda e: e["event"] == "idle", timeout=240)
        _, answer = _search(svc, events, 1, "a photo of a red circle")
        assert sorted(_names(svc, answer["ids"][:2])) == expected

        # indexing goes on (rescans), the search box is idle: only the text tower goes
        start = events.mark()
        last = [0.0]

        def rescan() -> None:
            if time.monotonic() - last[0] >= 0.5:
                last[0] = time.monotonic()
                svc.command("rescan")

        events.wait(lambda e: e["event"] == "memory" and e["state"] == "text_released",
                    start, while_waiting=rescan)
        assert not [e for e in events.since(start)
                    if e["event"] == "memory" and e["state"] == "released"]
        encoder = svc.encoders.loaded(TEST_MODEL)
        assert encoder is not None and "text" not in encoder.loaded
        # the next search loads it again, saying so, and finds the same photos
        start, answer = _search(svc, events, 2, "a photo of a red circle")
        states = [e["state"] for e in events.since(start) if e["event"] == "memory"]
        assert states[:2] == ["text_loading", "text_ready"]
        assert sorted(_names(svc, answer["ids"][:2])) == expected

        # nothing indexed, nothing searched: every model goes
        start = events.mark()
        events.wait(lambda e: e["event"] == "memory" and e["state"] == "released", start)
        assert svc.encoders.specs() == []
        start, answer = _search(svc, events, 3, "a photo of a red circle")
        models = [e["state"] for e in events.since(start) if e["event"] == "model"]
        assert models == ["loading", "ready"]  # the window shows the model loading
        assert sorted(_names(svc, answer["ids"][:2])) == expected
        assert answer["error"] is None and answer["matched"][:2] == [[], []]  # by the model


def test_idle_service_lets_the_ocr_models_go(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The service read text in new photos itself; idle, it lets the OCR engine and the
    gate's detector go with the CLIP model, and reads the next photo with them loaded
    again."""
    from benchmarks.ocr_sets import plate_sign
    from photoorg.core.app.library import Library
    from photoorg.core.app.service import OCR_MODELS
    from photoorg.core.ingest import ocr, textgate
    from photoorg.core.search import textindex

    monkeypatch.setenv(ocr.ENV_READ_TEXT, "1")  # tests/conftest.py turns it off

    photos, data = tmp_path / "photos", tmp_path / "data"
    photos.mkdir()
    plate_sign(photos / "first.jpg", "BAKERY")
    with Library(data, model=TEST_MODEL) as lib:
        lib.add_folders([photos])
    events = _Events()
    with _running(data, events) as svc:
        events.wait(lambda e: e["event"] == "memory" and e["state"] == "released"
                    and e["spec"] == OCR_MODELS, timeout=240)
        assert ocr._default_reader is None and not textgate._shared
        assert textindex.match_text(svc.library.reader(), "BAKERY").ids.size == 1
        start = events.mark()
        plate_sign(photos / "second.jpg", "PHARMACY")
        svc.command("rescan")
        events.wait(lambda e: e["event"] == "memory" and e["state"] == "released"
                    and e["spec"] == OCR_MODELS, start, timeout=240)
        assert textindex.match_text(svc.library.reader(), "PHARMACY").ids.size == 1
