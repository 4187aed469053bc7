"""`photoorg export --json` and `photoorg import`: the user's decisions out of one library
and into a fresh one that indexed the same photos (elsewhere, under other names)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoorg import cli, config
from photoorg.core.groups import clusters as cl
from photoorg.core.ingest.scanner import scan_library
from photoorg.core.metadata.importer import set_photo_meta
from photoorg.core.store import journal
from photoorg.core.store.catalog import Catalog

BOXES = [(0.1, 0.1, 0.2, 0.2), (0.6, 0.2, 0.25, 0.25)]


def _photos(folder: Path) -> None:
    for i in range(6):
        rng = np.random.default_rng(i)
        (folder / ("sub" if i % 2 else "")).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(
            folder / ("sub" if i % 2 else "") / f"p{i}.jpg")


def _face_pass(cat: Catalog) -> None:
    """What the face pass finds: the same boxes on the same photos in any library."""
    for (pid,) in cat.query("SELECT id FROM photos ORDER BY content_hash"):
        cat.store_faces(pid, [(*box, 0.9, 1.0, np.full(4, pid, np.float32).tobytes())
                              for box in BOXES])


def _decide(cat: Catalog) -> None:
    ids = [pid for (pid,) in cat.query("SELECT id FROM photos ORDER BY content_hash")]
    faces = {pid: [f for (f,) in cat.query("SELECT id FROM faces WHERE photo_id = ? ORDER BY x",
                                          (pid,))] for pid in ids}
    alice = cl.create_cluster(cat, "people", "Alice")
    unnamed = cl.create_cluster(cat, "people")
    for pid in ids[:4]:
        cat.execute("UPDATE faces SET cluster_id = ? WHERE id = ?", (alice, faces[pid][0]))
    cat.execute("UPDATE faces SET cluster_id = ?, source = 'confirmed' WHERE id = ?",
                (unnamed, faces[ids[5]][1]))
    cl.remove_photo_from_cluster(cat, alice, ids[3])  # "Not this person"
    cl.confirm_photos(cat, alice, ids[:1])
    cl.add_tag(cat, ids[:3], "Favourites")
    cl.add_tag(cat, ids[2:4], "Trips|Alps")
    hidden = cl.create_cluster(cat, "people", "Stranger")
    cat.execute("UPDATE faces SET cluster_id = ? WHERE id = ?", (hidden, faces[ids[4]][1]))
    cl.hide_cluster(cat, hidden)
    home = cl.create_cluster(cat, "places", "Home")
    cl.add_photo_to_cluster(cat, home, ids[4])
    cl.create_album(cat, "Best", tags=["Favourites", "Trips"], match="any")
    set_photo_meta(cat, ids[1:3], "rating", 4)
    set_photo_meta(cat, ids[:1], "caption", "Le lac")


def _decisions(cat: Catalog) -> dict:
    """What the user sees, independent of row ids and paths: per content hash."""
    groups = {cid: (kind, name, bool(hidden)) for cid, kind, name, hidden in cat.query(
        "SELECT id, kind, name, hidden FROM clusters")}
    unnamed_members = {cid: tuple(sorted(h for (h,) in cat.query(
        "SELECT p.content_hash FROM faces f JOIN photos p ON p.id = f.photo_id "
        "WHERE f.cluster_id = ?", (cid,)))) for cid, g in groups.items() if g[1] is None}

    def key(cid: int | None) -> object:
        if cid is None:
            return None
        return groups[cid] if groups[cid][1] else ("unnamed", unnamed_members[cid])

    out: dict[str, dict] = {}
    for pid, chash in cat.query("SELECT id, content_hash FROM photos"):
        out[chash] = {
            "tags": sorted(cl.tags_for_photo(cat, pid)),
            "faces": sorted((round(x, 4), key(c), s, tuple(sorted(
                str(key(r)) for (r,) in cat.query(
                    "SELECT cluster_id FROM face_rejections WHERE face_id = ?", (fid,)))))
                for fid, x, c, s in cat.query(
                "SELECT id, x, cluster_id, source FROM faces WHERE photo_id = ?", (pid,))),
            "groups": sorted((key(c), s) for c, s in cat.query(
                "SELECT cluster_id, source FROM cluster_photos WHERE photo_id = ?", (pid,))),
            "meta": cat.query("SELECT field, value, source FROM photo_meta WHERE photo_id = ? "
                              "ORDER BY field", (pid,)),
        }
    out["albums"] = cat.query("SELECT name, query FROM albums")  # type: ignore[assignment]
    return out


def test_round_trip_into_a_fresh_library(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _photos(tmp_path / "photos")
    # the second library holds the same photos elsewhere, flattened and renamed
    (tmp_path / "moved").mkdir()
    for i, path in enumerate(sorted((tmp_path / "photos").rglob("*.jpg"))):
        shutil.copy(path, tmp_path / "moved" / f"IMG_{i:03d}.jpg")
    with Catalog(config.catalog_path(first)) as cat:
        cat.add_root(tmp_path / "photos")
        scan_library(cat)
        _face_pass(cat)
        _decide(cat)
        expected = _decisions(cat)
    out = tmp_path / "decisions.json"
    assert cli.main(["--data-dir", str(first), "export", "--json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert {p["path"] for p in doc["photos"]} >= {"p0.jpg", "sub/p1.jpg"}
    assert all(p["content_hash"] for p in doc["photos"])

    with Catalog(config.catalog_path(second)) as cat:
        cat.add_root(tmp_path / "moved")
        scan_library(cat)
        _face_pass(cat)
        assert _decisions(cat) != expected
    capsys.readouterr()
    assert cli.main(["--data-dir", str(second), "import", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["not_found"] == [] and report["faces_not_found"] == 0
    with Catalog(config.catalog_path(second)) as cat:
        assert _decisions(cat) == expected
        assert journal.history(cat)[0].summary.startswith("Import")
        journal.undo(cat)  # the whole import is one undo step
        assert cl.all_tags(cat) == []


def test_not_an_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"format": "something else"}', encoding="utf-8")
    assert cli.main(["--data-dir", str(tmp_path / "d"), "import", str(bad)]) == 1
    assert "not a photoorg decisions file" in capsys.readouterr().err
