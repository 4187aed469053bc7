"""The clusters page: a card per person, pet, place or scene.

Click a card to see its photos; click its name (or F2) to rename inline; an unnamed pet,
scene or place may show a suggested name ("“beach”? 82%"): one click on it names the
cluster, nothing is named otherwise; drag a card onto another, or select several and
"Merge", to merge; "Hide" keeps a cluster out of the way.
"""

from __future__ import annotations

from PySide6.QtCore import (
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
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLabel,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from photoorg.ui.models.clusters import ClusterListModel, ClusterRole
from photoorg.ui.views.empty import paint_empty_text
from photoorg.ui.views.grid import justified_width

Index = QModelIndex | QPersistentModelIndex

COVER = 132
CARD_W = COVER + 36
PAD = 10


class ClusterDelegate(QStyledItemDelegate):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cell_width = CARD_W  # set by the view to fill its width

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        line = option.fontMetrics.height()
        return QSize(self.cell_width, PAD + COVER + 8 + 3 * (line + 2) + PAD)

    def name_rect(self, option_rect: QRect, line: int) -> QRect:
        left = option_rect.x() + (option_rect.width() - CARD_W) // 2
        return QRect(left + 6, option_rect.y() + PAD + COVER + 8, CARD_W - 12, line + 2)

    def suggestion_rect(self, option_rect: QRect, line: int) -> QRect:
        """Under the count: "“beach”? 82%" -- one click names the cluster."""
        return self.name_rect(option_rect, line).translated(0, 2 * (line + 2))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = option.palette
        card_rect = QRect(0, option.rect.y(), CARD_W, option.rect.height())
        card_rect.moveLeft(option.rect.x() + (option.rect.width() - CARD_W) // 2)
        rect = QRectF(card_rect).adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        card = QColor(palette.color(QPalette.ColorRole.Base))
        painter.setPen(QColor(palette.color(QPalette.ColorRole.Mid)).lighter(115))
        if selected:
            highlight = QColor(palette.color(QPalette.ColorRole.Highlight))
            painter.setPen(highlight)
            highlight.setAlpha(40)
            card = highlight
        elif hover:
            card = card.darker(104)
        painter.setBrush(card)
        painter.drawRoundedRect(rect, 10, 10)

        cover = QRect(0, 0, COVER, COVER)
        cover.moveCenter(QPoint(option.rect.center().x(), option.rect.y() + PAD + COVER // 2))
        path = QPainterPath()
        if index.data(ClusterRole.Round):
            path.addEllipse(QRectF(cover))
        else:
            path.addRoundedRect(QRectF(cover), 8, 8)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        painter.setClipPath(path)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            # in device pixels: on a 2x screen the cover has twice the pixels to fill
            ratio = painter.device().devicePixelRatioF()
            scaled = pixmap.scaled(cover.size() * ratio,
                                   Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                                   Qt.TransformationMode.SmoothTransformation)
            scaled.setDevicePixelRatio(1.0)  # the source rectangle below is in its pixels
            source = QRect(0, 0, round(cover.width() * ratio), round(cover.height() * ratio))
            source.moveCenter(scaled.rect().center())
            if scaled.height() > scaled.width():  # portraits: faces sit in the upper part
                source.moveTop(int((scaled.height() - source.height()) * 0.2))
            painter.drawPixmap(cover, scaled, source)
        else:
            placeholder = QColor(palette.color(QPalette.ColorRole.Mid))
            placeholder.setAlpha(70)
            painter.fillRect(cover, placeholder)
        painter.setClipping(False)

        line = option.fontMetrics.height()
        name_rect = self.name_rect(option.rect, line)
        named = bool(index.data(ClusterRole.Named))
        font = QFont(option.font)
        font.setBold(named)
        painter.setFont(font)
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        color = QColor(palette.color(QPalette.ColorRole.Text))
        if not named and text in ("", "Unnamed"):  # a suggested name ("cat") shows as is,
            text = "Add a name"  # as the page's title will when the card is opened
            color = QColor(palette.color(QPalette.ColorRole.Link))
        painter.setPen(color)
        elided = painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                                  name_rect.width())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignHCenter, elided)
        painter.setFont(option.font)
        count = int(index.data(ClusterRole.Count) or 0)
        muted = QColor(palette.color(QPalette.ColorRole.Text))
        muted.setAlpha(150)
        painter.setPen(muted)
        count_rect = name_rect.translated(0, line + 2)
        painter.drawText(count_rect, Qt.AlignmentFlag.AlignHCenter,
                         f"{count:,} photo" + ("" if count == 1 else "s"))
        suggestion = index.data(ClusterRole.Suggestion)
        if suggestion:
            name, confidence = suggestion
            hint_rect = self.suggestion_rect(option.rect, line)
            sure = f"{confidence:.0%}" if confidence < 0.995 else ">99%"
            hint = painter.fontMetrics().elidedText(
                f"“{name}”? {sure}", Qt.TextElideMode.ElideMiddle, hint_rect.width())
            painter.setPen(QColor(palette.color(QPalette.ColorRole.Link)))
            painter.drawText(hint_rect, Qt.AlignmentFlag.AlignHCenter, hint)
        painter.restore()

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem,  # noqa: N802
                             index: Index) -> None:
        rect = self.name_rect(option.rect, option.fontMetrics.height())
        editor.setGeometry(rect.adjusted(0, -3, 0, 3))


class ClusterView(QListView):
    """Cards in a wrapping grid. Clicking a name edits it, clicking the cover opens."""

    open_requested = Signal(QModelIndex)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cards = ClusterDelegate(self)
        self.setItemDelegate(self.cards)
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setSpacing(6)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragDropOverwriteMode(True)
        self.setDropIndicatorShown(True)
        self.setMovement(QListView.Movement.Snap)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.empty_text = ""
        self._press: QPoint | None = None

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        width = justified_width(self, CARD_W)
        if width != self.cards.cell_width:
            self.cards.cell_width = width
            self.scheduleDelayedItemsLayout()
        super().resizeEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        pos = event.position().toPoint()
        pressed, self._press = self._press, None
        if (event.button() != Qt.MouseButton.LeftButton or pressed is None
                or (pos - pressed).manhattanLength() > QApplication.startDragDistance()
                or QApplication.keyboardModifiers() != Qt.KeyboardModifier.NoModifier):
            return
        index = self.indexAt(pos)
        if not index.isValid():
            return
        line = self.fontMetrics().height()
        name = self.cards.name_rect(self.visualRect(index), line)
        hint = self.cards.suggestion_rect(self.visualRect(index), line)
        if index.data(ClusterRole.Suggestion) and hint.adjusted(0, -2, 0, 2).contains(pos):
            self.model().accept_suggestion(index.row())
        elif name.adjusted(0, -2, 0, 2).contains(pos):
            self.edit(index)
        else:
            self.open_requested.emit(index)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if (event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and self.state() != QAbstractItemView.State.EditingState
                and self.currentIndex().isValid()):
            self.open_requested.emit(self.currentIndex())
            return
        super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        super().paintEvent(event)
        paint_empty_text(self, self.empty_text, 60)


EMPTY_TEXT = {
    "people": "No people yet.\nFaces are found after photos are indexed; people who appear "
              "in several photos show up here.",
    "pets": "No pets yet.",
    "places": "No places yet.\nPhotos with a GPS location are grouped by place.",
    "scenes": "No scenes yet.\nSimilar-looking photos are grouped once the library is indexed.",
}

HINTS = {
    "people": "Click a name to rename · drag a card onto another (or select several and "
              "right-click) to merge",
    "pets": "Click a name to rename · drag a card onto another to merge",
    "places": "Click a name to rename · drag a card onto another to merge",
    "scenes": "Click a name to rename · drag a card onto another to merge",
}


class ClusterPage(QWidget):
    def __init__(self, model: ClusterListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.hint = QLabel()
        self.hint.setObjectName("pageHint")
        self.view = ClusterView()
        self.view.setModel(model)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 8, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addSpacing(8)
        layout.addWidget(self.view, 1)

    def set_kind(self, kind: str, label: str) -> None:
        self.title.setText(label)
        self.hint.setText(HINTS.get(kind, ""))
        self.view.empty_text = EMPTY_TEXT.get(kind, "")
