"""The thumbnail grid: a ``QListView`` over :class:`PhotoListModel` that stays smooth at 100k
photos (uniform item sizes, batched layout, list-mode wrapping flow) and paints thumbnails
with a small delegate."""

from __future__ import annotations

import collections

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from photoorg.ui.models.photos import PhotoRole
from photoorg.ui.views.empty import paint_empty_text

Index = QModelIndex | QPersistentModelIndex

MIN_THUMB, MAX_THUMB, DEFAULT_THUMB = 96, 320, 168
PAD = 6
RADIUS = 6.0


def justified_width(view: QListView, minimum: int) -> int:
    """Cell width that spreads whole columns over the view's width (no ragged right edge)."""
    spacing = 2 * view.spacing()
    available = view.viewport().width() - spacing - 1
    columns = max(1, available // (minimum + spacing))
    return max(minimum, available // columns - spacing)


class ThumbnailDelegate(QStyledItemDelegate):
    """A rounded thumbnail, fitted into a square, with the file name under it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumb = DEFAULT_THUMB
        self.cell_width = DEFAULT_THUMB + 2 * PAD  # set by the view to fill its width
        self.show_names = True
        self._scaled: collections.OrderedDict[tuple[int, int], QPixmap] = (
            collections.OrderedDict()
        )

    def caption_height(self, option: QStyleOptionViewItem) -> int:
        return option.fontMetrics.height() + 4 if self.show_names else 0

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        return QSize(self.cell_width, self.thumb + 2 * PAD + self.caption_height(option))

    def _fitted(self, pixmap: QPixmap, side: int) -> QPixmap:
        key = (pixmap.cacheKey(), side)
        found = self._scaled.get(key)
        if found is None:
            ratio = pixmap.devicePixelRatio() or 1.0
            found = pixmap.scaled(
                QSize(side, side) * ratio, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            found.setDevicePixelRatio(ratio)
            self._scaled[key] = found
            if len(self._scaled) > 300:
                self._scaled.popitem(last=False)
        else:
            self._scaled.move_to_end(key)
        return found

    @staticmethod
    def _paint_chip(painter: QPainter, option: QStyleOptionViewItem, box: QRect,
                    text: str) -> None:
        """Why a search result matched ("place", "text", ...), over the thumbnail's corner."""
        metrics = option.fontMetrics
        width = min(box.width() - 8, metrics.horizontalAdvance(text) + 12)
        chip = QRectF(box.x() + 4, box.y() + 4, width, metrics.height() + 4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 24, 30, 190))
        painter.drawRoundedRect(chip, chip.height() / 2, chip.height() / 2)
        painter.setPen(QColor(255, 255, 255))
        elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(width) - 10)
        painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, elided)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = option.palette
        cell = QRectF(option.rect).adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected or hover:
            color = QColor(palette.color(QPalette.ColorRole.Highlight))
            color.setAlpha(70 if selected else 28)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(cell, RADIUS + 2, RADIUS + 2)

        box = QRect(0, option.rect.y() + PAD, self.thumb, self.thumb)
        box.moveLeft(option.rect.x() + (option.rect.width() - self.thumb) // 2)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            fitted = self._fitted(pixmap, self.thumb)
            size = fitted.deviceIndependentSize().toSize()
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(box.center())
            path = QPainterPath()
            path.addRoundedRect(QRectF(target), RADIUS, RADIUS)
            painter.setClipPath(path)
            painter.drawPixmap(target, fitted)
            painter.setClipping(False)
        else:
            placeholder = QColor(palette.color(QPalette.ColorRole.Mid))
            placeholder.setAlpha(60)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(placeholder)
            painter.drawRoundedRect(QRectF(box).adjusted(8, 8, -8, -8), RADIUS, RADIUS)
            if index.data(PhotoRole.Failed):
                painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "Can't preview")

        matched = index.data(PhotoRole.Matched)
        if matched:
            self._paint_chip(painter, option, box, " · ".join(matched))

        if selected:
            pen_color = palette.color(QPalette.ColorRole.Highlight)
            painter.setPen(pen_color)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(cell.adjusted(0.5, 0.5, -0.5, -0.5), RADIUS + 2, RADIUS + 2)

        if self.show_names:
            text_rect = QRect(box.x(), box.bottom() + 3, self.thumb,
                              option.fontMetrics.height())
            name = index.data(Qt.ItemDataRole.DisplayRole) or ""
            elided = option.fontMetrics.elidedText(name, Qt.TextElideMode.ElideMiddle,
                                                   self.thumb)
            role = QPalette.ColorRole.WindowText
            color = QColor(palette.color(role))
            if not selected:
                color.setAlpha(170)
            painter.setPen(color)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter, elided)
        painter.restore()


class PhotoGrid(QListView):
    """Grid of photos. Enter or double-click opens; Ctrl+wheel zooms."""

    open_requested = Signal(QModelIndex)
    zoom_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.delegate = ThumbnailDelegate(self)
        self.setItemDelegate(self.delegate)
        # List mode + left-to-right wrapping flow is the grid layout that scales: with
        # uniform item sizes Qt computes positions arithmetically (no per-item geometry).
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setMovement(QListView.Movement.Static)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMouseTracking(True)
        self.setSpacing(2)
        self.setUniformItemSizes(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.empty_text = ""
        self.doubleClicked.connect(self.open_requested)
        self.verticalScrollBar().setSingleStep(24)

    def set_thumb_size(self, size: int) -> None:
        size = max(MIN_THUMB, min(MAX_THUMB, size))
        if size == self.delegate.thumb:
            return
        self.delegate.thumb = size
        self.verticalScrollBar().setSingleStep(max(24, size // 4))
        self._fit_columns()
        self.zoom_changed.emit(size)

    def _fit_columns(self) -> None:
        """Spread the columns over the whole width (no ragged gap on the right)."""
        width = justified_width(self, self.delegate.thumb + 2 * PAD)
        if width != self.delegate.cell_width:
            self.delegate.cell_width = width
            self.scheduleDelayedItemsLayout()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        self._fit_columns()
        super().resizeEvent(event)

    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.selectionModel().selectedIndexes())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex())
            return
        super().keyPressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            step = 16 if event.angleDelta().y() > 0 else -16
            self.set_thumb_size(self.delegate.thumb + step)
            return
        super().wheelEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        super().paintEvent(event)
        paint_empty_text(self, self.empty_text, 40)
