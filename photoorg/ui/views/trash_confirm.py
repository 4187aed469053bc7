"""The confirmation before duplicates go to the trash: the photo kept and every photo to be
trashed side by side, as pictures, each with its pixel size, file size, date and folder, so
the user sees what goes instead of reading paths."""

from __future__ import annotations

import time
from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from photoorg.core.app.api import display_name, photo_key
from photoorg.ui.thumbstore import ThumbnailStore

TILE = 180


def size_text(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} KB"


def _date_text(member: Any) -> str:
    when = member.date
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(when)) if when else "date unknown"


class TrashConfirmDialog(QDialog):
    """``group``: a ``core.duplicates.Group``; ``photo_ids``: the ones to trash."""

    def __init__(self, group: Any, photo_ids: list[int], store: ThumbnailStore,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trashConfirm")
        n = len(photo_ids)
        self.setWindowTitle("Move to the trash")
        self.photo_ids = list(photo_ids)
        self._store = store
        self.pictures: dict[str, QLabel] = {}  # thumbnail key -> its label
        self.paths: dict[str, str] = {}  # thumbnail key -> the file it shows
        keep = group.member(group.keep)
        intro = QLabel(f"<b>Move {n} file{'s' if n != 1 else ''} to the trash?</b> You keep "
                       f"the photo on the left. The trash can give them back (and so can "
                       "Undo).")
        intro.setTextFormat(Qt.TextFormat.RichText)
        intro.setWordWrap(True)
        row = QHBoxLayout()
        row.setSpacing(12)
        row.addWidget(self._tile(keep, "Keep"))
        for pid in photo_ids:
            m = group.member(pid)
            label = {"exact": "Exact copy", "edited": "Edited copy"}.get(m.kind, "Copy")
            row.addWidget(self._tile(m, f"To the trash · {label}"))
        row.addStretch(1)
        strip = QWidget()
        strip.setLayout(row)
        scroll = QScrollArea()
        scroll.setWidget(strip)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setMinimumHeight(TILE + 130)
        self.buttons = QDialogButtonBox()
        self.confirm_button = self.buttons.addButton(
            f"Move {n} to the trash", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setDefault(True)  # Enter never trashes by accident
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.buttons)
        self.resize(min(1200, 80 + (TILE + 40) * (n + 1)), TILE + 230)
        store.updated.connect(self._arrived)

    def _tile(self, m: Any, badge: str) -> QWidget:
        box = QFrame()
        box.setObjectName("trashTile")
        layout = QVBoxLayout(box)
        picture = QLabel()
        picture.setFixedSize(TILE, TILE)
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        picture.setStyleSheet("background: palette(base); border-radius: 6px;")
        picture.setToolTip(display_name(str(m.path)))
        key = photo_key(m.id, m.content_hash, m.size, m.mtime)
        self.pictures[key] = picture
        self.paths[key] = str(m.path)
        self._show(key)
        dims = f"{m.width:,} × {m.height:,}" if m.pixels else "size unknown"
        name, folder = escape(display_name(m.path.name)), escape(display_name(str(m.path.parent)))
        caption = QLabel(f"<b>{badge}</b><br>{name}<br>{dims} · {size_text(m.size)}"
                         f"<br>{_date_text(m)}<br><span style='color: gray'>{folder}</span>")
        caption.setTextFormat(Qt.TextFormat.RichText)
        caption.setWordWrap(True)
        caption.setFixedWidth(TILE)
        caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(picture)
        layout.addWidget(caption)
        layout.addStretch(1)
        return box

    def _show(self, key: str) -> None:
        pixmap = self._store.pixmap(key, self.paths[key])
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            self.pictures[key].setPixmap(pixmap.scaled(
                TILE, TILE, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))

    def _arrived(self, keys: list[str]) -> None:
        for key in keys:
            if key in self.pictures:
                self._show(key)

    def shown_files(self) -> dict[str, bool]:
        """Each file the dialog names, and whether its thumbnail is on screen."""
        return {self.paths[k]: bool(p.pixmap() is not None and not p.pixmap().isNull())
                for k, p in self.pictures.items()}
