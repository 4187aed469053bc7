"""The Duplicates page: copies of the same photo in groups (decided by their pixels, never by
a model alone), the one to keep suggested and why, each other photo marked an exact copy
(ticked for the trash) or an edited copy (crop, brightness: shown for review, never ticked);
groups never chain. Per group "Keep suggested, move the ticked to the trash" (after a
confirmation showing the photos) and "Not duplicates" (remembered). The threshold control is
the CLIP cosine at which pairs are proposed for the pixel check."""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from photoorg.core.app.api import display_name, photo_key
from photoorg.ui.thumbstore import ThumbnailStore
from photoorg.ui.views.trash_confirm import TrashConfirmDialog
from photoorg.ui.views.trash_confirm import size_text as _size_text

SHOWN_GROUPS = 100  # more are listed after the user deals with these
TILE = 150
_KIND = {"exact": "Exact copy", "edited": "Edited copy · review"}


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
        exact, edited = len(group.others), len(group.edited)
        parts = [f"{exact} exact cop{'ies' if exact != 1 else 'y'}"] if exact else []
        if edited:
            parts.append(f"{edited} edited cop{'ies' if edited != 1 else 'y'} to review")
        kept = escape(display_name(keep.path.name))
        self.header = QLabel(f"<b>{n} photos</b> · keep <b>{kept}</b>: {group.why}"
                             f" · {', '.join(parts)} (compared pixel by pixel)")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.tiles: dict[str, QLabel] = {}
        self.ticks: dict[int, QCheckBox] = {}  # photo id -> "to the trash"
        self._store = store
        row = QHBoxLayout()
        row.setSpacing(10)
        for m in group.members:
            tile = QVBoxLayout()
            picture = QLabel()
            picture.setFixedSize(TILE, TILE)
            picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
            picture.setStyleSheet("background: palette(base); border-radius: 6px;")
            picture.setToolTip(display_name(str(m.path)))
            key = photo_key(m.id, m.content_hash, m.size, m.mtime)
            self.tiles[key] = picture
            self._show(key, str(m.path))
            badge = "Keep" if m.id == group.keep else _KIND.get(m.kind, m.kind)
            how = f" ({m.how})" if m.id != group.keep and m.how not in ("", "same") else ""
            dims = f"{m.width:,} × {m.height:,}" if m.pixels else "size unknown"
            offline = "" if m.online else " · offline"
            name = escape(display_name(m.path.name))
            caption = QLabel(f"<b>{badge}</b>{how}<br>{name}<br>{dims} · "
                             f"{_size_text(m.size)}{offline}")
            caption.setTextFormat(Qt.TextFormat.RichText)
            caption.setWordWrap(True)
            caption.setFixedWidth(TILE)
            tile.addWidget(picture)
            tile.addWidget(caption)
            if m.id != group.keep:
                tick = QCheckBox("Move to the trash")
                tick.setChecked(m.id in group.others)  # edited copies: never pre-selected
                tick.setEnabled(m.online)
                tick.toggled.connect(self._update_button)
                self.ticks[m.id] = tick
                tile.addWidget(tick)
            row.addLayout(tile)
        row.addStretch(1)
        self.trash_button = QPushButton()
        self.trash_button.clicked.connect(lambda: self.trash_requested.emit(self.ticked()))
        self._update_button()
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

    def ticked(self) -> list[int]:
        return [pid for pid, tick in self.ticks.items() if tick.isChecked()]

    def _update_button(self) -> None:
        n = len(self.ticked())
        self.trash_button.setText(f"Keep suggested, move {n} to the trash" if n
                                  else "Keep suggested (tick copies to move to the trash)")
        self.trash_button.setEnabled(n > 0)

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
        self.confirmation: TrashConfirmDialog | None = None
        self.summary = QLabel("Looking for copies of the same photo…")
        self.summary.setObjectName("pageHint")
        self.summary.setWordWrap(True)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.80, 1.00)
        self.threshold.setSingleStep(0.01)
        self.threshold.setDecimals(2)
        self.threshold.setValue(0.95)
        self.threshold.setPrefix("Check pairs alike at least ")
        self.threshold.setToolTip("The search model proposes pairs at least this alike; "
                                  "their pixels decide whether they are copies (lower "
                                  "checks more pairs; it never makes the check looser)")
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
        edited = sum(len(g.edited) for g in groups)
        if not groups:
            self.summary.setText("No copies of the same photo found (photos only alike in "
                                 "what they show are for Find similar).")
        else:
            more = (f" Showing the first {SHOWN_GROUPS}." if len(groups) > SHOWN_GROUPS else "")
            review = (f"; {edited:,} edited cop{'ies' if edited != 1 else 'y'} to review "
                      "(never ticked)" if edited else "")
            self.summary.setText(
                f"{len(groups):,} group{'s' if len(groups) != 1 else ''} of copies; "
                f"keeping the suggested photo of each would free {extra:,} exact "
                f"cop{'ies' if extra != 1 else 'y'}{review}. Files go to the system trash, "
                f"never deleted outright.{more}")

    def confirm_trash(self, photo_ids: list[int]) -> None:
        """Show the photos kept and to be trashed; trash only once the user confirms."""
        card = next((c for c in self.cards if set(photo_ids) <= {m.id for m in
                                                                   c.group.members}), None)
        if card is None or not photo_ids:
            return
        dialog = TrashConfirmDialog(card.group, list(photo_ids), self._store, self)
        self.confirmation = dialog

        def finished(result: int) -> None:
            if result == QDialog.DialogCode.Accepted:
                self.trash_requested.emit(list(photo_ids))
            self.confirmation = None
            dialog.deleteLater()

        dialog.finished.connect(finished)
        dialog.open()

    def _thumbnails(self, keys: list[str]) -> None:
        for card in self.cards:
            card.thumbnails_arrived(keys)
