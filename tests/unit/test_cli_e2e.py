"""End to end through the real CLI: files on disk → catalog → search, with the bundled
tiny CLIP (trained by tools/train_tiny_model.py on coloured shapes)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from photoorg.core.media.synthetic import write_sample_library

TINY = "photoorg-tiny/bundled"


def run_cli(data: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "photoorg", "--data-dir", str(data), *args],
        capture_output=True, text=True, env=env, timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("e2e")
    photos, data = root / "photos", root / "data"
    write_sample_library(photos / "shapes", per_class=2, seed=77)
    # hostile neighbours: indexing must skip them with reasons and still exit 0
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "notes.jpg").write_text("not an image")
    good = (photos / "shapes" / "blue_square_0.jpg").read_bytes()
    (photos / "truncated.jpg").write_bytes(good[: len(good) // 3])
    before = _digest(photos)
    proc = run_cli(data, "index", str(photos), "--model", TINY, "--no-faces")
    assert "indexed" in proc.stdout
    assert _digest(photos) == before, "indexing modified an original"
    return photos, data


def test_status_json_contract(library: tuple[Path, Path]) -> None:
    _, data = library
    status = json.loads(run_cli(data, "status", "--json").stdout)
    assert status["indexed"] == 48
    assert status["skipped"] == 3
    assert status["pending"] == 0 and status["offline"] == 0
    assert status["model"] == TINY
    assert status["skipped_reasons"] == {
        "empty file": 1,
        "not a recognised image format": 1,
        "truncated or corrupt image": 1,
    }


def test_text_search_finds_the_right_shapes(library: tuple[Path, Path]) -> None:
    photos, data = library
    out = run_cli(data, "search", "a photo of a red circle", "-k", "4", "--json").stdout
    hits = json.loads(out)
    assert all(set(h) >= {"path", "score"} for h in hits) and len(hits) == 4
    assert all(Path(h["path"]).is_absolute() for h in hits)
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert sum("red_circle" in Path(h["path"]).name for h in hits[:2]) == 2


def test_similar_for_library_photo_and_outside_file(
    library: tuple[Path, Path], tmp_path: Path
) -> None:
    photos, data = library
    query = photos / "shapes" / "green_star_0.jpg"
    hits = json.loads(run_cli(data, "similar", str(query), "-k", "3", "--json").stdout)
    assert Path(hits[0]["path"]) == query.resolve()
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert Path(hits[1]["path"]).name.startswith("green_")  # the tiny model sees colour first

    # a resized, recompressed copy outside the library finds its original
    outside = tmp_path / "copy.jpg"
    with Image.open(query) as im:
        im.resize((180, 180)).save(outside, quality=70)
    hits = json.loads(run_cli(data, "similar", str(outside), "-k", "1", "--json").stdout)
    assert Path(hits[0]["path"]) == query.resolve()


def test_duplicates_json_each_photo_alike_to_its_keeper(library: tuple[Path, Path]) -> None:
    """The tiny model chains green shapes at 0.95 (circle ~ square ~ star ~ triangle): the
    groups must still hold only photos at least 0.95 alike to the photo kept."""
    import numpy as np

    from photoorg import config
    from photoorg.core.store.catalog import Catalog

    _, data = library
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        ids, mat = cat.load_vectors(cat.active_model().id)
        where = {pid: Path(root) / rel for pid, root, rel in cat.query(
            "SELECT p.id, r.path, p.rel_path FROM photos p JOIN roots r ON r.id = p.root_id")}
    mat = mat / np.linalg.norm(mat, axis=1, keepdims=True)
    vec = {str(where[pid]): v for pid, v in zip(ids.tolist(), mat, strict=True)}
    alike = {(a, b) for a in vec for b in vec if a != b and vec[a] @ vec[b] >= 0.95}
    assert any((a, c) not in alike and a != c  # the library really holds a chain
               for a, b in alike for b2, c in alike if b2 == b)

    groups = json.loads(run_cli(data, "duplicates", "--json").stdout)
    assert groups
    seen: list[str] = []
    for group in groups:
        keep, *others = group
        assert keep["keep"] is True and keep["why"] and keep["score"] == 1.0
        assert set(keep) == {"path", "score", "keep", "why"}
        for hit in others:
            assert set(hit) == {"path", "score", "keep"} and hit["keep"] is False
            cosine = float(vec[keep["path"]] @ vec[hit["path"]])
            assert cosine >= 0.95 and hit["score"] == pytest.approx(cosine, abs=1e-5)
        seen += [h["path"] for h in group]
    assert len(seen) == len(set(seen))
    text = run_cli(data, "duplicates").stdout
    assert text.count("keep: ") == len(groups) and f"group {len(groups)} (" in text


def test_clusters_json_suggests_no_scene_names_for_shapes(library: tuple[Path, Path]) -> None:
    # the tiny model knows colours and shapes, not "beach" or "wedding": no suggestions
    _, data = library
    scenes = json.loads(run_cli(data, "clusters", "scenes", "--json").stdout)
    assert scenes and all(set(c) == {"id", "kind", "name", "auto_name", "named_by", "photos",
                                     "size", "suggestion"} for c in scenes)
    assert [c["suggestion"] for c in scenes] == [None] * len(scenes)


def test_rename_keeps_vector_without_reembedding(
    library: tuple[Path, Path], tmp_path: Path
) -> None:
    photos, data = library
    moved_lib = tmp_path / "lib"
    shutil.copytree(photos / "shapes", moved_lib)
    data2 = tmp_path / "data"
    run_cli(data2, "index", str(moved_lib), "--model", TINY, "--no-faces")
    (moved_lib / "sub").mkdir()
    (moved_lib / "red_circle_0.jpg").rename(moved_lib / "sub" / "renamed.jpg")
    proc = run_cli(data2, "index", str(moved_lib), "--no-faces")
    assert "1 moved" in proc.stderr
    assert "indexed 0 photos" in proc.stdout
    hits = json.loads(run_cli(data2, "search", "a photo of a red circle", "-k", "4", "--json")
                      .stdout)
    assert str(moved_lib / "sub" / "renamed.jpg") in {h["path"] for h in hits}


def test_errors_are_clear(tmp_path: Path) -> None:
    proc = run_cli(tmp_path / "d", "search", "anything", check=False)
    assert proc.returncode == 1 and "run `photoorg index" in proc.stderr
    proc = run_cli(tmp_path / "d", "index", str(tmp_path / "missing"), check=False)
    assert proc.returncode == 1 and "not a folder" in proc.stderr
    offline = run_cli(
        tmp_path / "d2", "index", str(tmp_path), "--model", "ViT-B-32/laion2b_s34b_b79k",
        check=False,
    )
    assert offline.returncode == 1
    assert "ViT-B-32/laion2b_s34b_b79k" in offline.stderr
