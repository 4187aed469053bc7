"""The window's organizing actions: the sidebar's right-click menu (open a folder, rename or
delete a tag or album), "Add to album…", and the dialogs they ask through. Menus are built,
not shown, so tests can trigger their actions."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu, QMessageBox, QWidget

from photoorg.ui import desktop
from photoorg.ui.controller import LibraryController
from photoorg.ui.icons import icon
from photoorg.ui.views.sidebar import Sidebar, tag_label


class MainWindow(Protocol):
    """What these actions use of the main window (a protocol, so this module never imports
    the window that imports it)."""

    controller: LibraryController
    sidebar: Sidebar

    def window(self) -> QWidget: ...  # the window itself, as the dialogs' parent

    def retry_unreadable(self, photo_ids: list[int]) -> None: ...  # the page says so too


def tag_from_label(text: str) -> str:
    """What the user typed or picked (``People › Angelina``) as a stored tag."""
    return "|".join(part.strip() for part in text.replace("›", "|").split("|") if part.strip())


def album_names(window: MainWindow) -> list[str]:
    overview = window.controller.overview
    return list(overview.albums) if overview else []


def ask_album(window: MainWindow, photo_ids: list[int]) -> None:
    """"Add to album…": pick an album or type a new name."""
    n = len(photo_ids)
    name, ok = QInputDialog.getItem(
        window.window(), "Add to album",
        f"Add {n} photo{'s' if n != 1 else ''} to an album (pick one, or type a new name):",
        album_names(window), 0, True)
    if ok and name.strip():
        window.controller.add_to_album(photo_ids, name.strip())


def ask_tag(window: MainWindow, photo_ids: list[int]) -> None:
    overview = window.controller.overview
    existing = [tag_label(name) for name, _ in (overview.tags if overview else [])]
    n = len(photo_ids)
    text, ok = QInputDialog.getItem(
        window.window(), "Add tag", f"Tag for {n} photo{'s' if n != 1 else ''} (› makes a level):",
        existing, 0, True)
    if ok and tag_from_label(text):
        window.controller.add_tag(photo_ids, tag_from_label(text))


def sidebar_menu(window: MainWindow, nav: tuple) -> QMenu | None:
    kind, arg, label = nav
    menu = QMenu(window.window())
    if kind in ("folder", "subfolder"):
        entry = window.sidebar.item_for(kind, arg)
        path = window.sidebar.sidebar_model.entry(entry).path if entry is not None else ""
        open_it = menu.addAction(icon("open"), "Open folder")
        open_it.setEnabled(bool(path))
        open_it.triggered.connect(lambda: desktop.open_file(path))
        show = menu.addAction(icon("folder"), "Show in folder")
        show.setEnabled(bool(path))
        show.triggered.connect(lambda: desktop.show_in_folder(path))
        return menu
    if kind == "tag":
        rename = menu.addAction("Rename…")
        rename.triggered.connect(lambda: _rename(window, "tag", str(arg)))
        delete = menu.addAction(icon("close"), "Delete tag…")
        delete.triggered.connect(lambda: _delete(window, "tag", str(arg)))
        return menu
    if kind == "album":
        rename = menu.addAction("Rename…")
        rename.triggered.connect(lambda: _rename(window, "album", str(arg)))
        delete = menu.addAction(icon("close"), "Delete album…")
        delete.triggered.connect(lambda: _delete(window, "album", str(arg)))
        return menu
    if kind == "unreadable":
        retry = menu.addAction("Retry all")
        retry.triggered.connect(lambda: window.retry_unreadable([]))
        return menu
    return None


def _rename(window: MainWindow, kind: str, name: str) -> None:
    shown = tag_label(name) if kind == "tag" else name
    text, ok = QInputDialog.getText(window.window(), f"Rename {kind}", f"New name for “{shown}”:",
                                    QLineEdit.EchoMode.Normal, shown)
    if not ok or not text.strip() or text.strip() == shown:
        return
    if kind == "tag":
        window.controller.rename_tag(name, tag_from_label(text))
    else:
        window.controller.rename_album(name, text.strip())


def _delete(window: MainWindow, kind: str, name: str) -> None:
    shown = tag_label(name) if kind == "tag" else name
    what = ("The photos keep everything else; only this tag (and the tags under it) goes."
            if kind == "tag" else "The photos stay in your library; only the album goes.")
    answer = QMessageBox.question(window.window(), f"Delete {kind}",
                                  f"Delete the {kind} “{shown}”?\n\n{what}")
    if answer != QMessageBox.StandardButton.Yes:
        return
    if kind == "tag":
        window.controller.delete_tag(name)
    else:
        window.controller.delete_album(name)
