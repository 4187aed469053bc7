"""The menu bar: File (add folder, settings, quit), Edit (undo, missing photos, backups), View
(sort, zoom, full screen), Help (about, keyboard shortcuts, log and data folders). Each action
is registered once; the window's toolbar shares the same QAction objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QMenu, QMenuBar, QMessageBox, QSlider, QStackedWidget

from photoorg import __version__, config
from photoorg.core.app.api import SORT_LABELS, SORTS
from photoorg.ui import desktop
from photoorg.ui.shortcuts import standard_keys


class MainWindow(Protocol):
    """What the menus use of the main window (a protocol: this module never imports the
    window that imports it)."""

    data: Path
    add_folder_action: QAction
    settings_action: QAction
    quit_action: QAction
    undo_action: QAction
    forget_missing_action: QAction
    restore_action: QAction
    sort_box: QComboBox
    zoom: QSlider
    stack: QStackedWidget
    viewer: Any

    def menuBar(self) -> QMenuBar: ...  # noqa: N802
    def addAction(self, action: QAction) -> None: ...  # noqa: N802
    def isFullScreen(self) -> bool: ...  # noqa: N802
    def showNormal(self) -> None: ...  # noqa: N802
    def showFullScreen(self) -> None: ...  # noqa: N802

ZOOM_STEP = 40

SHORTCUTS = [
    ("Ctrl+F", "Search"),
    ("Esc", "Leave the search (back to the page you came from)"),
    ("Ctrl+Z", "Undo the last decision (in a text field: its own typing first)"),
    ("Ctrl+O", "Add a photo folder"),
    ("Ctrl++ / Ctrl+−", "Bigger / smaller thumbnails (in the viewer: zoom)"),
    ("F11", "Full screen"),
    ("Enter", "Open the photo; in the viewer ← → move, R turns, S slideshow, Esc back"),
    ("Space / ← → / M / F", "In a video: play or pause, seek 5 s, mute, full screen"),
    ("G", "In the viewer: find similar (in a video: from the frame on screen)"),
    ("S / C / U / Shift+S", "Open a stack / use as its cover / unstack / stack again"),
    ("Alt+←", "Back"),
    ("Ctrl+W / Ctrl+Q", "Close photoorg"),
]


def build_menus(window: MainWindow) -> dict[str, QMenu]:
    bar = window.menuBar()
    file = bar.addMenu("&File")
    file.addAction(window.add_folder_action)
    window.add_folder_action.setText("Add folder…")
    window.settings_action.setText("Settings…")
    file.addAction(window.settings_action)
    file.addSeparator()
    file.addAction(window.quit_action)

    edit = bar.addMenu("&Edit")
    edit.addAction(window.undo_action)
    edit.addSeparator()
    edit.addAction(window.forget_missing_action)
    edit.addAction(window.restore_action)

    view = bar.addMenu("&View")
    sort = view.addMenu("Sort by")
    group = QActionGroup(window)
    for key in SORTS:
        action = sort.addAction(SORT_LABELS[key])
        action.setCheckable(True)
        action.setData(key)
        action.setChecked(key == window.sort_box.currentData())
        group.addAction(action)
        action.triggered.connect(
            lambda _c=False, k=key: window.sort_box.setCurrentIndex(window.sort_box.findData(k)))
    window.sort_box.currentIndexChanged.connect(
        lambda _i: [a.setChecked(a.data() == window.sort_box.currentData())
                    for a in group.actions()])
    zoom_in = view.addAction("Bigger thumbnails")
    zoom_in.setShortcuts(standard_keys(QKeySequence.StandardKey.ZoomIn))
    zoom_in.triggered.connect(lambda: _zoom(window, +1))
    zoom_out = view.addAction("Smaller thumbnails")
    zoom_out.setShortcuts(standard_keys(QKeySequence.StandardKey.ZoomOut))
    zoom_out.triggered.connect(lambda: _zoom(window, -1))
    view.addSeparator()
    full = view.addAction("Full screen")
    full.setShortcuts(standard_keys(QKeySequence.StandardKey.FullScreen, "F11"))
    full.triggered.connect(lambda: _full_screen(window))
    window.addAction(full)  # F11 still works while the menu bar is hidden

    help_menu = bar.addMenu("&Help")
    shortcuts = help_menu.addAction("Keyboard shortcuts")
    shortcuts.setShortcuts(standard_keys(QKeySequence.StandardKey.HelpContents))
    shortcuts.triggered.connect(lambda: show_shortcuts(window))
    logs = help_menu.addAction("Open the log folder")
    logs.triggered.connect(lambda: desktop.open_file(str(config.log_dir(window.data))))
    data = help_menu.addAction("Open the data folder")
    data.triggered.connect(lambda: desktop.open_file(str(window.data)))
    help_menu.addSeparator()
    about = help_menu.addAction("About photoorg")
    about.setMenuRole(QAction.MenuRole.AboutRole)
    about.triggered.connect(lambda: show_about(window))
    return {"file": file, "edit": edit, "view": view, "help": help_menu}


def _zoom(window: MainWindow, direction: int) -> None:
    if window.stack.currentWidget() is window.viewer:
        canvas = window.viewer.canvas
        (canvas.zoom_in if direction > 0 else canvas.zoom_out)()
        return
    window.zoom.setValue(window.zoom.value() + direction * ZOOM_STEP)


def _full_screen(window: MainWindow) -> None:
    if window.stack.currentWidget() is window.viewer:
        window.viewer.toggle_fullscreen()
    elif window.isFullScreen():
        window.showNormal()
    else:
        window.showFullScreen()


def show_shortcuts(window: MainWindow) -> QMessageBox:
    rows = "".join(f"<tr><td><b>{keys}</b></td><td>&nbsp;&nbsp;{what}</td></tr>"
                   for keys, what in SHORTCUTS)
    box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts",
                      f"<table>{rows}</table>", QMessageBox.StandardButton.Close, window)
    box.setObjectName("shortcutsDialog")
    box.open()
    return box


def show_about(window: MainWindow) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, "About photoorg",
                      f"<b>photoorg {__version__}</b><br>Find, name and sort your photos "
                      f"on your own computer.<br><br>Library data: {window.data}",
                      QMessageBox.StandardButton.Close, window)
    box.setObjectName("aboutDialog")
    box.open()
    return box
