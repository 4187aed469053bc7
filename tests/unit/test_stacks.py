"""Stacks through the commands users run: RAW+JPEG pairs (a rawpy-readable DNG made here),
a Live Photo (JPEG + MOV encoded here), a burst, and the false-stack traps (same base name on
another day; the same second on another camera)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from photoorg.core.groups import stacks
from photoorg.core.media.synthetic import draw_shape_image
from tests.unit.test_cli_e2e import TINY, run_cli
from tests.unit.test_imaging import _write_dng
from tests.unit.test_video import write_clip

pytest.importorskip("rawpy")


def save_jpeg(path: Path, image: Image.Image, when: str, *, subsec: str = "",
              camera: tuple[str, str] = ("Canon", "Canon EOS Test")) -> Path:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = camera
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = when
    sub[0x9011] = "+02:00"
    if subsec:
        sub[0x9291] = subsec
    image.save(path, "JPEG", exif=exif.tobytes(), quality=92)
    return path


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("stacks")
    photos, data = root / "photos", root / "data"
    (photos / "trip").mkdir(parents=True)
    trip = photos / "trip"
    # RAW+JPEG: the DNG says 2021:07:04 12:30:00 +02:00
    _write_dng(trip / "IMG_0001.DNG", preview_size=(300, 200))
    save_jpeg(trip / "IMG_0001.JPG", draw_shape_image("red", "square", 96), "2021:07:04 12:30:00")
    # trap: the same base name, another day
    _write_dng(trip / "IMG_0002.DNG", preview_size=(300, 200))
    save_jpeg(trip / "IMG_0002.JPG", draw_shape_image("green", "star", 96), "2021:07:05 09:00:00")
    # Live Photo: the still and a 2 s movie recorded with it
    save_jpeg(trip / "IMG_0003.JPG", draw_shape_image("yellow", "circle", 96),
              "2021:07:04 13:00:00")
    frames = [np.asarray(draw_shape_image("yellow", "circle", 96, seed=i)) for i in range(20)]
    write_clip(trip / "IMG_0003.MOV".replace(".MOV", ".mov"), frames, metadata={
        "com.apple.quicktime.creationdate": "2021-07-04T13:00:01+0200"})
    # a burst: four shots 0.3 s apart of one scene, only the third in focus
    scene = draw_shape_image("blue", "triangle", 160, seed=5)
    for i, sub in enumerate(("00", "30", "60", "90")):
        shot = scene if i == 2 else scene.filter(ImageFilter.GaussianBlur(2.5))
        save_jpeg(trip / f"BURST_{i}.JPG", shot, "2021:07:04 14:00:00", subsec=sub)
    # trap: the same second, the same picture, another camera
    purple = draw_shape_image("purple", "square", 96, seed=9)
    save_jpeg(photos / "a.jpg", purple, "2021:07:04 15:00:00", camera=("Apple", "iPhone 12"))
    save_jpeg(photos / "b.jpg", purple, "2021:07:04 15:00:00", camera=("Google", "Pixel 7"))
    run_cli(data, "index", str(photos), "--model", TINY, "--no-faces")
    return photos, data


def _stacks(data: Path) -> list[dict]:
    return json.loads(run_cli(data, "stacks", "--json").stdout)


def test_pairs_live_photo_and_burst_and_no_false_stacks(library: tuple[Path, Path]) -> None:
    photos, data = library
    found = {s["kind"]: s for s in _stacks(data)}
    assert sorted(found) == ["burst", "live", "raw_jpeg"]
    names = {k: [Path(p).name for p in s["photos"]] for k, s in found.items()}
    assert names["raw_jpeg"] == ["IMG_0001.JPG", "IMG_0001.DNG"]  # the JPEG is the cover
    assert names["live"] == ["IMG_0003.JPG", "IMG_0003.mov"]
    assert Path(found["burst"]["cover"]).name == "BURST_2.JPG"  # the sharpest
    assert sorted(names["burst"]) == [f"BURST_{i}.JPG" for i in range(4)]
    stacked = {n for ns in names.values() for n in ns}
    assert not stacked & {"IMG_0002.JPG", "IMG_0002.DNG", "a.jpg", "b.jpg"}
    assert all(s["state"] == "stacked" and set(s) == {"id", "kind", "state", "cover", "photos"}
               for s in found.values())


def test_search_counts_a_stack_once_and_unstack_undo(library: tuple[Path, Path]) -> None:
    photos, data = library

    def names(*query: str) -> list[str]:
        out = run_cli(data, "search", *query, "-k", "50", "--all", "--json").stdout
        return [Path(h["path"]).name for h in json.loads(out)]

    shown = names("a photo of a blue triangle")
    assert [n for n in shown if n.startswith("BURST")] == ["BURST_2.JPG"]
    assert "IMG_0001.DNG" not in shown and "IMG_0003.mov" not in shown
    burst = next(s for s in _stacks(data) if s["kind"] == "burst")
    run_cli(data, "stacks", "unstack", str(burst["id"]))
    assert sum(n.startswith("BURST") for n in names("a photo of a blue triangle")) == 4
    again = next(s for s in _stacks(data) if s["id"] == burst["id"])
    assert again["state"] == "unstacked"  # remembered: not stacked again by detection
    run_cli(data, "undo")
    assert next(s for s in _stacks(data) if s["id"] == burst["id"])["state"] == "stacked"
    assert [n for n in names("a photo of a blue triangle") if n.startswith("BURST")] == [
        "BURST_2.JPG"]
    assert run_cli(data, "stacks", "restack", str(burst["id"]), check=False).returncode != 0


def test_duplicates_never_pair_a_stacks_members(library: tuple[Path, Path]) -> None:
    _, data = library
    burst = next(s for s in _stacks(data) if s["kind"] == "burst")
    run_cli(data, "stacks", "unstack", str(burst["id"]))  # all four shown again
    try:
        groups = json.loads(run_cli(data, "duplicates", "--json").stdout)
    finally:
        run_cli(data, "undo")
    members = [{Path(p["path"]).name for p in g} for g in groups]
    assert {"a.jpg", "b.jpg"} in members  # the same picture from two cameras: offered
    for group in members:
        assert len({n for n in group if n.startswith("BURST")}) <= 1, group


def test_events_count_a_stack_once(library: tuple[Path, Path]) -> None:
    _, data = library
    events = json.loads(run_cli(data, "events", "--json", "--min-photos", "1").stdout)
    shown = [Path(p).name for e in events for p in e["photos"]]
    assert "IMG_0001.JPG" in shown and "IMG_0003.JPG" in shown and "BURST_2.JPG" in shown
    assert not {"IMG_0001.DNG", "IMG_0003.mov", "BURST_0.JPG"} & set(shown)
    assert "IMG_0002.DNG" in shown and "IMG_0002.JPG" in shown  # not a stack: both count


def test_sharpness_prefers_the_focused_frame() -> None:
    scene = np.asarray(draw_shape_image("blue", "triangle", 128).convert("L"), np.float32)
    blurred = np.asarray(Image.fromarray(scene.astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(2)), np.float32)
    assert stacks.sharpness(scene) > stacks.sharpness(blurred)
