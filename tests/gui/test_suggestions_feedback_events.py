"""The window's suggested names, "more like these / less like these", and events."""

from __future__ import annotations

from pathlib import Path

import pytest
from guitools import make_window, names, open_entry
from PySide6.QtCore import QPoint, Qt

from photoorg import config
from photoorg.core.groups import clusters as cl
from photoorg.core.groups import suggest as sg
from photoorg.core.media.synthetic import CLASSES
from photoorg.core.store.catalog import Catalog
from photoorg.ui.models.clusters import ClusterRole

SHAPES = sg.Vocabulary.of([f"{c} {s}" for c, s in CLASSES], name="shapes")


def test_card_shows_a_suggestion_and_one_click_names_it(
        qtbot, library: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from photoorg.core.models.embedder import TEST_MODEL, load_embedder

    # the built-in scene words mean nothing to the shapes model: the test brings its own
    monkeypatch.setitem(sg.BUILTIN, "scenes", SHAPES)
    with Catalog(config.catalog_path(library)) as cat:
        red = cl.create_cluster(cat, "scenes")
        for pid, rel in cat.query("SELECT id, rel_path FROM photos"):
            if Path(rel).name.startswith("red_circle_"):
                cl.add_photo_to_cluster(cat, red, pid)
        sg.prepare(cat, load_embedder(TEST_MODEL), vocabularies=[SHAPES])
    window = make_window(qtbot, library)
    try:
        open_entry(qtbot, window, "clusters", "scenes")
        model = window.clusters
        qtbot.waitUntil(lambda: model.row_of_id(red) is not None, timeout=15_000)
        row = model.row_of_id(red)
        index = model.index(row)
        assert index.data(ClusterRole.Suggestion)[0] == "red circle"
        assert model.cluster(row).name is None  # shown, not applied
        view = window.cluster_page.view
        rect = view.cards.suggestion_rect(view.visualRect(index), view.fontMetrics().height())
        with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
            qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                             pos=QPoint(rect.center().x(), rect.center().y()))
        qtbot.waitUntil(lambda: model.row_of_id(red) is not None
                        and model.cluster(model.row_of_id(red)).name == "red circle",
                        timeout=10_000)
        with Catalog(config.catalog_path(library), readonly=True) as cat:
            named = [c for c in cl.list_clusters(cat, "scenes") if c.name]
        assert [c.id for c in named] == [red]  # only the one the user clicked
    finally:
        window.shutdown()
    assert window.errors.shown == []


def test_more_like_these_less_like_these_and_save_as_album(
        qtbot, window, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QInputDialog

    qtbot.waitUntil(lambda: window.controller.model_ready, timeout=15_000)
    rows = [names(window).index(n) for n in ("red_circle_0", "red_square_0")]
    menu = window.grid_menu(rows)
    more = next(a for a in menu.actions() if a.text() == "More like these")
    with qtbot.waitSignal(window.controller.photos_ready, timeout=15_000):
        more.trigger()
    before = names(window)
    assert "red_square_1" in before
    # in the results: "Less like these" on the other red square
    menu = window.grid_menu([before.index("red_square_1")])
    labels = [a.text() for a in menu.actions()]
    assert {"More like these", "Less like these", "Save as album…"} <= set(labels)
    less = next(a for a in menu.actions() if a.text() == "Less like these")
    with qtbot.waitSignal(window.controller.photos_ready, timeout=15_000):
        less.trigger()
    after = names(window)
    assert "red_square_1" not in after
    assert window.controller.less_like and window.grid_title.text().startswith("More like 2")
    scores = window.photos.photos.scores
    assert scores == sorted(scores, reverse=True)
    # save: an album that is re-ranked when opened
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Reds", True))
    save = next(a for a in window.grid_menu([0]).actions() if a.text() == "Save as album…")
    with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
        save.trigger()
    qtbot.waitUntil(lambda: window.sidebar.item_for("album", "Reds") is not None,
                    timeout=10_000)
    window.sidebar.activate("album", "Reds")
    qtbot.waitUntil(lambda: window.photos.rowCount() > 0 and window.grid_title.text() == "Reds",
                    timeout=15_000)
    assert "red_square_1" not in names(window)
    assert {"red_circle_0", "red_square_0"} <= set(names(window))


def test_events_page_keeps_an_event_as_an_album(qtbot, library: Path) -> None:  # noqa: ANN001
    from PIL import Image

    photos = library.parent / "photos"
    for k in range(3):
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = f"2023:06:03 2{k}:15:00"
        Image.new("RGB", (64, 64), (40 * k, 120, 90)).save(photos / f"party_{k}.jpg", exif=exif)
    window = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: window.photos.rowCount() == 51, timeout=30_000)
        open_entry(qtbot, window, "events", None)
        assert window.stack.currentWidget() is window.events_page
        page = window.events_page
        qtbot.waitUntil(lambda: page.row_count() == 1, timeout=15_000)
        assert page.table.topLevelItem(0).text(0) == "Saturday 3 June 2023"
        with qtbot.waitSignal(window.controller.photos_ready, timeout=10_000):
            page.show_photos.click()
        assert sorted(names(window)) == ["party_0", "party_1", "party_2"]
        open_entry(qtbot, window, "events", None)
        qtbot.waitUntil(lambda: page.row_count() == 1, timeout=15_000)
        with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
            page.keep.click()
        qtbot.waitUntil(lambda: page.row_count() == 0, timeout=10_000)
        qtbot.waitUntil(lambda: window.sidebar.item_for("album", "Saturday 3 June 2023")
                        is not None, timeout=10_000)
    finally:
        window.shutdown()
    assert window.errors.shown == []
