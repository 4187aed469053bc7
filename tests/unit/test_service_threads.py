"""One connection per thread in the window's service (issue 24): while the pipeline
indexes, searches, "similar" and a model choice run on the query thread; the library's
write connection is used by the pipeline's thread alone, readers read through their own
connections, and apsw never reports two threads on one connection."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from photoorg.core.media.synthetic import write_sample_library
from photoorg.core.models.embedder import TEST_MODEL, weights_available

pytestmark = pytest.mark.skipif(not weights_available(TEST_MODEL), reason="tiny model missing")


class _Recording:
    """A lock that remembers which threads took it (the writer's, here)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.threads: set[str] = set()

    def __enter__(self) -> Any:
        self.threads.add(threading.current_thread().name)
        return self.inner.__enter__()

    def __exit__(self, *exc: object) -> Any:
        return self.inner.__exit__(*exc)


def test_queries_and_the_pipeline_use_their_own_connections(tmp_path: Path) -> None:
    from photoorg.core.app.library import Library
    from photoorg.core.app.service import LibraryService

    photos, data = tmp_path / "photos", tmp_path / "data"
    write_sample_library(photos, per_class=3, seed=4, size=96)
    with Library(data, model=TEST_MODEL) as lib:
        lib.add_folders([photos])
    events: list[dict] = []
    lock = threading.Lock()

    def emit(event: dict) -> None:
        with lock:
            events.append(event)

    svc = LibraryService(data, emit, model=TEST_MODEL, faces=True)
    writer = svc.library.writer
    recording = _Recording(writer._lock)
    writer._lock = recording  # type: ignore[assignment]
    runner = threading.Thread(target=svc.run, name="pipeline", daemon=True)
    runner.start()
    try:
        gen = 0
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:  # under load: the pipeline is working meanwhile
            gen += 1
            svc.command(json.dumps({"cmd": "search", "gen": gen, "text": "a red circle",
                                    "k": 20}))
            if gen % 5 == 0:
                svc.command(json.dumps({"cmd": "similar", "gen": gen, "ids": [1], "k": 10}))
            if gen == 10:
                svc.command(json.dumps({"cmd": "download", "spec": TEST_MODEL}))
            time.sleep(0.02)
            with lock:
                idle = sum(e["event"] == "idle" for e in events)
            if idle >= 2 and gen > 40:  # the pass the model choice asked for ran too
                break
        else:
            pytest.fail("the service never went idle twice")
        time.sleep(1.0)  # the last answers
    finally:
        svc.command("quit")
        runner.join(60)
    with lock:
        errors = [e for e in events if e["event"] == "error"]
        results = [e for e in events if e["event"] == "results"]
    assert errors == []
    # what a user may be told before anything is embedded; nothing else (no "database is
    # locked", no apsw ThreadingViolation)
    told = {r["error"] for r in results if r["error"]}
    assert told <= {"the library has no searchable photos yet",
                    "the library is empty: run `photoorg index FOLDER` first"}, told
    assert any(r["ids"] for r in results)
    # the writer was only ever taken by the pipeline's thread (and its decode/face workers
    # never: they hand results back), never by the query thread
    assert recording.threads == {"pipeline"}, recording.threads
