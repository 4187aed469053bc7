"""The service's "similar" command with ``"time"`` (issue 27): Find similar from a video's
frame at that second answers like ``Library.similar_moment``, not like the poster, and keeps
the ``results`` event's keys (video hits with their ``time``)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from photoorg.core.media.synthetic import draw_shape_image
from photoorg.core.models.embedder import TEST_MODEL, weights_available
from tests.unit.test_cli_e2e import TINY, run_cli
from tests.unit.test_video import shape_frames, write_clip

pytestmark = pytest.mark.skipif(not weights_available(TEST_MODEL), reason="tiny model missing")


def write_two_picture_library(photos: Path) -> Path:
    """A 8 s clip, a blue square then a red circle from 4 s, and photos of each picture;
    returns the clip."""
    photos.mkdir(parents=True)
    clip = write_clip(photos / "clip.mp4", shape_frames(80, range(40, 80)), codec="mpeg4")
    for i in range(3):
        for colour, shape in (("blue", "square"), ("red", "circle")):
            image = draw_shape_image(colour, shape, size=96, seed=10 + i)
            image.save(photos / f"{colour}_{shape}_{i}.jpg", quality=92)
    return clip


def _answers(data: Path, commands: list[dict]) -> dict[int, dict]:
    from photoorg.core.app.service import LibraryService

    events: list[dict] = []
    lock = threading.Lock()

    def emit(event: dict) -> None:
        with lock:
            events.append(event)

    svc = LibraryService(data, emit, model=TEST_MODEL, faces=False)
    runner = threading.Thread(target=svc.run, name="pipeline", daemon=True)
    runner.start()
    try:
        got: dict[int, dict] = {}
        for command in commands:  # one at a time: a newer query supersedes an older one
            svc.command(json.dumps(command))
            deadline = time.monotonic() + 120
            while command["gen"] not in got:
                if time.monotonic() > deadline:
                    pytest.fail(f"no answer to {command}")
                time.sleep(0.05)
                with lock:
                    got = {e["gen"]: e for e in events if e["event"] == "results"}
        return got
    finally:
        svc.command("quit")
        runner.join(60)


def test_similar_with_time_answers_from_that_frame(tmp_path: Path) -> None:
    from photoorg.core.app.library import Library

    photos, data = tmp_path / "photos", tmp_path / "data"
    clip = write_two_picture_library(photos)
    run_cli(data, "index", str(photos), "--model", TINY, "--no-faces")
    with Library(data, model=TEST_MODEL) as lib:
        vid = lib.reader().photo_id_for_path(clip.absolute())
        assert vid is not None
        moment = [h.photo_id for h in lib.similar_moment(vid, 5.0, k=50).hits]
        poster = [h.photo_id for h in lib.similar([vid], k=50, include_self=True).hits]
        names = {i: Path(p).name for i, p in zip(moment, lib.paths(moment), strict=True)}
    answers = _answers(data, [
        {"cmd": "similar", "gen": 1, "ids": [vid], "k": 50, "all": False, "time": 5.0},
        {"cmd": "similar", "gen": 2, "ids": [vid], "k": 50, "all": False},
    ])
    at, whole = answers[1], answers[2]
    assert at["error"] is None and whole["error"] is None
    assert {"ids", "scores", "matched", "total", "weaker", "times"} <= set(at)
    assert at["ids"] == moment and whole["ids"] == poster
    assert at["ids"] != whole["ids"]
    # from the red-circle second: the red circles come before any blue square
    firsts = [names[i] for i in at["ids"] if i != vid][:3]
    assert all(n.startswith("red_circle") for n in firsts), firsts
    assert at["times"][at["ids"].index(vid)] is not None  # the clip itself, at a moment

