"""The viewer's picture: fitted (never enlarged past its own pixels unless asked), zoomed by
wheel, pinch, keys or buttons around the pointer, panned by dragging, turned on screen.

Zoom is measured against the *original* photo's pixels (1.0 = 1:1), whatever picture is
loaded yet (the grid's thumbnail first, then the photo): a smaller picture is drawn
stretched until the sharper one arrives, and ``sharper_wanted`` asks for it when the zoom
needs more pixels than the loaded picture has.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QMouseEvent,
    QNativeGestureEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QGestureEvent, QPinchGesture, QSizePolicy, QWidget

MIN_ZOOM, MAX_ZOOM = 0.02, 16.0
STEP = 1.25
MARGIN = 16


class ZoomCanvas(QWidget):
    zoom_changed = Signal(float)  # the scale now (1.0 = 1:1)
    sharper_wanted = Signal()  # the zoom needs more pixels than the loaded picture has
    context_menu = Signal(object)  # global QPoint
    box_drawn = Signal(object)  # (x, y, w, h): a box the user dragged, fractions of the photo

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self._scaled: QPixmap | None = None  # cache for the fitted picture
        self.original = QSize()  # the photo's own size (oriented, before our rotation)
        self.rotation = 0  # degrees clockwise, on screen only
        self.zoom: float | None = None  # None: fit
        self.allow_upscale = False  # fit may enlarge small photos (off: never past 1:1)
        self._center = QPointF(0.5, 0.5)  # the point of the (rotated) photo in the middle
        self._drag: QPointF | None = None
        self.drawing = False  # "Draw a face box": a drag draws a box instead of panning
        self._box_from: QPointF | None = None
        self._box_to: QPointF | None = None
        self.message = ""
        self.notice = ""  # a line over the picture ("The original is offline…")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(QSize(200, 200))
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(
            lambda pos: self.context_menu.emit(self.mapToGlobal(pos)))
        self.grabGesture(Qt.GestureType.PinchGesture)

    # -- content ----------------------------------------------------------------------

    def set_pixmap(self, pixmap: QPixmap | None, message: str = "",
                   original: QSize | None = None, keep_view: bool = False) -> None:
        """Show a picture; ``original``: the photo's full size (zoom is measured on it);
        ``keep_view``: a sharper copy of the same photo (zoom and place stay)."""
        self._pixmap = pixmap
        self._scaled = None
        self.message = message
        if original is not None and original.isValid():
            self.original = QSize(original)
        elif pixmap is not None and not pixmap.isNull() and not keep_view:
            self.original = pixmap.size()
        if not keep_view:
            self.zoom = None
            self._center = QPointF(0.5, 0.5)
            self.notice = ""
        self.update()
        self.zoom_changed.emit(self.scale())

    def set_original_size(self, size: QSize) -> None:
        if size.isValid() and size != self.original:
            self.original = QSize(size)
            self._scaled = None
            self.update()
            self.zoom_changed.emit(self.scale())

    def has_pixmap(self) -> bool:
        return self._pixmap is not None and not self._pixmap.isNull()

    def pixmap_size(self) -> QSize:
        return self._pixmap.size() if self.has_pixmap() else QSize()

    def set_rotation(self, degrees: int) -> None:
        self.rotation = degrees % 360
        self._scaled = None
        self.update()
        self.zoom_changed.emit(self.scale())

    # -- geometry ---------------------------------------------------------------------

    def _turned(self) -> QSize:
        """The original's size as shown (width and height swap at 90 and 270)."""
        size = self.original if self.original.isValid() else self.pixmap_size()
        return size.transposed() if self.rotation in (90, 270) else QSize(size)

    def fit_scale(self) -> float:
        size = self._turned()
        if size.isEmpty():
            return 1.0
        area = self.rect().adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        fit = min(area.width() / size.width(), area.height() / size.height())
        return fit if self.allow_upscale else min(1.0, fit)

    def scale(self) -> float:
        return self.fit_scale() if self.zoom is None else self.zoom

    def is_fit(self) -> bool:
        return self.zoom is None

    def set_zoom(self, zoom: float | None, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` (None: fit), keeping the photo point under ``anchor`` (widget
        coordinates; default the middle) where it is."""
        if zoom is not None:
            zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        before = self._photo_point(anchor) if anchor is not None else None
        self.zoom = zoom
        if zoom is None:
            self._center = QPointF(0.5, 0.5)
        elif before is not None and anchor is not None:
            shown = self._turned()
            s = self.scale()
            mid = QPointF(self.width() / 2, self.height() / 2)
            offset = anchor - mid
            self._center = QPointF(before.x() - offset.x() / (shown.width() * s),
                                   before.y() - offset.y() / (shown.height() * s))
        self._clamp()
        self.update()
        self.zoom_changed.emit(self.scale())
        if self.has_pixmap():
            shown_px = max(self.pixmap_size().width(), self.pixmap_size().height())
            needed = max(self._turned().width(), self._turned().height()) * self.scale()
            if needed > shown_px * 1.05 and shown_px < max(self.original.width(),
                                                           self.original.height()):
                self.sharper_wanted.emit()

    def zoom_in(self) -> None:
        self.set_zoom(self.scale() * STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.scale() / STEP)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def fit(self) -> None:
        self.set_zoom(None)

    def _photo_point(self, pos: QPointF) -> QPointF:
        """Where a widget point falls on the shown photo (0..1 each way)."""
        target = self.target_rect()
        if target.isEmpty():
            return QPointF(0.5, 0.5)
        return QPointF((pos.x() - target.x()) / target.width(),
                       (pos.y() - target.y()) / target.height())

    def _clamp(self) -> None:
        """Keep the photo on screen: centred when it fits, edges no further in than the
        widget's edges when it does not."""
        shown = self._turned()
        s = self.scale()
        for axis in ("x", "y"):
            span = (shown.width() if axis == "x" else shown.height()) * s
            room = self.width() if axis == "x" else self.height()
            value = getattr(self._center, axis)()
            if span <= room:
                value = 0.5
            else:
                half = room / 2 / span
                value = max(half, min(1 - half, value))
            getattr(self._center, "setX" if axis == "x" else "setY")(value)

    def target_rect(self) -> QRectF:
        """Where the (turned) photo lands in the widget."""
        shown = self._turned()
        if shown.isEmpty():
            return QRectF()
        s = self.scale()
        w, h = shown.width() * s, shown.height() * s
        return QRectF(self.width() / 2 - self._center.x() * w,
                      self.height() / 2 - self._center.y() * h, w, h)

    # -- painting -------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 27))
        if not self.has_pixmap():
            if self.message:
                painter.setPen(QColor(180, 180, 186))
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            return
        assert self._pixmap is not None
        target = self.target_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        ratio = self.devicePixelRatioF()
        if self.rotation == 0 and self.zoom is None:
            want = (target.size() * ratio).toSize()
            if self._scaled is None or self._scaled.size() != want:  # fitted: cache it
                self._scaled = self._pixmap.scaled(want, Qt.AspectRatioMode.IgnoreAspectRatio,
                                                   Qt.TransformationMode.SmoothTransformation)
            painter.drawPixmap(target, self._scaled, QRectF(self._scaled.rect()))
        else:
            painter.translate(target.center())
            painter.setTransform(QTransform().rotate(self.rotation), combine=True)
            w, h = target.width(), target.height()
            if self.rotation in (90, 270):
                w, h = h, w
            painter.drawPixmap(QRectF(-w / 2, -h / 2, w, h), self._pixmap,
                               QRectF(self._pixmap.rect()))
            painter.resetTransform()
        if self.drawing and self._box_from is not None and self._box_to is not None:
            painter.setPen(QPen(QColor(255, 214, 10), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(self._box_from, self._box_to).normalized())
        if self.notice:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 170))
            metrics = painter.fontMetrics()
            width = metrics.horizontalAdvance(self.notice) + 28
            box = QRectF((self.width() - width) / 2, 12, width, metrics.height() + 14)
            painter.drawRoundedRect(box, 8, 8)
            painter.setPen(QColor(240, 240, 240))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.notice)

    # -- input ------------------------------------------------------------------------------

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120
        if not steps:
            return
        self.set_zoom(self.scale() * STEP ** steps, event.position())

    def event(self, event: QEvent) -> bool:
        if (isinstance(event, QNativeGestureEvent)
                and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture):
            self.set_zoom(self.scale() * (1 + event.value()), event.position())
            return True
        if isinstance(event, QGestureEvent):
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if isinstance(pinch, QPinchGesture):
                self.set_zoom(self.scale() * pinch.scaleFactor(),
                              self.mapFromGlobal(pinch.centerPoint().toPoint()).toPointF())
                return True
        return super().event(event)

    def start_drawing(self) -> None:
        """The next drag draws a box (Esc in the viewer cancels)."""
        self.drawing = True
        self.notice = "Drag a box around the face · Esc cancels"
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.update()

    def stop_drawing(self) -> None:
        self.drawing = False
        self._box_from = self._box_to = None
        self.notice = ""
        self.unsetCursor()
        self.update()

    def _drawn_box(self) -> tuple[float, float, float, float] | None:
        if self._box_from is None or self._box_to is None:
            return None
        a, b = self._photo_point(self._box_from), self._photo_point(self._box_to)
        x0, x1 = sorted((max(0.0, min(1.0, a.x())), max(0.0, min(1.0, b.x()))))
        y0, y1 = sorted((max(0.0, min(1.0, a.y())), max(0.0, min(1.0, b.y()))))
        if x1 - x0 < 0.01 or y1 - y0 < 0.01:
            return None  # a click, not a box
        return (x0, y0, x1 - x0, y1 - y0)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.drawing and event.button() == Qt.MouseButton.LeftButton:
            self._box_from = self._box_to = event.position()
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.drawing and self._box_from is not None:
            self._box_to = event.position()
            self.update()
            return
        if self._drag is not None:
            self.pan(event.position() - self._drag)
            self._drag = event.position()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.drawing and self._box_from is not None:
            self._box_to = event.position()
            box = self._drawn_box()
            if box is not None:
                self.stop_drawing()
                self.box_drawn.emit(box)
            else:
                self._box_from = self._box_to = None
            return
        self._drag = None
        self.unsetCursor()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.is_fit():
            self.set_zoom(1.0 if self.fit_scale() < 1.0 else 2.0, event.position())
        else:
            self.fit()

    def pan(self, delta: QPointF) -> None:
        """Move the photo by ``delta`` pixels (as a drag would)."""
        target = self.target_rect()
        if target.isEmpty():
            return
        self._center = QPointF(self._center.x() - delta.x() / target.width(),
                               self._center.y() - delta.y() / target.height())
        self._clamp()
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001
        super().resizeEvent(event)
        self._scaled = None
        self._clamp()
        self.zoom_changed.emit(self.scale())
