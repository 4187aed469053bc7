"""A saved-search album in the window's sidebar shows its photos (issue 11): the window has
no model, so the indexing service's library resolves it, as ``photoorg album show`` does."""

from __future__ import annotations

from guitools import make_window, names, needs_tiny

from photoorg.core.app.library import Library

pytestmark = needs_tiny


def test_saved_search_album_opens_in_the_window(qtbot, library) -> None:  # noqa: ANN001
    with Library(library) as lib:
        lib.create_album("Blue", query="a photo of a blue circle")
        expected = lib.album_photos("Blue")
    window = make_window(qtbot, library)
    try:
        sidebar = window.sidebar
        qtbot.waitUntil(lambda: sidebar.item_for("album", "Blue") is not None, timeout=20_000)
        sidebar.activate("album", "Blue")
        # the service's library answers, best match first, as `photoorg album show` does
        qtbot.waitUntil(lambda: list(window.photos.photos.ids) == expected, timeout=60_000)
        assert window.grid_title.text() == "Blue"
        assert names(window)[0].startswith("blue_circle")
    finally:
        window.close()
