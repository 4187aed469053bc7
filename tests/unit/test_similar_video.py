"""Find similar across photos and videos: a photo's similar results include the video moment
that looks like it (with its second), ``photoorg similar VIDEO --time SECONDS`` looks like
the frame at that second (a stored keyframe, or the frame decoded and embedded), and the
door's ``similar_moment`` the window calls. Clips encoded here; the bundled tiny CLIP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photoorg.core.media.synthetic import draw_shape_image
from tests.unit.test_cli_e2e import TINY, run_cli

pytest.importorskip("av")
from tests.unit.test_video import shape_frames, write_clip  # noqa: E402


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("similar_video")
    photos, data = root / "photos", root / "data"
    photos.mkdir()
    # 10 s: a blue square, a red circle from 2 s to 4 s; keyframes at 1, 3, 5, 7 and 9 s
    write_clip(photos / "clip.mp4", shape_frames(100, range(20, 40)))
    draw_shape_image("red", "circle", size=96, seed=7).save(photos / "red.jpg")
    draw_shape_image("blue", "square", size=96, seed=8).save(photos / "blue.jpg")
    draw_shape_image("green", "triangle", size=96, seed=9).save(photos / "green.jpg")
    write_clip(root / "outside.mp4", shape_frames(40, range(0, 40)))  # red all along
    run_cli(data, "index", str(photos), "--model", TINY, "--no-faces")
    return photos, data


def _similar(data: Path, *args: str) -> list[dict]:
    out = run_cli(data, "similar", *args, "-k", "10", "--all", "--json").stdout
    return json.loads(out)


def _names(hits: list[dict]) -> list[str]:
    return [Path(h["path"]).name for h in hits]


def test_a_photos_similar_results_include_the_video_moment(library: tuple[Path, Path]) -> None:
    photos, data = library
    hits = _similar(data, str(photos / "red.jpg"))
    clip = next(h for h in hits if h["path"].endswith("clip.mp4"))
    assert clip["time"] == 3.0  # the red moment, not the blue poster
    assert _names(hits).index("clip.mp4") < _names(hits).index("blue.jpg")
    assert all(set(h) == {"path", "score", "matched"} for h in hits if h is not clip)


def test_similar_from_a_video_moment(library: tuple[Path, Path]) -> None:
    photos, data = library
    red = _similar(data, str(photos / "clip.mp4"), "--time", "3")
    assert red[0]["path"].endswith("clip.mp4") and red[0]["time"] == 3.0
    assert red[0]["score"] == pytest.approx(1.0, abs=1e-4)  # its own keyframe
    assert _names(red).index("red.jpg") < _names(red).index("blue.jpg")
    blue = _similar(data, str(photos / "clip.mp4"), "--time", "7")
    assert _names(blue).index("blue.jpg") < _names(blue).index("red.jpg")
    # 2.6 s is no keyframe: that frame is decoded and embedded (red on screen then)
    between = _similar(data, str(photos / "clip.mp4"), "--time", "2.6")
    assert _names(between).index("red.jpg") < _names(between).index("blue.jpg")
    assert all(set(h) <= {"path", "score", "matched", "time"} for h in between)


def test_similar_from_a_video_outside_the_library(library: tuple[Path, Path]) -> None:
    photos, data = library
    hits = _similar(data, str(photos.parent / "outside.mp4"), "--time", "1.5")
    assert _names(hits).index("red.jpg") < _names(hits).index("blue.jpg")


def test_bad_moments_fail_clearly(library: tuple[Path, Path]) -> None:
    photos, data = library
    two = run_cli(data, "similar", str(photos / "clip.mp4"), str(photos / "red.jpg"),
                  "--time", "1", check=False)
    assert two.returncode != 0 and "one video" in two.stderr
    still = run_cli(data, "similar", str(photos / "red.jpg"), "--time", "1", check=False)
    assert still.returncode != 0 and "red.jpg" in still.stderr


def test_the_doors_similar_moment(library: tuple[Path, Path]) -> None:
    from photoorg.core.app.library import Library

    photos, data = library
    with Library(data) as lib:
        (clip_id,) = lib.photo_ids([photos / "clip.mp4"])
        page = lib.similar_moment(clip_id, 3.0, k=5)
        assert Path(page.hits[0].path).name == "clip.mp4" and page.hits[0].time == 3.0
        names = [Path(h.path).name for h in page.hits]
        assert "red.jpg" in names
        if "blue.jpg" in names:
            assert names.index("red.jpg") < names.index("blue.jpg")
