"""Parity (issue 11): the same actions through the CLI and through the window's indexing
service and writer give the same clusters, names, tags and sidecars -- both faces run the
one library core."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from photoorg import config
from photoorg.core.groups import clusters as cl
from photoorg.core.media.synthetic import write_sample_library
from photoorg.core.metadata import sidecar
from photoorg.core.models.embedder import TEST_MODEL, weights_available
from photoorg.core.store.catalog import Catalog

REPO = Path(__file__).resolve().parents[2]
FACES_DEV = REPO / "tests" / "data" / "faces-dev"  # MIT, see its LICENSE file

pytestmark = [
    pytest.mark.skipif(not weights_available(TEST_MODEL), reason="tiny model missing"),
]


def _cli(data: Path, *args: str) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "photoorg", "--data-dir", str(data), *args],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _photos(folder: Path) -> None:
    write_sample_library(folder / "shapes", per_class=1, seed=6, size=96)
    for person in ("biden", "obama", "rose_leslie"):
        for src in sorted((FACES_DEV / person).glob("*.jp*g")):
            shutil.copy(src, folder / f"{person}_{src.name}")


def _state(data: Path, photos: Path) -> dict:
    """Clusters (as sets of file names), names, every photo's tags and sidecar keywords."""
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        out: dict = {"clusters": {}, "tags": {}, "sidecars": {}}
        for kind in cl.KINDS:
            infos = cl.list_clusters(cat, kind, include_hidden=True)
            paths = cat.paths_for_ids([p for i in infos for p in i.photo_ids])
            out["clusters"][kind] = sorted(
                (info.name or "", sorted(paths[p].name for p in info.photo_ids))
                for info in infos)
        for pid, path in cat.paths_for_ids(
                [p for (p,) in cat.query("SELECT id FROM photos")]).items():
            rel = path.relative_to(photos).as_posix()
            out["tags"][rel] = cl.tags_for_photo(cat, pid)
            out["sidecars"][rel] = sorted(sidecar.read_sidecar(path).hierarchical)
    return out


def _biggest_person(data: Path) -> int:
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        infos = cl.list_clusters(cat, "people")
        return max(infos, key=lambda i: (i.size, -i.id)).id


def test_cli_and_window_service_agree(tmp_path: Path) -> None:
    from photoorg.core.app import window_backend as engine
    from photoorg.core.app.service import LibraryService

    cli_photos, win_photos = tmp_path / "cli" / "photos", tmp_path / "win" / "photos"
    _photos(cli_photos)
    _photos(win_photos)
    cli_data, win_data = tmp_path / "cli" / "data", tmp_path / "win" / "data"
    for data in (cli_data, win_data):
        data.mkdir()
        config.Settings(write_sidecars=True).save(data)

    # the CLI: index, list, name the biggest person, tag a photo
    _cli(cli_data, "index", str(cli_photos), "--model", TEST_MODEL)
    people = json.loads(_cli(cli_data, "clusters", "people", "--json"))
    assert people, "no people found"
    _cli(cli_data, "name", str(_biggest_person(cli_data)), "Alice")
    _cli(cli_data, "tag", str(cli_photos / "shapes" / "red_circle_0.jpg"), "--add", "Holiday")

    # the window: its service indexes (the pipeline), its writer names and tags
    with Catalog(config.catalog_path(win_data)) as cat:
        cat.add_root(win_photos)
    events: list[dict] = []
    svc = LibraryService(win_data, events.append, model=TEST_MODEL, faces=True)
    thread = threading.Thread(target=svc.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 300
        while not any(e["event"] == "idle" for e in events):
            assert time.monotonic() < deadline and thread.is_alive(), events[-5:]
            time.sleep(0.1)
    finally:
        svc.command("quit")
        thread.join(60)
    state: dict = {}
    engine.open_writer(win_data)(state)
    try:
        cid = _biggest_person(win_data)
        engine.rename_cluster(state, cid, "Alice", sidecars=True)
        pid = state["cat"].photo_id_for_path(win_photos / "shapes" / "red_circle_0.jpg")
        engine.add_tag(state, [pid], "Holiday", sidecars=True)
    finally:
        engine.close_catalog(state)

    cli_state, win_state = _state(cli_data, cli_photos), _state(win_data, win_photos)
    assert cli_state["clusters"] == win_state["clusters"]
    assert cli_state["tags"] == win_state["tags"]
    assert cli_state["sidecars"] == win_state["sidecars"]
    assert any("People|Alice" in tags for tags in cli_state["sidecars"].values())
    assert "Holiday" in cli_state["tags"]["shapes/red_circle_0.jpg"]
