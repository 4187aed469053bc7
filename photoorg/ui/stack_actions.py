"""Stacks in the grid: open one (its members on a page of their own), choose its cover,
unstack and stack again — from the tile's right-click menu, the keyboard (the grid's
S, C, U, Shift+S; Esc leaves the stack's page) or a click on the tile's count badge.
Every change goes through the door (one undo step each)."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu, QStatusBar

from photoorg.core.app.api import StackBadge
from photoorg.ui.controller import LibraryController
from photoorg.ui.models.photos import PhotoListModel, PhotoRole
from photoorg.ui.views.grid import PhotoGrid


class MainWindow(Protocol):
    controller: LibraryController
    grid: PhotoGrid
    photos: PhotoListModel
    grid_title: QLabel
    _browse_nav: tuple

    def statusBar(self) -> QStatusBar: ...  # noqa: N802

    def selected_rows(self) -> list[int]: ...

    def navigate(self, nav: tuple) -> None: ...


class StackActions(QObject):
    """The four stack actions, living on the grid (their keys work while it has focus)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window.grid)
        self.window = window
        self.came_from: tuple | None = None  # the page an open stack returns to
        grid = window.grid
        self.open_action = self._action("Open stack", "S", self.open_current)
        self.cover_action = self._action("Use as cover", "C", self.cover_current)
        self.unstack_action = self._action("Unstack", "U", self.unstack_current)
        self.restack_action = self._action("Stack again", "Shift+S", self.restack_current)
        grid.installEventFilter(self)  # Esc on a stack's page goes back (the search has Esc)
        grid.stack_requested.connect(lambda index: self.open_row(index.row()))

    def _action(self, text: str, key: str, slot) -> QAction:  # noqa: ANN001
        action = QAction(text, self.window.grid)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.triggered.connect(slot)
        self.window.grid.addAction(action)
        return action

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if (event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and event.key() == Qt.Key.Key_Escape and self.stack_page() is not None):
            self.leave()
            return True
        return False

    # -- what the rows are -----------------------------------------------------------------

    def _row(self) -> int | None:
        rows = self.window.selected_rows()
        return rows[0] if len(rows) == 1 else None

    def _badge(self, row: int | None) -> StackBadge | None:
        if row is None or not 0 <= row < self.window.photos.rowCount():
            return None
        return self.window.photos.index(row).data(PhotoRole.Stack)

    def stack_page(self) -> int | None:
        """The stack whose members the grid shows now, if it shows one."""
        return self.window.photos.photos.stack_id

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 4000)

    # -- the actions ---------------------------------------------------------------------

    def open_row(self, row: int | None) -> None:
        badge = self._badge(row)
        if badge is None:
            self._say("This photo is not in a stack.")
            return
        if self.stack_page() is None:
            self.came_from = self.window._browse_nav
        self.window.grid_title.setText(f"Stack of {badge.count}")
        self.window.controller.open_stack(badge.stack_id)

    def open_current(self) -> None:
        if self.stack_page() is None:
            self.open_row(self._row())

    def cover_current(self) -> None:
        badge, row = self._badge(self._row()), self._row()
        if self.stack_page() is None or badge is None or row is None:
            self._say("Open a stack first (S) to choose its cover.")
        elif not badge.cover:
            self.window.controller.set_stack_cover(badge.stack_id,
                                                   self.window.photos.photo_id(row))

    def unstack_current(self) -> None:
        badge = self._badge(self._row())
        if badge is not None and badge.stacked:
            self.window.controller.unstack(badge.stack_id)
        else:
            self._say("Not a stacked photo.")

    def restack_current(self) -> None:
        badge = self._badge(self._row())
        if badge is not None and not badge.stacked:
            self.window.controller.restack(badge.stack_id)
        else:
            self._say("Not an unstacked photo.")

    def leave(self) -> None:
        if self.stack_page() is None:
            return
        back, self.came_from = self.came_from, None
        self.window.navigate(back or ("all", None, "All photos"))

    # -- the tile's menu ----------------------------------------------------------------

    def add_to_menu(self, menu: QMenu, rows: list[int]) -> None:
        """The stack's part of the grid's right-click menu (one tile in a stack): actions
        bound to that tile, whatever the selection is when one is chosen."""
        badge = self._badge(rows[0]) if len(rows) == 1 else None
        if badge is None:
            return
        photo_id = self.window.photos.photo_id(rows[0])
        controller = self.window.controller
        menu.addSeparator()

        def item(text: str, key: str, slot) -> QAction:  # noqa: ANN001
            action = menu.addAction(text)
            action.setShortcut(QKeySequence(key))  # shown; the grid's own action has the key
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(slot)
            return action

        if self.stack_page() is None:
            item(f"Open stack ({badge.count} photos)", "S", lambda: self.open_row(rows[0]))
        else:
            item("Use as cover", "C", lambda: controller.set_stack_cover(
                badge.stack_id, photo_id)).setEnabled(not badge.cover)
        if badge.stacked:
            item("Unstack", "U", lambda: controller.unstack(badge.stack_id))
        else:
            item("Stack again", "Shift+S", lambda: controller.restack(badge.stack_id))
