"""The library service's protocol (Qt-free): downloads with progress and cancel, queries that
only answer the newest question, and commands."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from photoorg import config
from photoorg.core.app.service import LibraryService
from photoorg.core.models import embedder as embedder_mod
from photoorg.core.store.catalog import Catalog


class FakeEmbedder:
    def __init__(self, spec: str) -> None:
        self.spec = spec

    def encode_texts(self, texts: list[str]) -> Any:
        raise AssertionError("not used here")


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    data = tmp_path / "data"
    data.mkdir()
    Catalog(config.catalog_path(data)).close()
    events: list[dict[str, Any]] = []
    gate = threading.Event()

    def fake_load(spec: str, progress: Any = None, **_: Any) -> FakeEmbedder:
        if progress is not None:  # a "download" in 10 steps, waiting on the test
            for i in range(1, 11):
                progress(i * 100, 1000)
                gate.wait(2)
        return FakeEmbedder(spec)

    monkeypatch.setattr(embedder_mod, "load_embedder", fake_load)
    monkeypatch.setattr(embedder_mod, "weights_available", lambda spec: False)
    svc = LibraryService(data, events.append, model="ViT-B-32/laion2b_s34b_b79k", faces=False)
    thread = threading.Thread(target=svc.run, daemon=True)
    thread.start()
    yield svc, events, gate
    svc.command("quit")
    gate.set()
    thread.join(10)
    assert not thread.is_alive()


def _wait(events: list[dict[str, Any]], test, timeout: float = 10.0) -> dict[str, Any]:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in list(events):
            if test(event):
                return event
        time.sleep(0.01)
    raise AssertionError(f"no such event in {events[-10:]}")


def test_missing_weights_are_not_downloaded_unasked(service) -> None:  # noqa: ANN001
    _svc, events, _gate = service
    _wait(events, lambda e: e["event"] == "model" and e["state"] == "missing")
    assert not any(e["event"] == "download" for e in events)


def test_download_reports_progress_then_ready(service) -> None:  # noqa: ANN001
    svc, events, gate = service
    _wait(events, lambda e: e["event"] == "model" and e["state"] == "missing")
    gate.set()
    svc.command('{"cmd": "download", "spec": "ViT-B-32/laion2b_s34b_b79k"}')
    _wait(events, lambda e: e["event"] == "model" and e["state"] == "ready")
    done = [e["done"] for e in events if e["event"] == "download"]
    assert done and done[-1] == 1000 and done == sorted(done)
    assert any(e["event"] == "model" and e["state"] == "downloading" for e in events)


def test_download_can_be_cancelled(service) -> None:  # noqa: ANN001
    svc, events, gate = service
    _wait(events, lambda e: e["event"] == "model" and e["state"] == "missing")
    svc.command('{"cmd": "download", "spec": "ViT-B-32/laion2b_s34b_b79k"}')
    _wait(events, lambda e: e["event"] == "download")
    svc.command('{"cmd": "cancel_download"}')
    gate.set()
    _wait(events, lambda e: e["event"] == "model" and e["state"] in ("cancelled", "ready"))
    assert not any(e["event"] == "model" and e["state"] == "ready" for e in events)


def test_only_the_newest_query_is_kept_waiting(tmp_path: Path) -> None:
    svc = LibraryService(tmp_path, lambda e: None)
    for gen in (1, 2, 3):
        svc.command(f'{{"cmd": "search", "gen": {gen}, "text": "x", "k": 5}}')
    svc.command('{"cmd": "download", "spec": "a/b"}')
    svc.command('{"cmd": "similar", "gen": 4, "ids": [1], "k": 5}')
    assert [j.get("gen", j["cmd"]) for j in svc._jobs] == ["download", 4]
