"""The timeline: month headers, undated photos last, the date scrubber, sort choices, and the
arithmetic grid's geometry (hit-testing, keyboard, rubber band)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from guitools import make_window, names, needs_tiny
from PySide6.QtCore import QItemSelectionModel, QPoint, QRect, Qt

from photoorg import config
from photoorg.core.store.catalog import Catalog

pytestmark = needs_tiny


def _date(data: Path, stems: dict[str, tuple[int, int]]) -> None:
    """Give some photos a capture date (as EXIF would)."""
    with Catalog(config.catalog_path(data)) as cat:
        for pid, rel in cat.query("SELECT id, rel_path FROM photos"):
            ym = stems.get(Path(rel).stem)
            if ym:
                stamp = dt.datetime(ym[0], ym[1], 10, 12).timestamp()
                cat.execute("UPDATE photos SET taken_at = ? WHERE id = ?", (stamp, pid))


def test_timeline_sections_scrubber_and_sort(qtbot, library) -> None:  # noqa: ANN001
    _date(library, {"red_circle_0": (2024, 3), "blue_square_1": (2024, 3),
                    "green_star_0": (2019, 8)})
    window = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: window.photos.rowCount() == 48, timeout=15_000)
        sections = window.photos.sections()
        titles = [t for _s, t in sections]
        assert titles[:2] == ["March 2024", "August 2019"], titles
        assert all(t.endswith("· file date") for t in titles[2:])  # undated: last, said so
        assert set(names(window, 2)) == {"red_circle_0", "blue_square_1"}
        assert names(window)[2] == "green_star_0"

        grid = window.grid
        # a header is not a photo; the cell under a row's rect is that row
        header_y = grid.section_tops()[1][0] - grid.verticalOffset() + 4
        grid.verticalScrollBar().setValue(0)
        assert not grid.indexAt(QPoint(40, 6)).isValid()
        for row in (0, 1, 2, 30, 47):
            grid.scrollTo(window.photos.index(row))
            rect = grid.visualRect(window.photos.index(row))
            assert grid.indexAt(rect.center()).row() == row
        grid.verticalScrollBar().setValue(0)
        assert not grid.indexAt(QPoint(40, header_y)).isValid()

        # keyboard: Down from the first photo crosses into the next month
        grid.setFocus()
        grid.setCurrentIndex(window.photos.index(0))
        qtbot.keyClick(grid, Qt.Key.Key_Down)
        assert grid.currentIndex().row() == 2  # March has one line of two: August starts
        qtbot.keyClick(grid, Qt.Key.Key_End)
        assert grid.currentIndex().row() == 47

        # rubber band over the first line selects exactly its photos
        grid.verticalScrollBar().setValue(0)
        first = grid.visualRect(window.photos.index(0))
        grid.setSelection(QRect(first.topLeft(), first.bottomRight() + QPoint(300, 0)),
                          QItemSelectionModel.SelectionFlag.ClearAndSelect)
        assert grid.selected_rows() == [0, 1]

        # the scrubber jumps: to the end of the timeline and back to the top
        assert window.scrubber.isVisibleTo(window)
        labels = [label for _f, label in window.scrubber.years()]
        assert labels[:2] == ["2024", "2019"]
        month = window.scrubber.jump_to(1.0)
        assert month.endswith("file date")
        assert grid.verticalScrollBar().value() == grid.verticalScrollBar().maximum() > 0
        assert window.scrubber.jump_to(0.0) == "March 2024"
        assert grid.verticalScrollBar().value() == 0

        # sort by name: no headers, alphabetical
        with qtbot.waitSignal(window.controller.photos_ready, timeout=10_000):
            window.sort_box.setCurrentIndex(window.sort_box.findData("name"))
        assert window.photos.sections() == []
        got = names(window)
        assert got == sorted(got, key=str.casefold)
        assert not window.scrubber.isVisibleTo(window)
    finally:
        window.shutdown()
    assert window.errors.shown == []
