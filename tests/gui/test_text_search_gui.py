"""The window's search over what the library knows: results that end (with "Show weaker
matches"), a chip saying why each matched, completions, the "Photos with text" view and
the text read shown in the viewer."""

from __future__ import annotations

from pathlib import Path

from guitools import make_window, names, needs_tiny

from photoorg import config
from photoorg.core.groups import clusters
from photoorg.core.ingest import ocr
from photoorg.core.search import textindex
from photoorg.core.store.catalog import Catalog
from photoorg.ui.models.photos import PhotoRole

pytestmark = needs_tiny


def test_results_end_say_why_and_show_weaker(qtbot, window) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.controller.photos_ready, timeout=15_000):
        window.search_field.setText("a photo of a red circle")
    qtbot.waitUntil(lambda: window.photos.photos.scores is not None, timeout=5_000)
    first = names(window, 2)
    assert sorted(first) == ["red_circle_0", "red_circle_1"]  # their file names say so
    assert window.photos.index(0).data(PhotoRole.Matched) == ("file",)
    shown = window.photos.rowCount()
    assert 2 <= shown < 48 and window.photos.photos.total == shown
    assert window.grid_count.text() == f"{shown} results"
    assert window.weaker_button.isVisibleTo(window)
    with qtbot.waitSignal(window.controller.photos_ready, timeout=15_000):
        window.weaker_button.click()
    assert window.photos.rowCount() == 48
    assert names(window, 2) == first  # the same order, a longer list
    assert not window.weaker_button.isVisibleTo(window)
    assert window.photos.index(5).data(PhotoRole.Matched) == ()


def test_completions_text_view_and_viewer(qtbot, library: Path) -> None:  # noqa: ANN001
    with Catalog(config.catalog_path(library)) as cat:
        photos = {p.name: pid for pid, p in cat.paths_for_ids(
            [r[0] for r in cat.query("SELECT id FROM photos")]).items()}
        clusters.add_tag(cat, [photos["red_circle_0.jpg"]], "Keepers")
        textindex.store_text(cat, photos["blue_square_1.jpg"], "PLATFORM 9",
                             content_hash=None)
    window = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: "Keepers" in window.suggestions.stringList(), timeout=15_000)
        window.completer.setCompletionPrefix("keep")
        assert window.completer.currentCompletion() == "Keepers"
        index = window.sidebar.item_for("text")
        assert index is not None
        with qtbot.waitSignal(window.controller.photos_ready, timeout=10_000):
            window.sidebar.activate("text")
        assert names(window) == ["blue_square_1"]
        with qtbot.waitSignal(window.controller.details_ready, timeout=10_000):
            window.open_viewer(window.photos.index(0))
        qtbot.waitUntil(lambda: window.viewer.fields["text"].text() == "PLATFORM 9",
                        timeout=5_000)
        with qtbot.waitSignal(window.controller.photos_ready, timeout=15_000):
            window.search_field.setText("platform9")
        qtbot.waitUntil(lambda: window.photos.photos.scores is not None, timeout=5_000)
        assert names(window, 1) == ["blue_square_1"]
        assert window.photos.index(0).data(PhotoRole.Matched) == ("text",)

        from photoorg.ui.views.settings import SettingsResult  # the OCR stage's switch

        with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
            window.controller.apply_settings(
                SettingsResult(config.Settings(read_text=False),
                               window.controller.effective_model()), [])
        assert not config.Settings.load(library).read_text
        with Catalog(config.catalog_path(library)) as cat:
            assert cat.get_meta(ocr.META_READ_TEXT) == "0"
    finally:
        window.shutdown()
    assert window.errors.shown == []
