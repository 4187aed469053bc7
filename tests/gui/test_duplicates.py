"""The Duplicates page on real copies the window indexed itself: the suggested keeper and why,
exact copies ticked and an edited copy not, the confirmation showing every photo it names as
a picture, "Keep suggested, move the ticked to the trash" through the system's real trash (on
Linux moved into the test's folder), the catalog following, Undo bringing the files back, and
"Not duplicates" surviving a restart."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from guitools import make_window, needs_tiny, open_entry
from PIL import Image, ImageEnhance
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from photoorg import config
from photoorg.core.store.catalog import Catalog

pytestmark = needs_tiny


def _copies(data: Path) -> Path:
    """Copies of green_star_0: a bigger export and a recompressed one (exact copies), and a
    brightened one (an edited copy)."""
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        (root,) = cat.roots()
    original = root.path / "green_star_0.jpg"
    with Image.open(original) as im:
        im.resize((im.width * 2, im.height * 2)).save(root.path / "green_star_0_big.jpg",
                                                      quality=95)
        im.save(root.path / "green_star_0 (1).jpg", quality=80)
        ImageEnhance.Brightness(im.convert("RGB")).enhance(1.3).save(
            root.path / "green_star_0_bright.jpg", quality=90)
    for name in ("green_star_0 (1).jpg", "green_star_0_bright.jpg"):
        os.utime(root.path / name, (2e9, 2e9))  # newer than the original
    return root.path


def _cosines(data: Path) -> dict[tuple[int, int], float]:
    """Every pair's cosine, from the vectors the window stored."""
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        ids, mat = cat.load_vectors(cat.active_model().id)
    mat = mat / np.linalg.norm(mat, axis=1, keepdims=True)
    sims = mat @ mat.T
    ids = ids.tolist()
    return {(a, b): float(sims[i, j]) for i, a in enumerate(ids) for j, b in enumerate(ids)}


N = 51  # the 48 photos of the template library and the copies made here


def _show_duplicates_page(qtbot, window):  # noqa: ANN001, ANN202
    """Click Duplicates once the sidebar has its entries (they come with the first overview,
    which a loaded machine may deliver after the grid's rows)."""
    open_entry(qtbot, window, "duplicates")
    page = window.duplicates_page
    assert window.stack.currentWidget() is page
    return page


def _open_duplicates(qtbot, window):  # noqa: ANN001, ANN202
    page = _show_duplicates_page(qtbot, window)

    def card():  # noqa: ANN202
        return next((c for c in page.cards if any(m.path.name == "green_star_0_big.jpg"
                                                  for m in c.group.members)), None)

    qtbot.waitUntil(lambda: card() is not None, timeout=20_000)
    return page, card()


