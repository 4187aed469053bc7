"""One door (issue 22): every user decision, once through the CLI (as a process) and once
through the window's writer worker (``core.app.window_backend`` on its Library), on two
copies of one library. After each decision the two catalogs hold the same rows, the journal
grew by exactly one undo step on both sides (with the same summary), and the XMP sidecars
on disk say the same."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from photoorg import config
from photoorg.core.app import window_backend as engine
from photoorg.core.app.library import Change, Library
from photoorg.core.groups import clusters as cl
from photoorg.core.media.synthetic import write_sample_library
from photoorg.core.models.embedder import TEST_MODEL, weights_available
from photoorg.core.store.catalog import Catalog

REPO = Path(__file__).resolve().parents[2]
FACES_DEV = REPO / "tests" / "data" / "faces-dev"  # MIT, see its LICENSE file

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not weights_available(TEST_MODEL), reason="tiny model missing"),
]

# rows compared: every table a decision can touch, without times and absolute paths
TABLES = {
    "albums": "id, name, query",
    "clusters": "id, kind, name, auto_name, hidden",
    "cluster_photos": "cluster_id, photo_id, source",
    "faces": "id, photo_id, cluster_id, source",
    "face_rejections": "face_id, cluster_id",
    "tags": "id, name",
    "photo_tags": "photo_id, tag_id, source",
    "photo_meta": "photo_id, field, value, source",
    "photo_imports": "photo_id, tags",
    "not_duplicates": "hash_a, hash_b",
    "events": "id, start, \"end\", title, state, album",
    "photo_stages": "photo_id, stage, version",
    "photos": "id, rel_path, status, missing_since IS NULL",
}


def _cli(data: Path, *args: str) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "photoorg", "--data-dir", str(data), *args],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One indexed library with people and shapes, sidecar writing on."""
    root = tmp_path_factory.mktemp("door")
    photos, data = root / "photos", root / "data"
    write_sample_library(photos / "shapes", per_class=1, seed=6, size=96)
    for person in ("biden", "obama", "rose_leslie"):
        for src in sorted((FACES_DEV / person).glob("*.jp*g")):
            shutil.copy(src, photos / f"{person}_{src.name}")
    data.mkdir()
    config.Settings(write_sidecars=True).save(data)
    _cli(data, "index", str(photos), "--model", TEST_MODEL)
    return root


def _copy(base: Path, to: Path) -> tuple[Path, Path]:
    shutil.copytree(base, to)
    with Library(to / "data") as lib:
        lib.relocate_folder(base / "photos", to / "photos")
        lib.sync_sidecars()  # both copies start with sidecars that name their own paths
    return to / "data", to / "photos"


def _catalog(data: Path) -> dict[str, list[tuple]]:
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        return {t: sorted(cat.query(f"SELECT {cols} FROM {t}"), key=repr)
                for t, cols in TABLES.items()}


def _journal(data: Path) -> list[tuple]:
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        return cat.query("SELECT batch, action, summary, undone_at IS NULL FROM journal "
                         "ORDER BY id")


def _sidecars(photos: Path) -> dict[str, str]:
    return {p.relative_to(photos).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(photos.rglob("*.xmp"))}


def _steps(journal: list[tuple]) -> list[int]:
    return sorted({row[0] for row in journal})


