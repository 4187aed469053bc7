"""What the window's grid gets for stacks and videos (core browse queries): one row per
stack (its cover) with a count badge, every member on the stack's own page, a video's
length; the cover chosen through the door is one undo step, and stack decisions announce
a change."""

from __future__ import annotations

from pathlib import Path

from photoorg import config
from photoorg.core.app.library import Library
from photoorg.core.search import browse_queries as q
from photoorg.core.store.catalog import Catalog
from tests.unit.test_stacks import library  # noqa: F401 (the module's indexed library)


def _names(photos: q.PhotoList) -> list[str]:
    return [Path(p).name for p in photos.paths]


def test_all_photos_show_each_stack_once_with_its_count(
        library: tuple[Path, Path]) -> None:  # noqa: F811
    _photos, data = library
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        shown = q.all_photos(cat)
        names = _names(shown)
        # the RAW+JPEG pair, the Live Photo and the burst: one tile each, the cover
        assert "IMG_0001.JPG" in names and "IMG_0001.DNG" not in names
        assert "IMG_0003.JPG" in names and "IMG_0003.mov" not in names
        assert [n for n in names if n.startswith("BURST_")] == ["BURST_2.JPG"]
        # the traps are not stacks: both files of each are shown
        assert {"IMG_0002.JPG", "IMG_0002.DNG", "a.jpg", "b.jpg"} <= set(names)
        counts = {Path(shown.paths[shown.ids.index(pid)]).name: (b.count, b.stacked, b.cover)
                  for pid, b in shown.stacks.items()}
        assert counts == {"IMG_0001.JPG": (2, True, True), "IMG_0003.JPG": (2, True, True),
                          "BURST_2.JPG": (4, True, True)}
        assert shown.sections and shown.sections[0].start == 0
        # an album/tag/cluster page with a cover and its members: the cover only
        every = q.photos_by_ids(cat, list(range(1, 99)))
        ids = dict(zip(_names(every), every.ids, strict=True))
        picked = [ids["BURST_0.JPG"], ids["BURST_2.JPG"], ids["a.jpg"]]
        assert sorted(_names(q._by_date(cat, picked, "t"))) == ["BURST_2.JPG", "a.jpg"]
        # without its cover, a member is shown (it is what the page holds)
        assert _names(q._by_date(cat, [ids["BURST_0.JPG"]], "t")) == ["BURST_0.JPG"]


def test_a_stacks_page_lists_every_member_cover_first(
        library: tuple[Path, Path]) -> None:  # noqa: F811
    _photos, data = library
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        burst = next(s for s in q.core_stacks.stacks(cat) if s.kind == "burst")
        page = q.stack_photos(cat, burst.id)
        assert page.stack_id == burst.id and len(page) == 4
        assert _names(page)[0] == "BURST_2.JPG" and page.title == "Burst · 4"
        assert all(page.stacks[pid].stack_id == burst.id for pid in page.ids)
        live = next(s for s in q.core_stacks.stacks(cat) if s.kind == "live")
        movie = q.stack_photos(cat, live.id)
        assert _names(movie) == ["IMG_0003.JPG", "IMG_0003.mov"]
        mov_id = movie.ids[1]
        assert 1.9 <= movie.durations[mov_id] <= 2.1  # a 2 s clip: the tile's badge
        assert movie.ids[0] not in movie.durations
        assert q.stack_photos(cat, 999_999).ids == []


def test_cover_unstack_restack_through_the_door_announce_and_undo(
        library: tuple[Path, Path]) -> None:  # noqa: F811
    _photos, data = library
    with Library(data) as lib:
        heard: list[str] = []
        lib.subscribe(lambda change: heard.append(change.decision))
        burst = next(s for s in lib.stacks() if s.kind == "burst")
        first = burst.member_ids[-1]
        lib.set_stack_cover(burst.id, first)
        names = _names(q.all_photos(lib.reader()))
        assert Path(burst.paths[-1]).name in names and "BURST_2.JPG" not in names
        lib.unstack(burst.id)
        assert sum(n.startswith("BURST_") for n in _names(q.all_photos(lib.reader()))) == 4
        lib.restack(burst.id)
        assert heard == ["stacks.cover", "stacks.unstack", "stacks.restack"]
        lib.undo(2)  # restack, unstack: stacked, with the chosen cover
        lib.undo(1)  # the cover
        back = next(s for s in lib.stacks() if s.id == burst.id)
        assert back.state == "stacked" and back.cover_id == burst.cover_id
        assert "BURST_2.JPG" in _names(q.all_photos(lib.reader()))
