"""Catalog backups: SQLite online backup while the catalog is in use, daily rotation, a
damaged catalog detected, restore from the CLI."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from photoorg import cli, config
from photoorg.core.groups import clusters
from photoorg.core.store import backup
from photoorg.core.store.catalog import Catalog


def _library(data: Path) -> Catalog:
    cat = Catalog(config.catalog_path(data))
    root = cat.add_root(data.parent / "photos")
    ids = [cat.add_photo(root.id, f"p{i}.jpg", 1, 0.0, f"h{i}") for i in range(20)]
    clusters.add_tag(cat, ids[:5], "Favourites")
    return cat


def _damage(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.write(b"this is no longer an SQLite file" * 4)


def test_online_backup_while_open_then_restore_after_damage(data_dir: Path) -> None:
    cat = _library(data_dir)  # open, with changes in its WAL
    made = backup.make_backup(config.catalog_path(data_dir), data_dir)
    assert backup.list_backups(data_dir) == [made]
    with Catalog(made.path, readonly=True) as copy:
        assert dict(clusters.all_tags(copy)) == {"Favourites": 5}
    clusters.add_tag(cat, [1], "After the backup")
    cat.close()
    catalog = config.catalog_path(data_dir)
    assert backup.check_catalog(catalog) is None
    _damage(catalog)
    assert backup.check_catalog(catalog) is not None
    kept = backup.restore(catalog, made.path)
    assert kept is not None and kept.exists()  # the damaged file is kept, not deleted
    with Catalog(catalog) as back:
        assert dict(clusters.all_tags(back)) == {"Favourites": 5}
        assert back.scalar("SELECT COUNT(*) FROM photos") == 20


def test_daily_and_keep_seven(data_dir: Path) -> None:
    _library(data_dir).close()
    catalog = config.catalog_path(data_dir)
    assert backup.maybe_backup(catalog, data_dir) is not None
    assert backup.maybe_backup(catalog, data_dir) is None  # one a day
    folder = backup.backup_dir(data_dir)
    for day in range(1, 10):  # older ones, as if made on earlier days
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() - day * 86400))
        (folder / f"catalog-{stamp}.sqlite").write_bytes(catalog.read_bytes())
    assert backup.maybe_backup(catalog, data_dir) is None
    assert backup.prune(data_dir) == 3
    assert len(backup.list_backups(data_dir)) == 7
    # a damaged catalog is never backed up over the good ones
    for b in backup.list_backups(data_dir):
        os.utime(b.path)
    _damage(catalog)
    assert backup.maybe_backup(catalog, data_dir, every_s=0) is None


def test_cli_backup_list_and_restore(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _library(data_dir).close()
    assert cli.main(["backup", "now"]) == 0
    capsys.readouterr()
    assert cli.main(["backup", "list"]) == 0
    assert capsys.readouterr().out.count("catalog-") == 1
    _damage(config.catalog_path(data_dir))
    assert cli.main(["status"]) == 1
    assert "photoorg backup restore" in capsys.readouterr().err
    assert cli.main(["backup", "restore", "--yes"]) == 0
    capsys.readouterr()
    assert cli.main(["status", "--json"]) == 0
    assert '"indexed"' in capsys.readouterr().out
    with Catalog(config.catalog_path(data_dir)) as cat:
        assert dict(clusters.all_tags(cat)) == {"Favourites": 5}
