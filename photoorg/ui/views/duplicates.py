"""The Duplicates page: near-identical photos in groups, the one to keep suggested and why,
how alike the others are to it (each at least the threshold: groups never chain); per group
"Keep suggested, move the others to the trash" (after a confirmation naming the files) and
"Not duplicates" (remembered). A threshold control says how alike photos must be."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from photoorg.core.app.api import photo_key
from photoorg.ui.thumbstore import ThumbnailStore

SHOWN_GROUPS = 100  # more are listed after the user deals with these
TILE = 150


def _size_text(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} KB"


class GroupCard(QFrame):
    trash_requested = Signal(list)  # photo ids to move to the trash
    dismiss_requested = Signal(list)  # all the group's photo ids
    open_requested = Signal(str)  # a path

    def __init__(self, group: Any, store: ThumbnailStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group = group
        self.setObjectName("duplicateGroup")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        keep = group.member(group.keep)
        n = len(group.members)
        alike = group.similarity * 100
        self.header = QLabel(f"<b>{n} photos</b> · keep <b>{keep.path.name}</b>: {group.why}"
                             f" · the other{'s' if n > 2 else ''} at least {alike:.1f}% "
                             "alike to it")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.tiles: dict[str, QLabel] = {}
        self._store = store
        row = QHBoxLayout()
        row.setSpacing(10)
        for m in sorted(group.members, key=lambda m: m.id != group.keep):
            tile = QVBoxLayout()
            picture = QLabel()
            picture.setFixedSize(TILE, TILE)
            picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
            picture.setStyleSheet("background: palette(base); border-radius: 6px;")
            picture.setToolTip(str(m.path))
            key = photo_key(m.id, m.content_hash, m.size, m.mtime)
            self.tiles[key] = picture
            self._show(key, str(m.path))
            badge = "Keep" if m.id == group.keep else "Goes to the trash"
            dims = f"{m.width:,} × {m.height:,}" if m.pixels else "size unknown"
            offline = "" if m.online else " · offline"
            caption = QLabel(f"<b>{badge}</b><br>{m.path.name}<br>{dims} · "
                             f"{_size_text(m.size)}{offline}")
            caption.setTextFormat(Qt.TextFormat.RichText)
            caption.setWordWrap(True)
            caption.setFixedWidth(TILE)
            tile.addWidget(picture)
            tile.addWidget(caption)
            row.addLayout(tile)
        row.addStretch(1)
        self.trash_button = QPushButton(f"Keep suggested, move the other"
                                        f"{'s' if n > 2 else ''} to the trash")
        self.trash_button.setEnabled(all(m.online for m in group.members if m.id != group.keep))
        self.trash_button.clicked.connect(lambda: self.trash_requested.emit(list(group.others)))
        self.dismiss_button = QPushButton("Not duplicates")
        self.dismiss_button.setToolTip("Remember that these are different photos")
        self.dismiss_button.clicked.connect(
            lambda: self.dismiss_requested.emit([m.id for m in group.members]))
        buttons = QHBoxLayout()
        buttons.addWidget(self.trash_button)
        buttons.addWidget(self.dismiss_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addLayout(row)
        layout.addLayout(buttons)

    def _show(self, key: str, path: str) -> None:
        pixmap = self._store.pixmap(key, path)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            ratio = self.devicePixelRatioF()  # as many pixels as the screen shows
            tile = pixmap.scaled(round(TILE * ratio), round(TILE * ratio),
                                 Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
            tile.setDevicePixelRatio(ratio)
            self.tiles[key].setPixmap(tile)

    def thumbnails_arrived(self, keys: list[str]) -> None:
        for key in keys:
            if key in self.tiles:
                tip = self.tiles[key].toolTip()
                self._show(key, tip)


class DuplicatesPage(QWidget):
    threshold_changed = Signal(float)
    trash_requested = Signal(list)  # photo ids (confirmed by the user)
    dismiss_requested = Signal(list)  # photo ids of one group

    def __init__(self, store: ThumbnailStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self.cards: list[GroupCard] = []
        self.title = QLabel("Duplicates")
        self.title.setObjectName("pageTitle")
        self.summary = QLabel("Looking for near-identical photos…")
        self.summary.setObjectName("pageHint")
        self.summary.setWordWrap(True)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.80, 1.00)
        self.threshold.setSingleStep(0.01)
        self.threshold.setDecimals(2)
        self.threshold.setValue(0.95)
        self.threshold.setPrefix("Alike at least ")
        self.threshold.setToolTip("How alike a photo must be to the one kept to count as "
                                  "its duplicate (1.00: identical; lower finds more, and "
                                  "more mistakes)")
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(400)
        self._debounce.timeout.connect(lambda: self.threshold_changed.emit(self.value()))
        self.threshold.valueChanged.connect(lambda _v: self._debounce.start())
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.threshold)
        self.list_widget = QWidget()
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.setContentsMargins(0, 0, 8, 0)
        self.list_layout.setSpacing(12)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(self.list_widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 8, 0)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(self.summary)
        layout.addWidget(scroll, 1)
        store.updated.connect(self._thumbnails)

    def value(self) -> float:
        return round(self.threshold.value(), 2)

    def set_groups(self, threshold: float, groups: list[Any]) -> None:
        if abs(threshold - self.value()) > 1e-9:
            return  # an answer for a threshold the user has since changed
        for card in self.cards:
            card.hide()  # first: a focused button inside hands the focus on, in this window
            card.setParent(None)
            card.deleteLater()
        self.cards = []
        for group in groups[:SHOWN_GROUPS]:
            card = GroupCard(group, self._store)
            card.trash_requested.connect(self.confirm_trash)
            card.dismiss_requested.connect(self.dismiss_requested)
            self.list_layout.insertWidget(self.list_layout.count() - 1, card)
            self.cards.append(card)
        extra = sum(len(g.others) for g in groups)
        if not groups:
            self.summary.setText("No near-identical photos at this threshold.")
        else:
            more = (f" Showing the first {SHOWN_GROUPS}." if len(groups) > SHOWN_GROUPS else "")
            self.summary.setText(
                f"{len(groups):,} group{'s' if len(groups) != 1 else ''} of look-alikes; "
                f"keeping the suggested photo of each would free {extra:,} "
                f"file{'s' if extra != 1 else ''}. Files go to the system trash, never "
                f"deleted outright.{more}")

    def confirm_trash(self, photo_ids: list[int]) -> None:
        card = next((c for c in self.cards if set(photo_ids) <= {m.id for m in
                                                                   c.group.members}), None)
        if card is None:
            return
        names = [card.group.member(pid).path for pid in photo_ids]
        listed = "\n".join(f"• {p}" for p in names)
        answer = QMessageBox.question(
            self, "Move to the trash",
            f"Move {len(names)} file{'s' if len(names) != 1 else ''} to the trash?\n\n{listed}"
            f"\n\nYou keep {card.group.member(card.group.keep).path.name}. "
            "The trash can give them back.")
        if answer == QMessageBox.StandardButton.Yes:
            self.trash_requested.emit(list(photo_ids))

    def _thumbnails(self, keys: list[str]) -> None:
        for card in self.cards:
            card.thumbnails_arrived(keys)
