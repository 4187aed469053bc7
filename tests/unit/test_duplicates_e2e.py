"""Duplicates through the real CLI on real photos (the sample portraits the app ships) and
their copies, with the bundled tiny model (which cannot tell the portraits apart by its
cosine): copies grouped with their original and marked by kind, different people never; an
older catalog (before pixel signatures) opens, and ``index`` backfills the signatures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import apsw
import pytest
import sqlite_vec
from PIL import Image, ImageEnhance, ImageOps

from photoorg import config
from photoorg.core.store import catalog as catalog_mod

TINY = "photoorg-tiny/bundled"
SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples" / "people"


def run_cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "photoorg", "--data-dir", str(data), *args],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def _photos(folder: Path) -> dict[str, str]:
    """The four portraits, and copies of obama_1: file name -> what it is."""
    folder.mkdir(parents=True)
    what = {}
    for path in sorted(SAMPLES.glob("*.jpg")):
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
        im.save(folder / path.name, quality=92)
        what[path.name] = "original"
    with Image.open(folder / "obama_1.jpg") as im:
        im = im.convert("RGB")
    w, h = im.size
    im.resize((w * 2 // 5, h * 2 // 5), Image.Resampling.LANCZOS).save(
        folder / "obama_1_small.jpg", quality=85)
    im.save(folder / "obama_1_recompressed.jpg", quality=40)
    exif = Image.Exif()
    exif[0x0112] = 6
    im.transpose(Image.Transpose.ROTATE_90).save(folder / "obama_1_rotated.jpg", quality=90,
                                                 exif=exif.tobytes())
    ImageEnhance.Brightness(im).enhance(1.3).save(folder / "obama_1_bright.jpg", quality=92)
    what.update({"obama_1_small.jpg": "exact", "obama_1_recompressed.jpg": "exact",
                 "obama_1_rotated.jpg": "exact", "obama_1_bright.jpg": "edited"})
    return what


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("dupes")
    what = _photos(root / "photos")
    run_cli(root / "data", "index", str(root / "photos"), "--model", TINY, "--no-faces",
            "--read-text", "off", "-q")
    return root / "photos", root / "data", what


def _check_groups(groups: list, what: dict[str, str]) -> None:
    (group,) = groups
    keep, *others = group
    assert Path(keep["path"]).name == "obama_1.jpg" and keep["keep"] is True
    assert set(keep) == {"path", "score", "keep", "why", "kind"} and keep["kind"] == "keeper"
    kinds = {Path(m["path"]).name: m["kind"] for m in others}
    assert kinds == {n: k for n, k in what.items() if k != "original" and n != "obama_1.jpg"}
    for m in others:
        assert set(m) == {"path", "score", "keep", "kind"} and m["keep"] is False
        assert isinstance(m["score"], float)


def test_copies_grouped_by_kind_and_different_people_never(
        indexed: tuple[Path, Path, dict[str, str]]) -> None:
    _, data, what = indexed
    _check_groups(json.loads(run_cli(data, "duplicates", "--json").stdout), what)
    text = run_cli(data, "duplicates").stdout
    assert "keep: " in text and "exact copy" in text
    assert "edited copy (brightness or colours changed)" in text


def test_an_older_catalog_opens_and_index_backfills_signatures(
        indexed: tuple[Path, Path, dict[str, str]], tmp_path: Path) -> None:
    import shutil

    photos, data, what = indexed
    old = tmp_path / "data"
    shutil.copytree(data, old)
    db = config.catalog_path(old)
    conn = apsw.Connection(str(db))
    conn.enable_load_extension(True)  # its triggers name sqlite-vec's tables
    conn.load_extension(sqlite_vec.loadable_path())
    # back to schema 1.9: no pixel signatures yet, nor the videos, stacks and faces' video
    # times that came after
    conn.execute("DROP TABLE pixel_signatures")
    conn.execute("DROP TABLE video_frames; DROP TABLE stack_members; DROP TABLE stacks;"
                 "DROP INDEX IF EXISTS video_frames_photo; ALTER TABLE photos DROP COLUMN duration;"
                 "ALTER TABLE faces DROP COLUMN t")
    conn.execute(f"PRAGMA user_version = {catalog_mod.encode_version(1, 9)}")
    conn.close()
    with catalog_mod.Catalog(db) as cat:  # migrates, in a transaction, after a backup
        assert cat.schema_version == (catalog_mod.SCHEMA_MAJOR, len(catalog_mod.MIGRATIONS))
        assert cat.scalar("SELECT COUNT(*) FROM pixel_signatures") == 0
    assert (db.parent / f"{db.name}.bak-1.9").exists()
    # nothing to decide on yet: the group waits for the signatures, never a CLIP-only group
    assert json.loads(run_cli(old, "duplicates", "--json").stdout) == []
    run_cli(old, "index", str(photos), "--no-faces", "--read-text", "off", "-q")
    with catalog_mod.Catalog(db, readonly=True) as cat:
        assert cat.scalar("SELECT COUNT(*) FROM pixel_signatures") == len(what)
        assert cat.scalar("SELECT COUNT(*) FROM photo_stages WHERE stage = 'pixels' "
                          "AND error IS NULL") == len(what)
    _check_groups(json.loads(run_cli(old, "duplicates", "--json").stdout), what)
