"""The thumbnail grid: a timeline of photos under month headers, over
:class:`PhotoListModel`, that stays smooth at 100k photos: every position is arithmetic
(sections × rows of equal cells, found by bisection), so painting touches only what is on
screen; a date scrubber beside it jumps through the years."""

from __future__ import annotations

import bisect
import collections

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPixmap,
    QRegion,
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


def stack_text(count: int) -> str:
    """A stack tile's badge text (a drawn stack symbol goes before it: fonts lack one)."""
    return str(count)


def duration_text(seconds: float) -> str:
    """A video tile's badge: ``▶ m:ss`` (``h:mm:ss`` from an hour)."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"▶ {hours}:{minutes:02d}:{secs:02d}" if hours else f"▶ {minutes}:{secs:02d}"


class ThumbnailDelegate(QStyledItemDelegate):
    """A rounded thumbnail, fitted into a square, with the file name under it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumb = DEFAULT_THUMB
        self.cell_width = DEFAULT_THUMB + 2 * PAD  # set by the view to fill its width
        self.show_names = True
        self._scaled: collections.OrderedDict[tuple[int, int, float], QPixmap] = (
            collections.OrderedDict()
        )

    def caption_height(self, option: QStyleOptionViewItem) -> int:
        return option.fontMetrics.height() + 4 if self.show_names else 0

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        return QSize(self.cell_width, self.thumb + 2 * PAD + self.caption_height(option))

    def _fitted(self, pixmap: QPixmap, side: int, ratio: float = 1.0) -> QPixmap:
        """The thumbnail scaled to ``side`` logical pixels at the screen's device pixel
        ratio (scaled to logical pixels only, a 2x screen would stretch it: soft)."""
        key = (pixmap.cacheKey(), side, ratio)
        found = self._scaled.get(key)
        if found is None:
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

    def stack_badge_rect(self, cell: QRect, option: QStyleOptionViewItem | None = None,
                         text: str = "999") -> QRect:
        """Where a tile's stack badge is (top right of its thumbnail): clicking it opens
        the stack."""
        metrics = option.fontMetrics if option is not None else QFontMetrics(QFont())
        width = metrics.horizontalAdvance(text) + 14 + (
            metrics.height() if text.isdigit() else 0)
        right = cell.x() + (cell.width() + self.thumb) // 2
        return QRect(right - width - 4, cell.y() + PAD + 4, width, metrics.height() + 4)

    @staticmethod
    def _paint_badge(painter: QPainter, option: QStyleOptionViewItem, chip: QRect,
                     text: str, symbol: bool = False) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 24, 30, 200))
        painter.drawRoundedRect(QRectF(chip), chip.height() / 2, chip.height() / 2)
        white = QColor(255, 255, 255)
        text_box = QRect(chip)
        if symbol:  # two cards, one behind the other: "a stack"
            side = chip.height() * 0.42
            x, y = chip.x() + chip.height() * 0.38, chip.center().y() - side / 2 + 1.5
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(white)
            painter.drawRoundedRect(QRectF(x + 3, y - 3, side, side), 1.5, 1.5)
            painter.setBrush(QColor(20, 24, 30))
            painter.drawRoundedRect(QRectF(x, y, side, side), 1.5, 1.5)
            text_box.setLeft(int(x + side + 2))
        painter.setPen(white)
        painter.drawText(text_box, Qt.AlignmentFlag.AlignCenter, text)

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
            fitted = self._fitted(pixmap, self.thumb, painter.device().devicePixelRatioF())
            size = fitted.deviceIndependentSize().toSize()
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(box.center())
            path = QPainterPath()
            path.addRoundedRect(QRectF(target), RADIUS, RADIUS)
            painter.setClipPath(path)
            painter.drawPixmap(target, fitted)
            painter.setClipping(False)
            edge = QColor(palette.color(QPalette.ColorRole.Mid))  # white photos keep an edge
            edge.setAlpha(110)
            painter.setPen(edge)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(target).adjusted(0.5, 0.5, -0.5, -0.5), RADIUS, RADIUS)
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
        count = index.data(PhotoRole.StackCount)
        if count:
            chip = self.stack_badge_rect(option.rect, option)
            self._paint_badge(painter, option, chip, stack_text(count), symbol=True)
        elif (badge := index.data(PhotoRole.Stack)) is not None and badge.cover:
            self._paint_badge(painter, option, self.stack_badge_rect(option.rect, option,
                                                                     "Cover"), "Cover")
        duration = index.data(PhotoRole.Duration)
        if duration is not None:
            text = duration_text(duration)
            metrics = option.fontMetrics
            width = metrics.horizontalAdvance(text) + 14
            chip = QRect(box.right() - width - 4, box.bottom() - metrics.height() - 8,
                         width, metrics.height() + 4)
            self._paint_badge(painter, option, chip, text)

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


