"""Render the real app into ``docs/screenshots/*.png`` (for the README).

Builds a library from the shipped sample photos (``resources/samples``: coloured shapes and
four portraits), lets the app index it with the bundled tiny model (faces and groups
included), then captures:

* ``welcome.png``  – first run, no folders yet;
* ``search.png``   – the grid with results for "a photo of a red circle";
* ``grid.png``     – all photos, with the indexing status bar;
* ``people.png``   – the people cards (one named, one not);
* ``scenes.png``   – scene clusters;
* ``viewer.png``   – one photo large, with its metadata;
* ``timeline.png`` – All photos by month with the date scrubber, the folder tree, an album;
* ``viewer-zoom.png`` – the viewer zoomed in;
* ``duplicates.png`` – near-duplicate groups with the photo to keep suggested;
* ``unreadable.png`` – the files that could not be read, with the reasons;
* ``events.png``   – events found by date and place, with cover thumbnails (a few dated
  photos with GPS are added);
* ``menubar.png``  – the menu bar with View open;
* ``duplicates-confirm.png`` – the question asked before files go to the trash;
* ``similar.png``  – "More like these" on two photos, refined with "Less like these";
* ``suggest.png``  – scene cards with a suggested name (the tiny model knows only colours
  and shapes, so it is given a shapes vocabulary: its gate rejects the built-in scene words).

The copied sample photos get capture dates written into their EXIF (most of them; the
rest show under their file dates), two look-alikes of one photo and one broken file, so
every view has something to show.

Runs offscreen by default; under Xvfb (``xvfb-run -s "-screen 0 1600x1000x24" python
tools/screenshots.py``) it uses the X11 platform and looks the same::

    python tools/screenshots.py [--out docs/screenshots] [--model SPEC]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPointF

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIZE = (1280, 800)


def wait_for(app, condition: Callable[[], bool], timeout: float = 120.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        app.processEvents()
        time.sleep(0.02)


def settle(app, seconds: float = 0.6) -> None:  # noqa: ANN001
    """Let thumbnails arrive and paint."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def stage_library(photos: Path) -> None:
    """Capture dates in the copies' EXIF (a few left without), two look-alikes of one photo
    (a larger one and an edited copy), one broken file."""
    from PIL import Image

    shapes = sorted((photos / "shapes").glob("*.jpg"))
    for i, path in enumerate(shapes):
        if i % 7 == 6:
            continue  # no date in these: they show under their file dates, last
        year, month = 2019 + (i * 5) % 6, 1 + (i * 7) % 12
        with Image.open(path) as im:
            exif = im.getexif()
            exif.get_ifd(0x8769)[0x9003] = f"{year}:{month:02d}:{1 + i % 27:02d} 10:30:00"
            im.save(path, quality=92, exif=exif)
    first = shapes[0]
    with Image.open(first) as im:
        im.resize((im.width * 2, im.height * 2)).save(
            first.with_name(first.stem + "_large.jpg"), quality=92, exif=im.getexif())
        im.save(first.with_name(first.stem + " (1).jpg"), quality=75, exif=im.getexif())
    (photos / "shapes" / "scan-042.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    parser.add_argument("--model", help="model spec (default: the bundled tiny model)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from photoorg import config
    from photoorg.core.models.embedder import TEST_MODEL, weights_available
    from photoorg.resources import resource_path
    from photoorg.ui.app import create_application
    from photoorg.ui.main_window import MainWindow

    model = args.model or (TEST_MODEL if weights_available(TEST_MODEL) else "ViT-B-32/random")
    app = create_application()
    work = Path(tempfile.mkdtemp(prefix="photoorg-shots-"))
    os.environ[config.ENV_CACHE_DIR] = str(work / "cache")

    def shoot(window: MainWindow, name: str) -> None:
        settle(app)
        window.grab().save(str(out / name))
        print(out / name)

    # 1. first run
    empty = work / "empty"
    empty.mkdir()
    window = MainWindow(empty, config.Settings(), model_spec=model, index_mode="thread",
                        watch=False)
    window.errors.interactive = False
    window.resize(*SIZE)
    window.show()
    wait_for(app, lambda: window.stack.currentWidget() is window.welcome
             and window.welcome.model_panel.state in ("ready", "unavailable", "missing"))
    shoot(window, "welcome.png")
    window.close()

    # 2. a library of the sample photos, indexed by the app itself
    data = work / "data"
    data.mkdir()
    photos = work / "Pictures"
    shutil.copytree(resource_path("samples"), photos,
                    ignore=shutil.ignore_patterns("*.md", "*.txt"))
    stage_library(photos)
    from photoorg.core.store.catalog import Catalog

    add_dated_photos(photos / "Trips")
    with Catalog(config.catalog_path(data)) as cat:
        cat.add_root(photos)
    window = MainWindow(data, config.Settings(), model_spec=model, index_mode="thread",
                        watch=False)
    window.errors.interactive = False
    window.resize(*SIZE)
    window.show()
    c = window.controller
    wait_for(app, lambda: window.progress_bar.isVisible()
             and "Indexing" in window.progress_label.text(), timeout=120)
    wait_for(app, lambda: (c.service.last_progress is not None
                           and c.service.last_progress.done >= 20), timeout=120)
    c.service.pause()  # hold it mid-way for the status bar
    wait_for(app, lambda: "paused" in window.progress_label.text(), timeout=60)
    c.reload()
    c.refresh_overview()
    def consistent() -> bool:  # the sidebar, the page and the grid count the same photos
        return (window.photos.rowCount() > 0 and c.overview is not None
                and c.overview.library.get("photos") == window.photos.rowCount())

    wait_for(app, consistent)
    settle(app, 2.5)  # a file found unreadable meanwhile leaves the grid on the next refresh
    wait_for(app, consistent)
    shoot(window, "grid.png")
    c.service.resume()
    wait_for(app, lambda: c.service.last_progress is not None
             and c.service.last_progress.phase == "done" and not c.service.busy, timeout=300)
    settle(app, 1.0)

    window.search_field.setText("a photo of a red circle")
    wait_for(app, lambda: window.photos.photos.scores is not None)
    shoot(window, "search.png")

    window.search_field.clear()
    window.show_clusters("people")
    wait_for(app, lambda: window.clusters.rowCount() > 0, timeout=30)
    obama = next((window.clusters.cluster(r) for r in range(window.clusters.rowCount())
                  if "obama" in window.clusters.cluster(r).cover_path), None)
    if obama is not None:  # name one of the two, so both kinds of card show
        c.rename_cluster(obama.id, "Barack Obama")
        wait_for(app, lambda: any(window.clusters.cluster(r).title == "Barack Obama"
                                  for r in range(window.clusters.rowCount())), timeout=30)
    shoot(window, "people.png")

    window.show_clusters("scenes")
    wait_for(app, lambda: window.clusters.rowCount() > 0, timeout=30)
    shoot(window, "scenes.png")

    window.sidebar.activate("all")
    wait_for(app, lambda: window.photos.rowCount() > 0 and window.photos.photos.scores is None)
    row = next(i for i, p in enumerate(window.photos.photos.paths) if "obama" in p)
    window.open_viewer(window.photos.index(row))
    wait_for(app, lambda: window.viewer.canvas.has_pixmap()
             and window.viewer.fields["dimensions"].text() != "—", timeout=30)
    shoot(window, "viewer.png")
    window.viewer.canvas.set_zoom(2.2)
    window.viewer.canvas.pan(QPointF(0, 120))
    shoot(window, "viewer-zoom.png")
    window.close_viewer()

    # timeline, folder tree and an album made by hand
    ids = [window.photos.photo_id(r) for r in range(min(6, window.photos.rowCount()))]
    c.add_to_album(ids, "Summer")
    wait_for(app, lambda: window.sidebar.item_for("album", "Summer") is not None, timeout=30)
    window.sidebar.activate("all")
    wait_for(app, lambda: window.photos.sections() and window.photos.photos.scores is None)
    window.grid.verticalScrollBar().setValue(0)
    shoot(window, "timeline.png")

    window.sidebar.activate("duplicates")
    wait_for(app, lambda: window.duplicates_page.cards, timeout=60)
    shoot(window, "duplicates.png")
    shoot_trash_confirmation(window, app, out / "duplicates-confirm.png")
    window.sidebar.activate("unreadable")
    wait_for(app, lambda: window.unreadable_page.row_count() > 0, timeout=30)
    shoot(window, "unreadable.png")

    window.sidebar.activate("events", None)
    wait_for(app, lambda: window.events_page.row_count() > 0, timeout=60)
    wait_for(app, lambda: all(window.events_page.cover_count(r) > 0
                              for r in range(window.events_page.row_count())), timeout=60)
    shoot(window, "events.png")
    shoot_menu(window, app, "View", out / "menubar.png")

    window.sidebar.activate("all")
    wait_for(app, lambda: window.photos.rowCount() > 0 and window.photos.photos.scores is None)
    paths = window.photos.photos.paths
    seeds = [next(i for i, p in enumerate(paths) if p.endswith(n))
             for n in ("red_circle_0.jpg", "red_square_0.jpg")]
    window.find_similar([window.photos.photo_id(r) for r in seeds], [paths[r] for r in seeds])
    wait_for(app, lambda: window.photos.photos.scores is not None)
    hits = window.photos.photos.paths
    square = next(i for i, p in enumerate(hits) if "square" in p and not p.endswith("_0.jpg"))
    window._refine(less=[window.photos.photo_id(square)])
    wait_for(app, lambda: window.photos.photos.scores is not None and bool(c.less_like)
             and all("square" not in p or p.endswith("red_square_0.jpg")
                     for p in window.photos.photos.paths[:2]), timeout=30)
    shoot(window, "similar.png")

    show_suggestions(window, model, app)
    shoot(window, "suggest.png")
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _grab_screen(window, app, path: Path) -> None:  # noqa: ANN001
    """The window and whatever popup or dialog is over it, as the screen shows them (a
    window's own grab leaves menus and dialogs out)."""
    settle(app, 0.4)
    screen = window.screen()
    geometry = window.frameGeometry()
    shot = screen.grabWindow(0, geometry.x(), geometry.y(), geometry.width(),
                             geometry.height())
    if shot.isNull() or os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        shot = window.grab()  # offscreen has no screen to grab
    shot.save(str(path))
    print(path)


def shoot_menu(window, app, title: str, path: Path) -> None:  # noqa: ANN001
    """The menu bar with one of its menus open."""
    from PySide6.QtCore import QTimer

    action = next(a for a in window.menuBar().actions() if a.text().replace("&", "") == title)
    menu = action.menu()

    def grab_and_close() -> None:
        _grab_screen(window, app, path)
        menu.close()

    QTimer.singleShot(600, grab_and_close)
    window.menuBar().setActiveAction(action)  # opens it, as a click on the title does
    wait_for(app, lambda: not menu.isVisible(), timeout=10)


def shoot_trash_confirmation(window, app, path: Path) -> None:  # noqa: ANN001
    """The confirmation asked before files go to the trash, answered No."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    page = window.duplicates_page
    card = page.cards[0]

    def grab_and_cancel() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(100, grab_and_cancel)
            return
        _grab_screen(window, app, path)
        if isinstance(dialog, QMessageBox):
            dialog.done(QMessageBox.StandardButton.No)
        else:
            dialog.reject()

    QTimer.singleShot(600, grab_and_cancel)
    page.confirm_trash(list(card.group.others))


def add_dated_photos(folder: Path) -> None:
    """A 3-day trip to Rome (phone: UTC offset + GPS) and a party across midnight (camera:
    no offset, no GPS), as EXIF written here."""
    from fractions import Fraction

    from PIL import Image

    from photoorg.core.media.synthetic import draw_shape_image

    def dms(v: float) -> tuple:
        d, m = int(v), int((v - int(v)) * 60)
        return (Fraction(d), Fraction(m), Fraction(round(((v - d) * 60 - m) * 6000), 100))

    folder.mkdir(parents=True, exist_ok=True)
    shots = [(f"rome_{d}_{h}.jpg", f"2024:05:{d} {h}:10:00", "+02:00", (41.9009, 12.4833))
             for d in (12, 13, 14) for h in (10, 16)]
    shots += [(f"party_{i}.jpg", w, None, None) for i, w in enumerate(
        ("2023:06:03 21:05:00", "2023:06:03 23:40:00", "2023:06:04 00:55:00"))]
    for i, (name, when, offset, gps) in enumerate(shots):
        exif = Image.Exif()
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = when
        if offset:
            sub[0x9011] = offset
        if gps:
            g = exif.get_ifd(0x8825)
            g[1], g[2], g[3], g[4] = "N", dms(gps[0]), "E", dms(gps[1])
        color, shape = ("blue", "star") if gps else ("yellow", "circle")
        draw_shape_image(color, shape, size=320, seed=70 + i).save(folder / name, exif=exif)


def show_suggestions(window, model: str, app) -> None:  # noqa: ANN001
    """Scene cards with suggested names. The tiny model knows colours and shapes only, so
    it gets a vocabulary of those (the built-in scene words do not pass its gate)."""
    from photoorg import config
    from photoorg.core.groups import suggest
    from photoorg.core.media.synthetic import CLASSES, COLORS
    from photoorg.core.models.embedder import load_embedder
    from photoorg.core.store.catalog import Catalog

    shapes = suggest.Vocabulary.of([f"{c} {s}" for c, s in CLASSES]
                                   + [f"{c} shape" for c in COLORS], name="shapes")
    suggest.BUILTIN["scenes"] = shapes
    with Catalog(config.catalog_path(window.data)) as cat:
        suggest.prepare(cat, load_embedder(model), vocabularies=[shapes])
    window.show_clusters("scenes")
    wait_for(app, lambda: window.clusters.rowCount() > 0, timeout=30)
    settle(app, 1.0)


if __name__ == "__main__":
    sys.exit(main())
