"""The People page's "Unnamed faces" section: faces no person holds, look-alikes together,
largest groups first. Select faces (click, Shift/Ctrl+click, Ctrl+A), then "This is …"
(Enter, a button or the context menu: pick a person or type a new name) or "Not a face"
(Delete, a button or the menu). Both are one undo step (Ctrl+Z)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from photoorg.ui.thumbstore import ThumbnailStore

TILE = 96
FaceIdRole = Qt.ItemDataRole.UserRole + 1
KeyRole = Qt.ItemDataRole.UserRole + 2


class ThisIsDialog(QDialog):
    """"This is …": pick a person or type a new name."""

    def __init__(self, names: list[str], count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("This is…")
        self.names = QComboBox()
        self.names.setEditable(True)
        self.names.addItems(names)
        self.names.setCurrentText("")
        self.names.lineEdit().setPlaceholderText("A person's name")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        what = "this face" if count == 1 else f"these {count} faces"
        layout.addWidget(QLabel(f"Who is in {what}? Pick a person or type a new name."))
        layout.addWidget(self.names)
        layout.addWidget(buttons)
        self.names.setFocus()

    def name(self) -> str:
        return self.names.currentText().strip()


class FaceList(QListWidget):
    """Face crops in a wrapping row; Enter says who, Delete says "Not a face"."""

    name_key = Signal()
    not_face_key = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(TILE, TILE))
        self.setGridSize(QSize(TILE + 12, TILE + 24))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWrapping(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if self.selectedItems() and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.name_key.emit()
            return
        if self.selectedItems() and event.key() == Qt.Key.Key_Delete:
            self.not_face_key.emit()
            return
        super().keyPressEvent(event)


class UnnamedFacesSection(QWidget):
    """Emits ``name_requested(face ids, name)`` and ``not_face_requested(face ids)``; the
    window passes them to the library (the one door)."""

    name_requested = Signal(list, str)
    not_face_requested = Signal(list)

    def __init__(self, thumbs: ThumbnailStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbs = thumbs
        self.names: list[str] = []
        self.dialog: ThisIsDialog | None = None
        self.title = QLabel()
        self.title.setObjectName("sectionTitle")
        self.this_is = QPushButton("This is…")
        self.not_face = QPushButton("Not a face")
        self.faces = FaceList()
        self.faces.setMinimumHeight(TILE + 36)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title, 1)
        head.addWidget(self.this_is)
        head.addWidget(self.not_face)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.faces, 1)
        self.this_is.clicked.connect(self.ask_name)
        self.not_face.clicked.connect(self._not_face)
        self.faces.name_key.connect(self.ask_name)
        self.faces.not_face_key.connect(self._not_face)
        self.faces.itemSelectionChanged.connect(self._update_buttons)
        self.faces.customContextMenuRequested.connect(
            lambda pos: self.menu().exec(self.faces.viewport().mapToGlobal(pos)))
        thumbs.updated.connect(self._thumbs_updated)
        self._update_buttons()
        self.hide()

    def set_faces(self, tiles: list, names: list[str]) -> None:
        """``tiles``: the backend's FaceTile list, largest groups first."""
        self.names = names
        selected = set(self.selected_ids())
        self.faces.clear()
        groups = len({t.group for t in tiles})
        for tile in tiles:
            item = QListWidgetItem(f"group {tile.group + 1}")
            item.setData(FaceIdRole, tile.face_id)
            item.setData(KeyRole, (tile.key, tile.path, tile.crop))
            item.setToolTip(f"Face {tile.face_id} · {tile.path}")
            self.faces.addItem(item)
            self._set_icon(item)
            item.setSelected(tile.face_id in selected)
        faces = "1 face" if len(tiles) == 1 else f"{len(tiles)} faces"
        looks = "" if groups == len(tiles) else f" in {groups} groups of look-alikes"
        self.title.setText(f"Unnamed faces · {faces}{looks}")
        self.setVisible(bool(tiles))
        self._update_buttons()

    def face_ids(self) -> list[int]:
        return [self.faces.item(i).data(FaceIdRole) for i in range(self.faces.count())]

    def selected_ids(self) -> list[int]:
        return [item.data(FaceIdRole) for item in self.faces.selectedItems()]

    def menu(self) -> QMenu:
        menu = QMenu(self)
        n = len(self.selected_ids())
        name = menu.addAction("This is…")
        name.setEnabled(n > 0)
        name.triggered.connect(self.ask_name)
        drop = menu.addAction("Not a face" if n <= 1 else f"Not faces ({n})")
        drop.setEnabled(n > 0)
        drop.triggered.connect(self._not_face)
        return menu

    def ask_name(self) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        self.dialog = dialog = ThisIsDialog(self.names, len(ids), self)
        dialog.accepted.connect(lambda: dialog.name() and self.name_requested.emit(
            ids, dialog.name()))
        dialog.open()

    def _not_face(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.not_face_requested.emit(ids)

    def _update_buttons(self) -> None:
        on = bool(self.faces.selectedItems())
        self.this_is.setEnabled(on)
        self.not_face.setEnabled(on)

    def _set_icon(self, item: QListWidgetItem) -> None:
        key, path, crop = item.data(KeyRole)
        pixmap = self.thumbs.pixmap(key, path, crop=crop)
        if pixmap is not None:
            item.setIcon(QIcon(pixmap))
        else:
            blank = QPixmap(TILE, TILE)
            blank.fill(Qt.GlobalColor.lightGray)
            item.setIcon(QIcon(blank))

    def _thumbs_updated(self, keys: list) -> None:
        wanted = set(keys)
        for i in range(self.faces.count()):
            item = self.faces.item(i)
            if item.data(KeyRole)[0] in wanted:
                self._set_icon(item)
