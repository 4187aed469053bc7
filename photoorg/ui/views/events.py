"""The Events page: outings and trips found by date and place ("Rome, 12–15 May 2024"),
each a suggested album to keep (it becomes an album) or dismiss (never suggested again).
Nothing becomes an album without the user's click."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photoorg.ui.thumbstore import ThumbnailStore

ID_ROLE = Qt.ItemDataRole.UserRole + 1
PHOTOS_ROLE = Qt.ItemDataRole.UserRole + 2
COVER = 72  # each cover's side, logical pixels
GAP = 4


class EventsPage(QWidget):
    keep_requested = Signal(int)  # event id
    dismiss_requested = Signal(int)
    show_requested = Signal(list, str)  # photo ids, title

    def __init__(self, store: ThumbnailStore | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._covers: dict[int, list[tuple[str, str]]] = {}
        self.title = QLabel("Events")
        self.title.setObjectName("pageTitle")
        self.summary = QLabel("")
        self.summary.setObjectName("pageHint")
        self.summary.setWordWrap(True)
        self.table = QTreeWidget()
        self.table.setHeaderLabels(["Event", "Photos", "From", "To"])
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setIconSize(QSize(3 * COVER + 2 * GAP, COVER))
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.table.itemDoubleClicked.connect(lambda item, _c: self._show(item))
        self.keep = QPushButton("Keep as album")
        self.keep.setToolTip("Make an album of this event's photos (they get the tag "
                             "Events › title)")
        self.keep.clicked.connect(lambda: self._emit(self.keep_requested))
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setToolTip("Don't suggest this event again (the photos stay)")
        self.dismiss.clicked.connect(lambda: self._emit(self.dismiss_requested))
        self.show_photos = QPushButton("Show photos")
        self.show_photos.clicked.connect(lambda: self._show(self.table.currentItem()))
        self.table.itemSelectionChanged.connect(self._selection_changed)
        buttons = QHBoxLayout()
        for button in (self.keep, self.dismiss, self.show_photos):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._selection_changed()
        if store is not None:
            store.updated.connect(self._thumbnails)

    def set_events(self, events: list[Any],
                   covers: dict[int, list[tuple[str, str]]] | None = None) -> None:
        """``events``: :class:`photoorg.core.groups.events.Event`, newest first; ``covers``:
        a few of each event's photos (thumbnail key, path) shown beside its title."""
        current = self.current_id()
        self._covers = covers or {}
        self.table.clear()
        for event in events:
            item = QTreeWidgetItem([event.title, f"{event.size:,}",
                                    event.start_iso().replace("T", " ")[:16],
                                    event.end_iso().replace("T", " ")[:16]])
            item.setData(0, ID_ROLE, event.id)
            item.setData(0, PHOTOS_ROLE, list(event.photo_ids))
            item.setToolTip(0, event.title)
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setIcon(0, self._cover_icon(int(event.id)))
            self.table.addTopLevelItem(item)
            if event.id == current:
                self.table.setCurrentItem(item)
        if events and self.table.currentItem() is None:
            self.table.setCurrentItem(self.table.topLevelItem(0))
        n = len(events)
        self.summary.setText(
            f"{n:,} event{'s' if n != 1 else ''} found by date and place. Keep one to make "
            "it an album; dismissed events are not suggested again." if n else
            "No events to suggest. Photos with capture dates are split into outings and "
            "trips here.")
        self._selection_changed()

    def cover_count(self, row: int) -> int:
        """How many of the row's covers are drawn (their thumbnails arrived)."""
        item = self.table.topLevelItem(row)
        if item is None or self._store is None:
            return 0
        return sum(self._store.pixmap(key, path) is not None
                   for key, path in self._covers.get(int(item.data(0, ID_ROLE)), []))

    def _cover_icon(self, event_id: int) -> QIcon:
        """The event's covers side by side; a placeholder square until each arrives."""
        ratio = self.devicePixelRatioF()
        width = 3 * COVER + 2 * GAP
        strip = QPixmap(round(width * ratio), round(COVER * ratio))
        strip.setDevicePixelRatio(ratio)
        strip.fill(Qt.GlobalColor.transparent)
        painter = QPainter(strip)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        for i, (key, path) in enumerate(self._covers.get(event_id, [])):
            box = QRect(i * (COVER + GAP), 0, COVER, COVER)
            pixmap = self._store.pixmap(key, path) if self._store is not None else None
            if pixmap is None or pixmap.isNull():
                painter.fillRect(box, QColor(128, 128, 128, 60))
                continue
            side = min(pixmap.width(), pixmap.height())  # a centred square of the photo
            source = QRect((pixmap.width() - side) // 2, (pixmap.height() - side) // 2,
                           side, side)
            painter.drawPixmap(box, pixmap, source)
        painter.end()
        return QIcon(strip)

    def _thumbnails(self, keys: list[str]) -> None:
        wanted = set(keys)
        for row in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(row)
            event_id = int(item.data(0, ID_ROLE))
            if any(key in wanted for key, _path in self._covers.get(event_id, [])):
                item.setIcon(0, self._cover_icon(event_id))

    def row_count(self) -> int:
        return self.table.topLevelItemCount()

    def current_id(self) -> int | None:
        item = self.table.currentItem()
        return None if item is None else int(item.data(0, ID_ROLE))

    def _emit(self, signal: Any) -> None:
        event_id = self.current_id()
        if event_id is not None:
            signal.emit(event_id)

    def _show(self, item: QTreeWidgetItem | None) -> None:
        if item is not None:
            self.show_requested.emit(list(item.data(0, PHOTOS_ROLE)), item.text(0))

    def _selection_changed(self) -> None:
        on = self.table.currentItem() is not None
        for button in (self.keep, self.dismiss, self.show_photos):
            button.setEnabled(on)
