"""Faces in a video's keyframes join people, one face per person per video: a clip made here
from faces-dev photos (Obama for 4 s, then Biden), indexed with ``photoorg index`` beside
one more photo of each; ``clusters people --json`` lists the clip once per person, with the
second each was seen."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.unit.test_cli_e2e import TINY, run_cli

pytest.importorskip("av")
from tests.unit.test_video import write_clip  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FACES_DEV = REPO / "tests" / "data" / "faces-dev"  # MIT, see its LICENSE file


def _frame(rel: str, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A faces-dev photo letterboxed into a video frame."""
    photo = Image.open(FACES_DEV / rel).convert("RGB")
    photo.thumbnail(size, Image.Resampling.LANCZOS)
    frame = Image.new("RGB", size, (30, 30, 30))
    frame.paste(photo, ((size[0] - photo.width) // 2, (size[1] - photo.height) // 2))
    return np.asarray(frame)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("video_faces")
    photos, data = root / "photos", root / "data"
    photos.mkdir()
    obama, biden = _frame("obama/obama.jpg"), _frame("biden/biden.jpg")
    # 8 s at 5 fps: keyframes at 1, 3, 5 and 7 s (Obama in two, Biden in two)
    write_clip(photos / "speech.mp4", [obama] * 20 + [biden] * 20, fps=5)
    shutil.copy(FACES_DEV / "obama/obama2.jpg", photos / "obama2.jpg")
    shutil.copy(FACES_DEV / "biden/biden2.jpg", photos / "biden2.jpg")
    run_cli(data, "index", str(photos), "--model", TINY)
    return photos, data


def test_a_video_counts_once_per_person_with_its_moment(library: tuple[Path, Path]) -> None:
    photos, data = library
    people = json.loads(run_cli(data, "clusters", "people", "--json").stdout)
    by_photo = {Path(p).name: c for c in people for p in c["photos"]}
    obama, biden = by_photo["obama2.jpg"], by_photo["biden2.jpg"]
    assert obama["id"] != biden["id"]
    assert sorted(Path(p).name for p in obama["photos"]) == ["obama2.jpg", "speech.mp4"]
    assert sorted(Path(p).name for p in biden["photos"]) == ["biden2.jpg", "speech.mp4"]
    clip = str(photos / "speech.mp4")
    assert obama["times"][clip] in (1.0, 3.0)
    assert biden["times"][clip] in (5.0, 7.0)
    assert "times" in obama and obama["size"] == 2


def test_the_clip_keeps_one_face_per_person(library: tuple[Path, Path]) -> None:
    from photoorg.core.store.catalog import Catalog

    _, data = library
    with Catalog(data / "catalog.sqlite") as cat:
        rows = cat.query("SELECT f.t, f.cluster_id FROM faces f JOIN photos p "
                         "ON p.id = f.photo_id WHERE p.rel_path = 'speech.mp4' ORDER BY f.t")
    assert len(rows) == 2  # four keyframes with a face, two people
    assert rows[0][0] < 4 <= rows[1][0] and rows[0][1] != rows[1][1]


def test_best_per_person_keeps_the_best_and_never_merges_one_frame() -> None:
    from photoorg.core.people.faces import DetectedFace
    from photoorg.core.people.video_faces import best_per_person

    a = np.zeros(128, np.float32)
    b = a.copy()
    b[0] = 0.3  # the same person in another frame
    c = a.copy()
    c[0] = 0.3  # someone that close, but in the same frame as a
    faces = [DetectedFace((0, 0, 0.1, 0.1), 1.0, 50.0, a, t=1.0),
             DetectedFace((0, 0, 0.3, 0.3), 1.0, 50.0, b, t=3.0),
             DetectedFace((0.5, 0, 0.1, 0.1), 1.0, 50.0, c, t=1.0)]
    kept = best_per_person(faces)
    assert [f.t for f in kept] == [3.0]  # the largest; a and c are b's person...
    kept = best_per_person([faces[0], faces[2]])
    assert len(kept) == 2  # ...but two faces in one frame are two people
