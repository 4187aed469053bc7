"""Scene-cut keyframes: besides one frame every 2 s, the first frame of a shot no periodic
frame falls in, so a short shot between two periodic keyframes is searchable. Clips encoded
here (H.264), searched with ``photoorg search`` and the bundled tiny CLIP."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")
from photoorg.core.media import video  # noqa: E402
from tests.unit.test_cli_e2e import TINY, run_cli  # noqa: E402
from tests.unit.test_video import shape_frames, write_clip  # noqa: E402


def _is_red(image) -> bool:
    """The red circle's frame (mean colour ~(110, 82, 72)), not the blue square's (~(115,
    108, 149))."""
    r, _, b = np.asarray(image).reshape(-1, 3).mean(0)
    return bool(r - b > 20)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    photos = tmp_path_factory.mktemp("scenes") / "photos"
    photos.mkdir()
    # 10 s at 10 fps, periodic keyframes at 1, 3, 5, 7, 9 s; a 1 s red shot:
    write_clip(photos / "middle.mp4", shape_frames(100, range(45, 55)))  # 4.5-5.5 s
    write_clip(photos / "between.mp4", shape_frames(100, range(34, 44)))  # 3.4-4.4 s
    return photos


def test_a_shot_between_periodic_keyframes_gets_its_own(clips: Path) -> None:
    periodic = video.keyframes(clips / "between.mp4", min_side=32, scenes=False)
    assert [t for t, _ in periodic] == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert not any(_is_red(im) for _, im in periodic)  # every 2 s misses the shot
    found = video.keyframes(clips / "between.mp4", min_side=32)
    assert [t for t, _ in found] == [1.0, 3.0, 3.4, 5.0, 7.0, 9.0]
    assert [_is_red(im) for _, im in found] == [False, False, True, False, False, False]
    # the shot back to the square at 4.4 s is covered by the periodic frame at 5 s
    middle = video.keyframes(clips / "middle.mp4", min_side=32)
    assert [t for t, _ in middle] == [1.0, 3.0, 5.0, 7.0, 9.0]  # 5 s is in the shot
    assert _is_red(dict(middle)[5.0])


def test_scene_keyframes_are_capped(tmp_path: Path) -> None:
    # a cut every 0.5 s for 10 s, the periodic frames at 1, 3, ... 9 s
    frames = shape_frames(100, [i for i in range(100) if (i // 5) % 2])
    clip = write_clip(tmp_path / "flicker.mp4", frames)
    found = video.keyframes(clip, min_side=32, scene_cap=3)
    assert len(found) == 5 + 3
    assert len(video.keyframes(clip, min_side=32)) <= 5 + video.MAX_SCENE_KEYFRAMES


def test_search_finds_the_short_shot_at_its_second(clips: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_cli(data, "index", str(clips), "--model", TINY, "--no-faces")
    hits = json.loads(run_cli(data, "search", "a photo of a red circle", "-k", "5", "--all",
                              "--json").stdout)
    at = {Path(h["path"]).name: h.get("time") for h in hits}
    assert at["middle.mp4"] == 5.0
    assert at["between.mp4"] == 3.4  # the shot's own keyframe (periodic ones are blue)
