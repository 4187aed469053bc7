"""The window's browsing queries (core, no display): timeline order and sections, folder
tree with counts and missing folders, unreadable files and retry, one set of counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from photoorg.core.search import browse
from photoorg.core.store.catalog import Catalog


def _ts(y: int, m: int, d: int = 15) -> float:
    return dt.datetime(y, m, d, 12).timestamp()


@pytest.fixture
def cat(tmp_path: Path) -> Catalog:
    photos = tmp_path / "photos"
    for folder in ("2023/summer", "2023/winter", "scans"):
        (photos / folder).mkdir(parents=True)
    with Catalog(tmp_path / "catalog.db") as c:
        root = c.add_root(photos)
        rows = [
            # rel path, mtime, taken_at
            ("2023/summer/beach.jpg", _ts(2025, 1), _ts(2023, 7)),
            ("2023/summer/sea.jpg", _ts(2025, 1), _ts(2023, 7, 20)),
            ("2023/winter/snow.jpg", _ts(2025, 1), _ts(2023, 1)),
            ("scans/grandma.jpg", _ts(2026, 3), None),  # no date in the photo: file time
            ("scans/old.jpg", _ts(2024, 5), None),
            ("gone/lost.jpg", _ts(2024, 5), _ts(2022, 2)),  # its folder is no longer there
        ]
        for rel, mtime, taken in rows:
            pid = c.add_photo(root.id, rel, 100, mtime, None)
            c.record_info(pid, width=10, height=10, taken_at=taken, latitude=None,
                          longitude=None, camera=None)
        bad = c.add_photo(root.id, "scans/broken.jpg", 5, _ts(2026, 1), None)
        c.mark_skipped(bad, "decode-error", "cannot identify image file")
        yield c


def _names(t: browse.Timeline) -> list[str]:
    return [Path(r[2]).stem for r in t.rows]


def test_timeline_newest_capture_first_then_file_dates(cat: Catalog) -> None:
    t = browse.timeline(cat)
    assert _names(t) == ["sea", "beach", "snow", "lost", "grandma", "old"]
    assert [(s.start, s.title, s.year, s.dated) for s in t.sections] == [
        (0, "July 2023", 2023, True),
        (2, "January 2023", 2023, True),
        (3, "February 2022", 2022, True),
        (4, "March 2026 · file date", 2026, False),  # undated photos come last, said so
        (5, "May 2024 · file date", 2024, False),
    ]


def test_timeline_other_sorts_and_subsets(cat: Catalog) -> None:
    by_name = browse.timeline(cat, "name")
    assert _names(by_name) == ["beach", "grandma", "lost", "old", "sea", "snow"]
    assert by_name.sections == []
    added = browse.timeline(cat, "added")
    assert len(added.rows) == 6 and added.sections[0].title.startswith("Added ")
    root_id = cat.roots()[0].id
    assert _names(browse.timeline(cat, root_id=root_id, folder="2023")) == [
        "sea", "beach", "snow"]  # a subfolder and everything below it
    assert _names(browse.timeline(cat, root_id=root_id, folder="2023/winter")) == ["snow"]
    ids = [r[0] for r in browse.timeline(cat).rows]
    assert _names(browse.timeline_of(cat, [ids[5], ids[0], 999_999])) == ["sea", "old"]


def test_folder_tree_counts_and_missing(cat: Catalog) -> None:
    (top,) = browse.folder_tree(cat)
    assert (top.rel, top.total, top.skipped, top.online) == ("", 6, 1, True)
    children = {c.name: c for c in top.children}
    assert sorted(children) == ["2023", "gone", "scans"]
    assert children["2023"].total == 3
    assert [(c.name, c.total) for c in children["2023"].children] == [("summer", 2),
                                                                      ("winter", 1)]
    assert (children["scans"].total, children["scans"].skipped) == (2, 1)
    assert children["gone"].missing and not children["scans"].missing
    cat.set_root_online(top.root_id, False)
    (offline,) = browse.folder_tree(cat)
    assert not offline.online and not any(c.missing for c in offline.children)


def test_unreadable_listed_with_reason_and_retried(cat: Catalog) -> None:
    (bad,) = browse.unreadable(cat)
    assert bad.path.name == "broken.jpg" and bad.reason == "decode-error"
    assert "cannot identify" in bad.detail
    counts = browse.library_counts(cat)
    assert counts["photos"] == 6 and counts["unreadable"] == 1
    assert counts["photos"] == len(browse.timeline(cat).rows)  # page and sidebar agree
    assert browse.retry_unreadable(cat, [bad.id]) == 1
    assert browse.unreadable(cat) == []
    assert cat.scalar("SELECT status FROM photos WHERE id = ?", (bad.id,)) == "pending"
