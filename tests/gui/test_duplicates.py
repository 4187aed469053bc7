"""The Duplicates page on real look-alikes the window indexed itself: the suggested keeper and
why, "Keep suggested, move the others to the trash" through the system's real trash (on Linux
moved into the test's folder), the catalog following, and "Not duplicates" surviving a restart."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from guitools import make_window, needs_tiny, open_entry
from PIL import Image
from PySide6.QtWidgets import QMessageBox

from photoorg import config
from photoorg.core.store.catalog import Catalog

pytestmark = needs_tiny


def _copies(data: Path) -> Path:
    """Two look-alikes of green_star_0: a bigger one and an edited copy of the same size."""
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        (root,) = cat.roots()
    original = root.path / "green_star_0.jpg"
    with Image.open(original) as im:
        im.resize((im.width * 2, im.height * 2)).save(root.path / "green_star_0_big.jpg",
                                                      quality=95)
        im.save(root.path / "green_star_0 (1).jpg", quality=80)
    os.utime(root.path / "green_star_0 (1).jpg", (2e9, 2e9))  # newer than the original
    return root.path


def _cosines(data: Path) -> dict[tuple[int, int], float]:
    """Every pair's cosine, from the vectors the window stored (the truth the page must obey)."""
    with Catalog(config.catalog_path(data), readonly=True) as cat:
        ids, mat = cat.load_vectors(cat.active_model().id)
    mat = mat / np.linalg.norm(mat, axis=1, keepdims=True)
    sims = mat @ mat.T
    ids = ids.tolist()
    return {(a, b): float(sims[i, j]) for i, a in enumerate(ids) for j, b in enumerate(ids)}


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


def test_keep_suggested_trash_the_others_then_not_duplicates_survives_restart(
        qtbot, library, system_trash, monkeypatch) -> None:  # noqa: ANN001
    photos = _copies(library)
    window = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: window.photos.rowCount() == 50
                        and not window.controller.service.busy, timeout=60_000)
        page, card = _open_duplicates(qtbot, window)
        group = card.group
        names = {m.path.name for m in group.members}
        assert {"green_star_0.jpg", "green_star_0_big.jpg", "green_star_0 (1).jpg"} <= names
        assert group.member(group.keep).path.name == "green_star_0_big.jpg"
        assert group.why.startswith("the largest")
        assert "keep" in card.header.text() and "% alike" in card.header.text()

        asked = []

        def confirm(_parent, _title, text, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
            asked.append(text)
            return QMessageBox.StandardButton.Yes

        monkeypatch.setattr(QMessageBox, "question", confirm)
        goners = [group.member(pid).path for pid in group.others]
        with qtbot.waitSignal(window.controller.writes_done, timeout=20_000):
            card.trash_button.click()
        assert all(str(p) in asked[0] for p in goners)  # the confirmation names every file
        assert all(not p.exists() for p in goners)
        if system_trash is not None:  # freedesktop: in the trash, restorable from it
            trashed = sorted(p.name for p in (system_trash / "files").iterdir())
            assert trashed == sorted(p.name for p in goners)
            assert len(list((system_trash / "info").iterdir())) == len(goners)
        assert (photos / "green_star_0_big.jpg").exists()
        with Catalog(config.catalog_path(library), readonly=True) as cat:
            left = {Path(r).name for (r,) in cat.query(  # trashed rows are kept missing
                "SELECT rel_path FROM photos WHERE missing_since IS NULL")}
        assert not {p.name for p in goners} & left and "green_star_0_big.jpg" in left
        qtbot.waitUntil(lambda: window.photos.rowCount() == 50 - len(goners), timeout=10_000)
    finally:
        window.shutdown()
    assert window.errors.shown == []


def test_not_duplicates_is_remembered_across_a_restart(qtbot, library) -> None:  # noqa: ANN001
    _copies(library)
    window = make_window(qtbot, library)
    try:
        qtbot.waitUntil(lambda: window.photos.rowCount() == 50
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
        qtbot.waitUntil(lambda: again.photos.rowCount() == 50, timeout=20_000)
        page = _show_duplicates_page(qtbot, again)
        qtbot.waitUntil(lambda: "group" in page.summary.text()
                        or "No near-identical" in page.summary.text(), timeout=20_000)
        assert not any({m.id for m in c.group.members} == members for c in page.cards)
        # looser: the tiny model chains green shapes at 0.90 (circle ~ square ~ triangle ...);
        # each card still offers for the trash only photos 0.90 alike to the one it keeps
        sims = _cosines(library)
        alike = {pair for pair, s in sims.items() if pair[0] != pair[1] and s >= 0.9}
        assert any((a, c) not in alike and a != c for a, b in alike for b2, c in alike if b2 == b)
        page.threshold.setValue(0.90)
        qtbot.waitUntil(lambda: page.cards and page.cards[0].group.threshold == 0.9,
                        timeout=20_000)
        for card in page.cards:
            group = card.group
            assert group.others and set(group.others) == {m.id for m in group.members} - {
                group.keep}
            for pid in group.others:
                assert sims[group.keep, pid] >= 0.9
                assert group.member(pid).similarity == pytest.approx(sims[group.keep, pid],
                                                                     abs=1e-5)
            assert not (members & set(group.others) and group.keep in members)  # dismissed
            assert "at least" in card.header.text() and "alike to it" in card.header.text()
    finally:
        again.shutdown()
    assert again.errors.shown == []