def test_every_decision_alike_through_the_cli_and_the_window(base: Path, tmp_path: Path
                                                              ) -> None:
    cli_data, cli_photos = _copy(base, tmp_path / "cli")
    win_data, win_photos = _copy(base, tmp_path / "win")
    assert _catalog(cli_data) == _catalog(win_data)
    assert _sidecars(cli_photos) == _sidecars(win_photos) != {}

    state: dict[str, Any] = {}
    engine.open_writer(win_data)(state)
    heard: list[Change] = []
    state["lib"].subscribe(heard.append)
    lib: Library = state["lib"]

    with Catalog(config.catalog_path(cli_data), readonly=True) as cat:
        people = sorted(cl.list_clusters(cat, "people"), key=lambda i: (-i.size, i.id))
        assert len(people) >= 2, people
        big, other = people[0].id, people[1].id
        paths = cat.paths_for_ids([*people[0].photo_ids, *people[1].photo_ids])
        rel = [paths[p].relative_to(cli_photos).as_posix() for p in sorted(people[0].photo_ids)]
        rel_other = [paths[p].relative_to(cli_photos).as_posix()
                     for p in sorted(people[1].photo_ids)]
    shape, shape2 = "shapes/red_circle_0.jpg", "shapes/blue_square_0.jpg"

    def ids(*rels: str) -> list[int]:
        return lib.photo_ids([win_photos / r for r in rels])

    # (what, the CLI's arguments, the window's call)
    decisions: list[tuple[str, list[str], Any]] = [
        ("name", ["name", str(big), "Alice"],
         lambda: engine.rename_cluster(state, big, "Alice", sidecars=True)),
        ("tag", ["tag", str(cli_photos / shape), "--add", "Holiday|Beach"],
         lambda: engine.add_tag(state, ids(shape), "Holiday|Beach", sidecars=True)),
        ("album", ["album", "add", "Trip", str(cli_photos / shape), str(cli_photos / shape2)],
         lambda: engine.add_to_album(state, "Trip", ids(shape, shape2), sidecars=True)),
        ("merge", ["merge", str(big), str(other)],
         lambda: engine.merge_clusters(state, [other], big, sidecars=True)),
        # two photos at once (one from each merged person): still one decision, one step
        ("reject", ["reject", str(big), str(cli_photos / rel[0]), str(cli_photos / rel_other[0])],
         lambda: engine.reject_photos(state, big, ids(rel[0], rel_other[0]), sidecars=True)),
        ("confirm", ["confirm", str(big), str(cli_photos / rel[1])],
         lambda: engine.confirm_photos(state, big, ids(rel[1]))),
        ("hide", ["hide", str(big)], lambda: engine.hide_cluster(state, big, True)),
        ("not duplicates", ["not-duplicates", str(cli_photos / shape),
                            str(cli_photos / shape2)],
         lambda: engine.dismiss_duplicates(state, ids(shape, shape2))),
        ("undo", ["undo"], lambda: engine.undo(state, 1, sidecars=True)),
        ("undo two", ["undo", "2"], lambda: engine.undo(state, 2, sidecars=True)),
    ]
    try:
        for what, cli_args, window_call in decisions:
            cli_before = _journal(cli_data)
            assert cli_before == _journal(win_data), what
            heard.clear()
            _cli(cli_data, *cli_args)
            window_call()
            assert _catalog(cli_data) == _catalog(win_data), what
            assert _sidecars(cli_photos) == _sidecars(win_photos), what
            cli_after, win_after = _journal(cli_data), _journal(win_data)
            assert cli_after == win_after, what
            if what.startswith("undo"):  # undo marks steps undone, adds none
                assert _steps(cli_after) == _steps(cli_before), what
                assert sum(1 for r in cli_after if not r[3]) > sum(
                    1 for r in cli_before if not r[3]), what
            else:  # one decision, one undo step
                assert len(_steps(cli_after)) == len(_steps(cli_before)) + 1, what
            assert len(heard) == 1, (what, heard)  # announced once
            if what == "reject":  # the faces taken out became one new person together
                with Catalog(config.catalog_path(cli_data), readonly=True) as cat:
                    taken = {c for (c,) in cat.query(
                        "SELECT DISTINCT f.cluster_id FROM faces f JOIN photos p ON "
                        "p.id = f.photo_id WHERE p.rel_path IN (?, ?)", (rel[0], rel_other[0]))}
                assert len(taken) == 1 and big not in taken, taken
    finally:
        engine.close_catalog(state)

    sidecars = _sidecars(cli_photos)
    assert any("People|Alice" in text for text in sidecars.values())
    assert any("Holiday" in text and "Trip" in text for text in sidecars.values())
    history = json.loads(_cli(cli_data, "undo", "--list", "--json"))
    assert [e["undone"] for e in history][:4] == [True, True, True, False]
