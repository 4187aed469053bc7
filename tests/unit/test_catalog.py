from __future__ import annotations

from pathlib import Path

import apsw
import numpy as np
import pytest

from photoorg.core.store import catalog as catalog_mod
from photoorg.core.store.catalog import Catalog, CatalogError, encode_version


def test_new_catalog_has_schema_wal_and_sqlite_vec(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as cat:
        assert cat.schema_version == (catalog_mod.SCHEMA_MAJOR, len(catalog_mod.MIGRATIONS))
        assert cat.scalar("PRAGMA journal_mode") == "wal"
        assert cat.scalar("SELECT vec_version()").startswith("v")
        assert cat.integrity_check() == "ok"


def test_refuses_newer_major_version(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    Catalog(path).close()
    conn = apsw.Connection(str(path))
    conn.execute(f"PRAGMA user_version = {encode_version(catalog_mod.SCHEMA_MAJOR + 1, 1)}")
    conn.close()
    with pytest.raises(CatalogError, match="newer photoorg"):
        Catalog(path)


def test_newer_minor_version_opens(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    Catalog(path).close()
    conn = apsw.Connection(str(path))
    conn.execute(f"PRAGMA user_version = {encode_version(catalog_mod.SCHEMA_MAJOR, 99)}")
    conn.close()
    with Catalog(path) as cat:
        assert cat.schema_version == (catalog_mod.SCHEMA_MAJOR, 99)


def test_migration_backs_up_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.sqlite"
    with Catalog(path) as cat:
        cat.add_root(tmp_path)
    extra = "CREATE TABLE extra_test(x INTEGER);"
    monkeypatch.setattr(catalog_mod, "MIGRATIONS", [*catalog_mod.MIGRATIONS, extra])
    with Catalog(path) as cat:
        assert cat.schema_version == (catalog_mod.SCHEMA_MAJOR, len(catalog_mod.MIGRATIONS))
        assert cat.scalar("SELECT COUNT(*) FROM extra_test") == 0
        assert len(cat.roots()) == 1
    backups = list(tmp_path.glob("c.sqlite.bak-*"))
    assert len(backups) == 1
    old = apsw.Connection(str(backups[0]))
    assert old.execute("SELECT COUNT(*) FROM roots").get == 1
    assert old.execute("SELECT COUNT(*) FROM sqlite_master WHERE name='extra_test'").get == 0
    old.close()


def _library(tmp_path: Path) -> tuple[Catalog, int, int]:
    cat = Catalog(tmp_path / "c.sqlite")
    root = cat.add_root(tmp_path)
    model = cat.set_target_model("test/random", 4)
    return cat, root.id, model.id


def test_vectors_roundtrip_and_log(tmp_path: Path) -> None:
    cat, root_id, model_id = _library(tmp_path)
    a = cat.add_photo(root_id, "a.jpg", 1, 1.0, "h1")
    b = cat.add_photo(root_id, "sub/b.jpg", 1, 1.0, "h2")
    with cat.transaction():
        cat.store_vector(a, model_id, np.array([1, 0, 0, 0]))
        cat.store_vector(b, model_id, np.array([0, 1, 0, 0]))
    ids, mat = cat.load_vectors(model_id)
    assert ids.tolist() == [a, b]
    assert mat.dtype == np.float32 and mat.shape == (2, 4)
    seq = cat.vec_log_seq()
    cat.delete_photos([a])
    assert cat.load_vectors(model_id)[0].tolist() == [b]
    assert cat.vec_changes_since(model_id, seq) == [(seq + 1, a, "del")]
    assert cat.status_counts()["indexed"] == 1
    cat.close()


def test_model_switch_keeps_old_vectors_until_complete(tmp_path: Path) -> None:
    cat, root_id, old = _library(tmp_path)
    ids = [cat.add_photo(root_id, f"{i}.jpg", 1, 1.0, f"h{i}") for i in range(3)]
    with cat.transaction():
        for pid in ids:
            cat.store_vector(pid, old, np.ones(4))
    new = cat.set_target_model("other/random", 8).id
    assert cat.active_model().id == old
    assert cat.status_counts()["pending"] == 3
    with cat.transaction():
        cat.store_vector(ids[0], new, np.ones(8))
    assert not cat.maybe_switch_model()
    assert len(cat.load_vectors(old)[0]) == 3  # old vectors keep serving
    with cat.transaction():
        for pid in ids[1:]:
            cat.store_vector(pid, new, np.ones(8))
    assert cat.maybe_switch_model()
    assert cat.active_model().id == new
    assert len(cat.load_vectors(new)[0]) == 3
    cat.close()


def test_offline_root_counts_photos_as_offline(tmp_path: Path) -> None:
    cat, root_id, model_id = _library(tmp_path)
    cat.add_photo(root_id, "a.jpg", 1, 1.0, "h1")
    cat.set_root_online(root_id, False)
    counts = cat.status_counts()
    assert counts["offline"] == 1 and counts["pending"] == 0
    assert cat.pending_embedding(model_id) == []
    cat.close()


def test_skipped_reasons_grouped(tmp_path: Path) -> None:
    cat, root_id, _ = _library(tmp_path)
    for i in range(3):
        pid = cat.add_photo(root_id, f"{i}.jpg", 1, 1.0, f"h{i}")
        cat.mark_skipped(pid, "empty file" if i else "image too large", f"detail {i}")
    counts = cat.status_counts()
    assert counts["skipped"] == 3
    assert counts["skipped_reasons"] == {"empty file": 2, "image too large": 1}
    cat.close()


def test_read_then_write_transaction_survives_a_concurrent_writer(tmp_path: Path) -> None:
    """The GUI's writer and the indexer service are two connections: a transaction that
    reads, then writes while the other one commits, must wait for it, not fail with
    "database is locked" (a stale WAL snapshot cannot be upgraded)."""
    import threading
    import time

    path = tmp_path / "catalog.sqlite"
    first, second = Catalog(path), Catalog(path)
    errors: list[BaseException] = []
    read_done = threading.Event()

    def other_writer() -> None:
        read_done.wait(5)
        try:
            second.add_exclusion("from-the-service")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=other_writer)
    thread.start()
    with first.transaction():
        first.exclusions()  # the read that pins a snapshot
        read_done.set()
        time.sleep(0.3)  # the other connection tries to commit meanwhile
        first.add_exclusion("from-the-window")
    thread.join(15)
    assert errors == []
    assert sorted(first.exclusions()) == ["from-the-service", "from-the-window"]
    first.close()
    second.close()
