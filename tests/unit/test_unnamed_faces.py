"""Unnamed faces: listed by look-alike groups, "This is …" and "Not a face" through the door
and the CLI (one undo step each, sidecar regions at once), on real portraits (faces-dev)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from photoorg import config
from photoorg.core.app.library import Library, LibraryError
from photoorg.core.models.embedder import TEST_MODEL, weights_available
from photoorg.core.store.catalog import Catalog

REPO = Path(__file__).resolve().parents[2]
FACES_DEV = REPO / "tests" / "data" / "faces-dev"  # MIT, see its LICENSE file
PEOPLE = ("alex_lacamoire", "biden", "obama", "rose_leslie")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not weights_available(TEST_MODEL), reason="tiny model missing"),
]


def _cli(data: Path, *args: str) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "photoorg", "--data-dir", str(data), *args],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("unnamed")
    photos, data = root / "photos", root / "data"
    photos.mkdir()
    for person in PEOPLE:
        for src in sorted((FACES_DEV / person).glob("*.jp*g")):
            shutil.copy(src, photos / f"{person}_{src.name}")
    data.mkdir()
    config.Settings(write_sidecars=True).save(data)
    _cli(data, "index", str(photos), "--model", TEST_MODEL)
    return root


def unclustered(base: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy where no person holds a face, as when faces are too unlike to be grouped
    (a person photographed decades apart)."""
    root = tmp_path / "lib"
    shutil.copytree(base, root)
    with Library(root / "data") as lib:
        lib.relocate_folder(base / "photos", root / "photos")
    with Catalog(config.catalog_path(root / "data")) as cat:
        cat.execute("UPDATE faces SET cluster_id = NULL")
        cat.execute("DELETE FROM clusters WHERE kind = 'people'")
    return root / "data", root / "photos"


def _person(path: str) -> str:
    return next(p for p in PEOPLE if Path(path).name.startswith(p))


def test_groups_largest_first_one_person_each(base: Path, tmp_path: Path) -> None:
    data, _ = unclustered(base, tmp_path)
    groups = json.loads(_cli(data, "faces", "--unnamed", "--json"))
    assert [g["size"] for g in groups] == [2, 2, 2, 1]
    people = [{_person(f["photo"]) for f in g["faces"]} for g in groups]
    assert all(len(p) == 1 for p in people)  # look-alikes: one person per group
    assert people[-1] == {"alex_lacamoire"}
    for g in groups:
        for f in g["faces"]:
            assert len(f["box"]) == 4 and 0 <= f["box"][0] < 1


def test_this_is_and_not_a_face_one_undo_step_each(base: Path, tmp_path: Path) -> None:
    data, photos = unclustered(base, tmp_path)
    groups = json.loads(_cli(data, "faces", "--unnamed", "--json"))
    biden = next(g for g in groups if _person(g["faces"][0]["photo"]) == "biden")
    ids = [str(f["id"]) for f in biden["faces"]]
    out = _cli(data, "face-name", *ids, "Joe Biden")
    assert "Joe Biden" in out
    people = json.loads(_cli(data, "clusters", "people", "--json", "--no-refresh"))
    (joe,) = [p for p in people if p["name"] == "Joe Biden"]
    assert sorted(joe["photos"]) == sorted(f["photo"] for f in biden["faces"])
    # written at once as a named MWG region to each photo's sidecar
    for f in biden["faces"]:
        xmp = Path(f["photo"] + ".xmp")
        if not xmp.exists():
            xmp = Path(f["photo"]).with_suffix(".xmp")
        assert "Joe Biden" in xmp.read_text(), xmp
    left = json.loads(_cli(data, "faces", "--unnamed", "--json"))
    assert [g["size"] for g in left] == [2, 2, 1]

    alex = left[-1]["faces"][0]
    _cli(data, "not-a-face", str(alex["id"]))
    assert [g["size"] for g in json.loads(_cli(data, "faces", "--unnamed", "--json"))] == [2, 2]
    with Library(data) as lib:
        steps = lib.history(5)
        assert [e.summary for e in steps[:2]] == ["Not a face: a face",
                                                 "2 faces named “Joe Biden”"]
        lib.refresh_clusters(["people"])  # re-clustering never takes a "not a face" back
        assert all(alex["id"] not in g.face_ids for g in lib.unnamed_faces())
    _cli(data, "undo")  # one step: the face is back
    assert [g["size"] for g in json.loads(_cli(data, "faces", "--unnamed", "--json"))][-1] == 1
    _cli(data, "undo")  # one step: the name goes, the faces are unnamed again
    people = json.loads(_cli(data, "clusters", "people", "--json", "--no-refresh"))
    assert not [p for p in people if p["name"] == "Joe Biden"]
    with Library(data) as lib:
        assert sorted(len(g.faces) for g in lib.unnamed_faces())[-3:] == [2, 2, 2]


def test_refusals_say_why(base: Path, tmp_path: Path) -> None:
    data, _ = unclustered(base, tmp_path)
    with Library(data) as lib:
        groups = lib.unnamed_faces()
        with pytest.raises(LibraryError, match="no face with id 999"):
            lib.not_faces([999])
        with pytest.raises(LibraryError, match="a name is needed"):
            lib.name_faces(groups[0].face_ids, "  ")
        assert lib.history(1) == []


def test_draw_a_face_the_detector_missed(base: Path, tmp_path: Path) -> None:
    data, photos = unclustered(base, tmp_path)
    target = photos / "rose_leslie_img1.jpg"
    with Catalog(config.catalog_path(data)) as cat:  # as if the detector had missed it
        pid = cat.photo_id_for_path(target)
        (box,) = cat.query("SELECT x, y, w, h FROM faces WHERE photo_id = ?", (pid,))
        (old,) = cat.query("SELECT descriptor FROM faces WHERE photo_id = ?", (pid,))
        cat.execute("DELETE FROM faces WHERE photo_id = ?", (pid,))
    out = _cli(data, "draw-face", str(target), "--box", ",".join(f"{v:.4f}" for v in box),
               "Rose")
    assert "Rose" in out
    people = json.loads(_cli(data, "clusters", "people", "--json", "--no-refresh"))
    (rose,) = [p for p in people if p["name"] == "Rose"]
    assert rose["photos"] == [str(target)]
    xmp = next(p for p in (Path(f"{target}.xmp"), target.with_suffix(".xmp")) if p.exists())
    assert "Rose" in xmp.read_text()
    import numpy as np

    with Catalog(config.catalog_path(data)) as cat:
        ((desc, source),) = cat.query(
            "SELECT descriptor, source FROM faces WHERE photo_id = ?", (pid,))
        assert source == "confirmed"
        # described as the detector would have: the same person's descriptor
        d = np.linalg.norm(np.frombuffer(desc, np.float32) - np.frombuffer(old[0], np.float32))
        assert d < 0.3, d
    _cli(data, "undo")  # one step: the face and the person go
    with Catalog(config.catalog_path(data)) as cat:
        assert cat.scalar("SELECT COUNT(*) FROM faces WHERE photo_id = ?", (pid,)) == 0
    people = json.loads(_cli(data, "clusters", "people", "--json", "--no-refresh"))
    assert not [p for p in people if p["name"] == "Rose"]