class PhotoGrid(QAbstractItemView):
    """Grid of photos in sections (month headers). Enter or double-click opens; Ctrl+wheel
    zooms. Layout is computed, not stored per item: ``_tops[s]`` is the y of section ``s``,
    its rows start at ``_starts[s]``."""

    open_requested = Signal(QModelIndex)
    stack_requested = Signal(QModelIndex)  # a stack's badge was clicked
    zoom_changed = Signal(int)
    layout_changed = Signal()  # sections moved (the scrubber repaints)

    MARGIN = 4

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # before anything below: Qt calls the overrides (updateGeometries) from here on
        self._titles: list[str] = []
        self._starts: list[int] = []
        self._tops: list[int] = []
        self._height = 0
        self._columns = 1
        self._cell = QSize(DEFAULT_THUMB + 2 * PAD, DEFAULT_THUMB + 2 * PAD)
        self._header = 0
        self._hover = -1
        self._band: QRect | None = None  # rubber band, in content coordinates
        self._press: QPoint | None = None
        self.delegate = ThumbnailDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMouseTracking(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setFrameShape(QAbstractItemView.Shape.NoFrame)
        self.empty_text = ""
        self.doubleClicked.connect(self.open_requested)
        self.verticalScrollBar().setSingleStep(24)

    # -- model ------------------------------------------------------------------------

    def setModel(self, model) -> None:  # noqa: N802, ANN001
        super().setModel(model)
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved,
                       model.layoutChanged):
            signal.connect(self._relayout)
        self._relayout()

    def _sections(self) -> list[tuple[int, str]]:
        model = self.model()
        sections = getattr(model, "sections", None)
        return list(sections()) if callable(sections) else []

    # -- layout -----------------------------------------------------------------------

    def _init_option(self, option: QStyleOptionViewItem) -> None:
        # not initViewItemOption: through PySide6 it corrupts the option (a crash at the
        # next garbage collection)
        option.initFrom(self.viewport())
        option.font = self.font()
        option.fontMetrics = self.fontMetrics()

    def _relayout(self) -> None:
        model = self.model()
        n = model.rowCount() if model is not None else 0
        option = QStyleOptionViewItem()
        self._init_option(option)
        width = max(1, self.viewport().width() - 2 * self.MARGIN)
        minimum = self.delegate.thumb + 2 * PAD
        self._columns = max(1, width // minimum)
        self.delegate.cell_width = width // self._columns
        self._cell = self.delegate.sizeHint(option, QModelIndex())
        sections = self._sections() if n else []
        if not sections and n:
            sections = [(0, "")]
        self._header = self.fontMetrics().height() * 2 + 12 if any(t for _s, t in sections) \
            else 0
        self._starts = [s for s, _t in sections]
        self._titles = [t for _s, t in sections]
        self._tops = []
        y = self.MARGIN
        for i, start in enumerate(self._starts):
            end = self._starts[i + 1] if i + 1 < len(self._starts) else n
            self._tops.append(y)
            lines = -(-(end - start) // self._columns)
            y += (self._header if self._titles[i] else 0) + lines * self._cell.height()
        self._height = y + self.MARGIN
        self.updateGeometries()
        self.viewport().update()
        self.layout_changed.emit()

    def updateGeometries(self) -> None:  # noqa: N802
        bar = self.verticalScrollBar()
        bar.setPageStep(self.viewport().height())
        bar.setRange(0, max(0, self._height - self.viewport().height()))
        super().updateGeometries()

    def content_height(self) -> int:
        return self._height

    def section_tops(self) -> list[tuple[int, str]]:
        """Each section's y in the content and its title (for the scrubber)."""
        return list(zip(self._tops, self._titles, strict=True))

    def section_at(self, y: int) -> int:
        """The section covering content y (-1 when there are none)."""
        return max(0, bisect.bisect_right(self._tops, y) - 1) if self._tops else -1

    def _section_of_row(self, row: int) -> int:
        return bisect.bisect_right(self._starts, row) - 1

    def _head(self, s: int) -> int:
        return self._header if self._titles[s] else 0

    def _row_rect(self, row: int) -> QRect:
        """A row's cell in content coordinates."""
        s = self._section_of_row(row)
        if s < 0:
            return QRect()
        k = row - self._starts[s]
        line, col = divmod(k, self._columns)
        return QRect(self.MARGIN + col * self._cell.width(),
                     self._tops[s] + self._head(s) + line * self._cell.height(),
                     self._cell.width(), self._cell.height())

    def _section_end(self, s: int) -> int:
        return self._starts[s + 1] if s + 1 < len(self._starts) else self.model().rowCount()

    def _row_at(self, x: int, y: int, clamp: bool = False) -> int:
        """The row at content (x, y); -1 on a header or a gap. ``clamp``: the nearest row
        on that line (or the section's first when on its header)."""
        s = self.section_at(y)
        if s < 0:
            return -1
        inner = y - self._tops[s] - self._head(s)
        end = self._section_end(s)
        if inner < 0:
            return self._starts[s] if clamp else -1
        line = inner // self._cell.height()
        col = (x - self.MARGIN) // self._cell.width()
        if not 0 <= col < self._columns:
            if not clamp:
                return -1
            col = max(0, min(self._columns - 1, col))
        row = self._starts[s] + line * self._columns + col
        if row >= end:
            return end - 1 if clamp else -1
        return row

    # -- QAbstractItemView --------------------------------------------------------------

    def visualRect(self, index: Index) -> QRect:  # noqa: N802
        if not index.isValid():
            return QRect()
        return self._row_rect(index.row()).translated(0, -self.verticalOffset())

    def indexAt(self, point: QPoint) -> QModelIndex:  # noqa: N802
        row = self._row_at(point.x(), point.y() + self.verticalOffset())
        return self.model().index(row, 0) if row >= 0 else QModelIndex()

    def scrollTo(self, index: Index, hint: QAbstractItemView.ScrollHint =  # noqa: N802
                 QAbstractItemView.ScrollHint.EnsureVisible) -> None:
        if not index.isValid():
            return
        rect = self._row_rect(index.row())
        bar = self.verticalScrollBar()
        top, height = bar.value(), self.viewport().height()
        s = self._section_of_row(index.row())
        first_line = index.row() - self._starts[s] < self._columns
        want_top = rect.top() - (self._head(s) if first_line else 0)
        if hint == QAbstractItemView.ScrollHint.PositionAtTop:
            bar.setValue(want_top)
        elif hint == QAbstractItemView.ScrollHint.PositionAtCenter:
            bar.setValue(rect.center().y() - height // 2)
        elif want_top < top:
            bar.setValue(want_top)
        elif rect.bottom() > top + height:
            bar.setValue(rect.bottom() - height + 1)

    def scroll_to_section(self, s: int) -> None:
        if 0 <= s < len(self._tops):
            self.verticalScrollBar().setValue(self._tops[s] - self.MARGIN)

    def horizontalOffset(self) -> int:  # noqa: N802
        return 0

    def verticalOffset(self) -> int:  # noqa: N802
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index: Index) -> bool:  # noqa: N802
        return False

    def moveCursor(self, action: QAbstractItemView.CursorAction,  # noqa: N802
                   modifiers: Qt.KeyboardModifier) -> QModelIndex:
        model = self.model()
        n = model.rowCount()
        if not n:
            return QModelIndex()
        current = self.currentIndex()
        row = current.row() if current.isValid() else 0
        A = QAbstractItemView.CursorAction  # noqa: N806
        if action in (A.MoveLeft, A.MovePrevious):
            row -= 1
        elif action in (A.MoveRight, A.MoveNext):
            row += 1
        elif action == A.MoveHome:
            row = 0
        elif action == A.MoveEnd:
            row = n - 1
        elif action in (A.MoveUp, A.MoveDown, A.MovePageUp, A.MovePageDown):
            rect = self._row_rect(row)
            step = self._cell.height() if action in (A.MoveUp, A.MoveDown) \
                else max(self._cell.height(), self.viewport().height() - self._cell.height())
            sign = -1 if action in (A.MoveUp, A.MovePageUp) else 1
            y = rect.center().y() + sign * step
            target = self._row_at(rect.center().x(), y, clamp=True)
            if target >= 0 and self._section_of_row(target) != self._section_of_row(row) \
                    and sign < 0 and y - self._tops[self.section_at(y)] < self._head(
                        self.section_at(y)):
                target = self._row_at(rect.center().x(), y - self._header, clamp=True)
            if target == row or target < 0:
                target = 0 if sign < 0 and y < 0 else (n - 1 if y >= self._height else row)
            row = target
        row = max(0, min(n - 1, row))
        return model.index(row, 0)

    def setSelection(self, rect: QRect, flags: QItemSelectionModel.SelectionFlag) -> None:  # noqa: N802
        content = rect.normalized().translated(0, self.verticalOffset())
        selection = QItemSelection()
        model = self.model()
        for s in range(max(0, self.section_at(content.top())),
                       self.section_at(content.bottom()) + 1):
            top = self._tops[s] + self._head(s)
            end = self._section_end(s)
            first_col = max(0, (content.left() - self.MARGIN) // self._cell.width())
            last_col = min(self._columns - 1, (content.right() - self.MARGIN) // self._cell.width())
            if last_col < first_col:
                continue
            first_line = max(0, (content.top() - top) // self._cell.height())
            last_line = (content.bottom() - top) // self._cell.height()
            for line in range(first_line, last_line + 1):
                a = self._starts[s] + line * self._columns + first_col
                b = min(end - 1, self._starts[s] + line * self._columns + last_col)
                if a >= end:
                    break
                if a <= b:
                    selection.select(model.index(a, 0), model.index(b, 0))
        self.selectionModel().select(selection, flags)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:  # noqa: N802
        region = QRegion()
        view = self.viewport().rect()
        for rng in selection:
            for row in range(rng.top(), rng.bottom() + 1):
                rect = self.visualRect(self.model().index(row, 0))
                if rect.intersects(view):
                    region += rect
                elif rect.top() > view.bottom():
                    break
        return region

    # -- painting -------------------------------------------------------------------------

    def visible_rows(self) -> range:
        """Rows whose cells intersect the viewport."""
        top = self.verticalOffset()
        bottom = top + self.viewport().height()
        first = self._row_at(0, top, clamp=True)
        if first < 0:
            return range(0)
        last = self._row_at(self.viewport().width(), bottom, clamp=True)
        return range(first, (last if last >= 0 else self.model().rowCount() - 1) + 1)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self.viewport())
        offset = self.verticalOffset()
        exposed = event.rect()
        model = self.model()
        if model is not None and model.rowCount():
            option = QStyleOptionViewItem()
            self._init_option(option)
            selection = self.selectionModel()
            current = self.currentIndex()
            top, bottom = offset + exposed.top(), offset + exposed.bottom()
            first_s = max(0, self.section_at(top))
            last_s = self.section_at(bottom)
            heading = QFont(self.font())
            heading.setPointSizeF(heading.pointSizeF() * 1.15)
            heading.setWeight(QFont.Weight.DemiBold)
            for s in range(first_s, last_s + 1):
                if self._titles[s]:
                    head = QRect(self.MARGIN + PAD, self._tops[s] - offset,
                                 self.viewport().width() - 2 * (self.MARGIN + PAD),
                                 self._header)
                    if head.intersects(exposed):
                        painter.setFont(heading)
                        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
                        painter.drawText(head.adjusted(0, 0, 0, -4),
                                         Qt.AlignmentFlag.AlignLeft
                                         | Qt.AlignmentFlag.AlignBottom, self._titles[s])
                        painter.setFont(self.font())
            first = self._row_at(0, top, clamp=True)
            last = self._row_at(self.viewport().width(), bottom, clamp=True)
            if first >= 0:
                for row in range(first, max(first, last) + 1):
                    index = model.index(row, 0)
                    rect = self._row_rect(row).translated(0, -offset)
                    if not rect.intersects(exposed):
                        continue
                    option.rect = rect
                    state = QStyle.StateFlag.State_Enabled
                    if selection is not None and selection.isSelected(index):
                        state |= QStyle.StateFlag.State_Selected
                    if row == self._hover:
                        state |= QStyle.StateFlag.State_MouseOver
                    if index == current and self.hasFocus():
                        state |= QStyle.StateFlag.State_HasFocus
                    option.state = state
                    self.delegate.paint(painter, option, index)
            if self._band is not None:
                band = QRect(self._band).translated(0, -offset)
                color = QColor(self.palette().color(QPalette.ColorRole.Highlight))
                painter.setPen(color)
                color.setAlpha(40)
                painter.setBrush(color)
                painter.drawRect(band)
        painter.end()
        paint_empty_text(self, self.empty_text, 40)

    # -- events -----------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        anchor = self._row_at(0, self.verticalOffset(), clamp=True)
        self._relayout()
        if anchor >= 0:
            self.scrollTo(self.model().index(anchor, 0),
                          QAbstractItemView.ScrollHint.PositionAtTop)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._press = event.position().toPoint()
        self._band = None
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position().toPoint()
        row = self._row_at(pos.x(), pos.y() + self.verticalOffset())
        if row != self._hover:
            self._hover = row
            self.viewport().update()
        if (self._press is not None and event.buttons() & Qt.MouseButton.LeftButton
                and self.state() == QAbstractItemView.State.DragSelectingState):
            self._band = QRect(self._press + QPoint(0, self.verticalOffset()),
                               pos + QPoint(0, self.verticalOffset())).normalized()
            self.viewport().update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position().toPoint()
        index = self.indexAt(pos)
        if (self._band is None and event.button() == Qt.MouseButton.LeftButton
                and index.isValid() and index.data(PhotoRole.StackCount)
                and self.delegate.stack_badge_rect(self.visualRect(index)).contains(pos)):
            self.stack_requested.emit(index)
        self._press = None
        if self._band is not None:
            self._band = None
            self.viewport().update()
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self._hover = -1
        self.viewport().update()
        super().leaveEvent(event)

    def set_thumb_size(self, size: int) -> None:
        size = max(MIN_THUMB, min(MAX_THUMB, size))
        if size == self.delegate.thumb:
            return
        anchor = self._row_at(0, self.verticalOffset(), clamp=True)
        self.delegate.thumb = size
        self.verticalScrollBar().setSingleStep(max(24, size // 4))
        self._relayout()
        if anchor >= 0:
            self.scrollTo(self.model().index(anchor, 0),
                          QAbstractItemView.ScrollHint.PositionAtTop)
        self.zoom_changed.emit(size)

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


class DateScrubber(QWidget):
    """A strip beside the timeline: its years, spread by where they start; click or drag
    to jump (the month under the pointer is shown while dragging)."""

    WIDTH = 52

    def __init__(self, grid: PhotoGrid, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = grid
        self.setFixedWidth(self.WIDTH)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._label = ""
        self._pointer: int | None = None
        self._dragging = False
        grid.layout_changed.connect(self._refresh)
        grid.verticalScrollBar().valueChanged.connect(lambda _v: self.update())
        self.setToolTip("Jump to a date")
        self._refresh()

    def _refresh(self) -> None:
        titles = [t for _y, t in self.grid.section_tops()]
        self.setVisible(len(titles) > 1)
        self.update()

    def years(self) -> list[tuple[float, str]]:
        """(fraction of the height, label) where each year (or the undated part) starts."""
        total = max(1, self.grid.content_height())
        out: list[tuple[float, str]] = []
        seen: set[str] = set()
        for y, title in self.grid.section_tops():
            label = title.split(" · ")[0].rsplit(" ", 1)[-1] if title else ""
            if " · " in title or not label.isdigit():
                label = "No date" if "No date" not in seen and " · " in title else label
                if not label or label in seen or not label[:1].isalpha():
                    continue
            if label in seen:
                continue
            seen.add(label)
            out.append((y / total, label))
        return out

    def jump_to(self, fraction: float) -> str:
        """Scroll the grid to this fraction of the timeline; returns the month there."""
        fraction = max(0.0, min(1.0, fraction))
        y = round(fraction * self.grid.content_height())
        s = self.grid.section_at(y)
        bar = self.grid.verticalScrollBar()
        # what is at that point of the timeline goes to the top (not the middle: a year's
        # first month would then sit under the end of the year before)
        bar.setValue(min(y, bar.maximum()) if fraction < 1 else bar.maximum())
        tops = self.grid.section_tops()
        return tops[s][1] if 0 <= s < len(tops) else ""

    def label_height(self) -> int:
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        return QFontMetrics(small).height()

    def year_at(self, y: float) -> tuple[float, str] | None:
        """The year label drawn at this height, if any: (its fraction, its text)."""
        line = self.label_height()
        for fraction, label in self.years():
            top = int(fraction * (self.height() - line))
            if top <= y < top + line:
                return fraction, label
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._dragging = True
        hit = self.year_at(event.position().y())
        if hit is not None:  # a click on "2018": that year's photos from the top
            self._label = self.jump_to(hit[0])
            self._pointer = int(event.position().y())
            self.update()
            return
        self._move(event.position().y())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._pointer = int(event.position().y())
        if self._dragging:
            self._move(event.position().y())
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._dragging = False
        self._label = ""
        self.update()

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self._pointer = None
        self.update()

    def _move(self, y: float) -> None:
        self._label = self.jump_to(y / max(1, self.height()))
        self._pointer = int(y)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        height = self.height()
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        painter.setFont(small)
        line = self.label_height()
        last_y = -line
        quiet = palette.color(QPalette.ColorRole.PlaceholderText)
        for fraction, label in self.years():
            y = int(fraction * (height - line))
            if y < last_y + line:
                continue
            last_y = y
            painter.setPen(quiet)
            painter.drawText(QRect(0, y, self.width() - 6, line),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, label)
        bar = self.grid.verticalScrollBar()
        span = bar.maximum() + bar.pageStep()
        if span > 0:
            y = int(bar.value() / span * height)
            h = max(6, int(bar.pageStep() / span * height))
            color = QColor(palette.color(QPalette.ColorRole.Highlight))
            color.setAlpha(160)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(QRectF(self.width() - 4, y, 3, h), 1.5, 1.5)
        if self._dragging and self._label and self._pointer is not None:
            painter.setPen(palette.color(QPalette.ColorRole.HighlightedText))
            text_w = painter.fontMetrics().horizontalAdvance(self._label) + 12
            box = QRect(0, max(0, self._pointer - line), min(self.width(), text_w), line + 4)
            painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(QRectF(box), 4, 4)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._label)
