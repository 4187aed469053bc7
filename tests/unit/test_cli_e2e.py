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


def test_duplicates_a_weak_model_chaining_shapes_proposes_no_trash(
        library: tuple[Path, Path]) -> None:
    """The tiny model puts different green shapes at 0.95 and more (circle ~ square ~ star):
    a cosine-only finder would offer them for the trash. The pixels say they are different
    photos, so there is no group at all (copies are tested in test_duplicates_e2e.py)."""
    import numpy as np

    from photoorg import config
    from photoorg.core.store.catalog import Catalog

    _, data = library
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        ids, mat = cat.load_vectors(cat.active_model().id)
    mat = mat / np.linalg.norm(mat, axis=1, keepdims=True)
    sims = mat @ mat.T
    assert (np.triu(sims, 1) >= 0.95).sum() >= 3  # the model proposes pairs
    assert json.loads(run_cli(data, "duplicates", "--json").stdout) == []
    proc = run_cli(data, "duplicates")
    assert proc.stdout == "" and "no duplicates" in proc.stderr


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


def test_a_closed_pipe_is_quiet(library: tuple[Path, Path], tmp_path: Path) -> None:
    """``photoorg search ... --json | head -c 300``: the reader goes away, photoorg stops
    without a traceback (``true`` closes the pipe before photoorg writes)."""
    _, data = library
    err = tmp_path / "err.txt"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for reader in ("true", "head -c 300 >/dev/null"):
        proc = subprocess.run(
            ["bash", "-c", "set -o pipefail; "
             f"'{sys.executable}' -m photoorg --data-dir '{data}' search 'red circle' "
             f"--json --all 2>'{err}' | {reader}"],
            env=env, timeout=300, capture_output=True, text=True)
        stderr = err.read_text()
        assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
        assert proc.returncode in (0, 141), (proc.returncode, stderr)


def test_ctrl_c_is_a_clean_message(library: tuple[Path, Path], tmp_path: Path) -> None:
    import signal
    import time

    photos, data = library
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "photoorg", "--data-dir", str(copy), "watch"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert proc.returncode in (0, 130), (proc.returncode, err)
