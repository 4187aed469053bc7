"""Reviewing duplicates (core): the suggested keeper and why, "not duplicates" by content,
the trash move with the catalog following (a real send2trash into a temporary trash)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photoorg.core import duplicates, journal, missing
from photoorg.core.catalog import Catalog
from photoorg.core.duplicates import Member, looks_edited, suggest_keeper


def test_edited_names() -> None:
    for name in ("IMG_1 (1).jpg", "IMG_1-edited.jpg", "IMG_1_copy.jpg", "Copy of IMG_1.jpg",
                 "IMG_1-bearbeitet.jpg", "IMG_1 copy 2.jpg"):
        assert looks_edited(name), name
    for name in ("IMG_1.jpg", "DSC04012.JPG", "beach.jpg", "2023-07-01.jpg"):
        assert not looks_edited(name), name


def _m(pid: int, name: str, w: int, h: int, date: float) -> Member:
    return Member(pid, Path("/p") / name, 0.99, w, h, 1000, None, date, f"h{pid}")


def test_keeper_largest_then_original_then_oldest() -> None:
    keep, why = suggest_keeper([_m(1, "a.jpg", 100, 100, 1), _m(2, "b.jpg", 400, 300, 9)])
    assert keep.id == 2 and why == "the largest (400 × 300)"
    keep, why = suggest_keeper([_m(1, "a (1).jpg", 400, 300, 1), _m(2, "a.jpg", 400, 300, 9)])
    assert keep.id == 2 and why.startswith("the original")
    keep, why = suggest_keeper([_m(1, "x.jpg", 400, 300, 5), _m(2, "y.jpg", 400, 300, 3)])
    assert keep.id == 2 and why == "the oldest of the same size"


@pytest.fixture
def cat(tmp_path: Path) -> Catalog:
    with Catalog(tmp_path / "catalog.db") as c:
        root = c.add_root(tmp_path / "photos")
        (tmp_path / "photos").mkdir()
        for i, (name, w) in enumerate((("a.jpg", 200), ("a (1).jpg", 200), ("b.jpg", 50))):
            (tmp_path / "photos" / name).write_bytes(b"x" * (i + 1))
            pid = c.add_photo(root.id, name, i + 1, 1.0 + i, f"hash{i}")
            c.record_info(pid, width=w, height=w, taken_at=None, latitude=None,
                          longitude=None, camera=None)
        yield c


def test_not_duplicates_hides_the_group_until_a_new_lookalike(cat: Catalog) -> None:
    raw = [[(1, 1.0), (2, 0.99)]]
    (group,) = duplicates.groups_from(cat, raw)
    assert group.keep == 1 and group.others == [2]
    assert duplicates.dismiss(cat, [1, 2]) == 1
    assert duplicates.groups_from(cat, raw) == []
    journal.undo(cat)  # "Not duplicates" is a decision like the others
    assert len(duplicates.groups_from(cat, raw)) == 1
    assert duplicates.dismiss(cat, [1, 2]) == 1
    assert len(duplicates.groups_from(cat, raw, skip_dismissed=False)) == 1
    (back,) = duplicates.groups_from(cat, [[(1, 1.0), (2, 0.99), (3, 0.97)]])  # b.jpg joins
    assert len(back.members) == 3


def test_move_to_trash_real_send2trash(cat: Catalog, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import send2trash.plat_other as other

    monkeypatch.setattr(other, "XDG_DATA_HOME", os.fsencode(tmp_path / "xdg"))
    monkeypatch.setattr(other, "HOMETRASH_B", os.fsencode(tmp_path / "xdg" / "Trash"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # where undo looks
    moved = duplicates.move_to_trash(cat, [2])
    assert [p.name for p in moved] == ["a (1).jpg"]
    assert not (tmp_path / "photos" / "a (1).jpg").exists()
    assert (tmp_path / "xdg" / "Trash" / "files" / "a (1).jpg").exists()
    # the row stays, missing (hidden), so nothing the user made on it is lost
    assert missing.missing_ids(cat) == {2} and cat.photo(1) is not None
    (tmp_path / "photos" / "b.jpg").unlink()  # offline or gone: named, kept in the catalog
    with pytest.raises(duplicates.TrashError, match="b.jpg"):
        duplicates.move_to_trash(cat, [3])
    assert cat.photo(3) is not None
    # Undo takes the file out of the trash; the photo is back as it was
    (entry,) = journal.undo(cat)
    assert entry.summary == "Move 1 photo(s) to the trash"
    assert (tmp_path / "photos" / "a (1).jpg").read_bytes() == b"xx"
    assert not (tmp_path / "xdg" / "Trash" / "files" / "a (1).jpg").exists()
    assert missing.missing_ids(cat) == set()