def test_confirmation_shows_every_photo_then_trash_and_undo(
        qtbot, library, system_trash) -> None:  # noqa: ANN001
    photos = _copies(library)
    window = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: window.photos.rowCount() == N
                        and not window.controller.service.busy, timeout=60_000)
        page, card = _open_duplicates(qtbot, window)
        group = card.group
        names = {m.path.name: m for m in group.members}
        assert set(names) == {"green_star_0.jpg", "green_star_0_big.jpg",
                              "green_star_0 (1).jpg", "green_star_0_bright.jpg"}
        assert group.member(group.keep).path.name == "green_star_0_big.jpg"
        assert group.why.startswith("the largest")
        assert names["green_star_0_bright.jpg"].kind == "edited"
        assert "keep" in card.header.text() and "2 exact copies" in card.header.text()
        # exact copies ticked, the edited copy shown but not ticked
        ticked = {group.member(pid).path.name for pid in card.ticked()}
        assert ticked == {"green_star_0.jpg", "green_star_0 (1).jpg"}
        assert not card.ticks[names["green_star_0_bright.jpg"].id].isChecked()

        card.trash_button.setFocus()
        QTest.keyClick(card.trash_button, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: page.confirmation is not None
                        and page.confirmation.isVisible(), timeout=5_000)
        dialog = page.confirmation
        goners = [group.member(pid).path for pid in card.ticked()]
        kept = group.member(group.keep).path
        # a thumbnail for every file the confirmation names: the one kept and each to go
        qtbot.waitUntil(lambda: all(dialog.shown_files().values()), timeout=20_000)
        assert set(dialog.shown_files()) == {str(p) for p in [kept, *goners]}
        assert all(p.exists() for p in goners)  # nothing moved before the user confirms
        with qtbot.waitSignal(window.controller.writes_done, timeout=20_000):
            QTest.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
        assert all(not p.exists() for p in goners)
        if system_trash is not None:  # freedesktop: in the trash, restorable from it
            trashed = sorted(p.name for p in (system_trash / "files").iterdir())
            assert trashed == sorted(p.name for p in goners)
            assert len(list((system_trash / "info").iterdir())) == len(goners)
        assert (photos / "green_star_0_big.jpg").exists()
        assert (photos / "green_star_0_bright.jpg").exists()  # edited: never trashed unasked
        with Catalog(config.catalog_path(library), readonly=True) as cat:
            left = {Path(r).name for (r,) in cat.query(  # trashed rows are kept missing
                "SELECT rel_path FROM photos WHERE missing_since IS NULL")}
        assert not {p.name for p in goners} & left and "green_star_0_big.jpg" in left
        qtbot.waitUntil(lambda: window.photos.rowCount() == N - len(goners), timeout=10_000)
        # Undo brings the files back out of the trash
        with qtbot.waitSignal(window.controller.writes_done, timeout=20_000):
            window.controller.undo()
        qtbot.waitUntil(lambda: all(p.exists() for p in goners), timeout=10_000)
        qtbot.waitUntil(lambda: window.photos.rowCount() == N, timeout=10_000)
    finally:
        window.shutdown()
    assert window.errors.shown == []


def test_not_duplicates_is_remembered_across_a_restart(qtbot, library) -> None:  # noqa: ANN001
    _copies(library)
    window = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: window.photos.rowCount() == N
                        and not window.controller.service.busy, timeout=60_000)
        page, card = _open_duplicates(qtbot, window)
        members = {m.id for m in card.group.members}
        with qtbot.waitSignal(window.controller.writes_done, timeout=10_000):
            card.dismiss_button.click()
        qtbot.waitUntil(lambda: not any({m.id for m in c.group.members} == members
                                        for c in page.cards), timeout=20_000)
    finally:
        window.shutdown()
    again = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: again.photos.rowCount() == N, timeout=20_000)
        page = _show_duplicates_page(qtbot, again)
        qtbot.waitUntil(lambda: "group" in page.summary.text()
                        or "No copies" in page.summary.text(), timeout=20_000)
        assert not any({m.id for m in c.group.members} == members for c in page.cards)
        # looser: the tiny model puts different green shapes at 0.90 (circle ~ square ~
        # triangle ...) and proposes them; the pixels decide, so no card holds a photo that
        # is not a copy of the one it keeps
        sims = _cosines(library)
        alike = {pair for pair, s in sims.items() if pair[0] != pair[1] and s >= 0.9}
        assert len(alike) > 6
        with qtbot.waitSignal(again.controller.duplicates_ready, timeout=20_000,
                              check_params_cb=lambda threshold, _groups: threshold == 0.90):
            page.threshold.setFocus()
            QTest.keyClick(page.threshold, Qt.Key.Key_Down, delay=0)  # 0.95 -> 0.94
            for _ in range(4):
                QTest.keyClick(page.threshold, Qt.Key.Key_Down)
            assert page.value() == 0.90
        assert "No copies" in page.summary.text()
        assert page.cards == []  # the copies were dismissed; the shapes are no copies
    finally:
        again.shutdown()
    assert again.errors.shown == []
