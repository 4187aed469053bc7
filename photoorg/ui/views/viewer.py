"""The large view of one photo with its metadata. ←/→ move, Esc goes back to the grid."""

from __future__ import annotations

import os

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoorg.ui.icons import icon
from photoorg.ui.queries import PhotoDetails


class ImageCanvas(QWidget):
    """Paints a picture fitted to the widget on a dark backdrop."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self._scaled: QPixmap | None = None
        self.message = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(QSize(200, 200))

    def set_pixmap(self, pixmap: QPixmap | None, message: str = "") -> None:
        self._pixmap = pixmap
        self._scaled = None
        self.message = message
        self.update()

    def has_pixmap(self) -> bool:
        return self._pixmap is not None and not self._pixmap.isNull()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 27))
        if self._pixmap is None or self._pixmap.isNull():
            if self.message:
                painter.setPen(QColor(180, 180, 186))
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            return
        area = self.rect().adjusted(16, 16, -16, -16)
        ratio = self.devicePixelRatioF()
        if self._scaled is None or self._scaled.size() != self._fit(area.size() * ratio):
            self._scaled = self._pixmap.scaled(
                area.size() * ratio, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            self._scaled.setDevicePixelRatio(ratio)
        size = self._scaled.deviceIndependentSize().toSize()
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(area.center())
        painter.drawPixmap(target, self._scaled)

    def _fit(self, box: QSize) -> QSize:
        assert self._pixmap is not None
        return self._pixmap.size().scaled(box, Qt.AspectRatioMode.KeepAspectRatio)


def _size_text(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


class Viewer(QWidget):
    """Shows one photo; asks for the next/previous through ``move_requested``."""

    back_requested = Signal()
    move_requested = Signal(int)  # -1 / +1
    find_similar_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.photo_id: int | None = None
        self.path = ""

        self.back = QToolButton()
        self.back.setIcon(icon("back"))
        self.back.setText("Back")
        self.back.setToolTip("Back to the photos (Esc)")
        self.back.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.back.setAutoRaise(True)
        self.back.clicked.connect(self.back_requested)
        self.prev = QToolButton()
        self.prev.setIcon(icon("back"))
        self.prev.setToolTip("Previous photo (←)")
        self.prev.setAutoRaise(True)
        self.prev.clicked.connect(lambda: self.move_requested.emit(-1))
        self.next = QToolButton()
        self.next.setIcon(icon("forward"))
        self.next.setToolTip("Next photo (→)")
        self.next.setAutoRaise(True)
        self.next.clicked.connect(lambda: self.move_requested.emit(1))
        self.similar = QToolButton()
        self.similar.setIcon(icon("similar"))
        self.similar.setText("Find similar")
        self.similar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.similar.setAutoRaise(True)
        self.similar.clicked.connect(self.find_similar_requested)
        self.title = QLabel()
        self.title.setObjectName("viewerTitle")
        self.position = QLabel()
        self.position.setObjectName("pageHint")

        bar = QHBoxLayout()
        bar.setContentsMargins(8, 6, 8, 6)
        bar.addWidget(self.back)
        bar.addSpacing(8)
        bar.addWidget(self.title, 1)
        bar.addWidget(self.position)
        bar.addSpacing(8)
        bar.addWidget(self.similar)
        bar.addWidget(self.prev)
        bar.addWidget(self.next)

        self.canvas = ImageCanvas()
        self.info = QWidget()
        self.info.setObjectName("infoPanel")
        form = QFormLayout(self.info)
        form.setContentsMargins(16, 16, 16, 16)
        form.setVerticalSpacing(10)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self.fields: dict[str, QLabel] = {}
        for key, label in (("date", "Date taken"), ("camera", "Camera"),
                           ("dimensions", "Dimensions"), ("place", "Place"),
                           ("people", "People"), ("tags", "Tags"),
                           ("text", "Text in the photo"), ("file", "File")):
            value = QLabel("—")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            caption = QLabel(label)
            caption.setObjectName("fieldCaption")
            form.addRow(caption, value)
            self.fields[key] = value
        scroll = QScrollArea()
        scroll.setWidget(self.info)
        scroll.setWidgetResizable(True)
        scroll.setFixedWidth(280)
        scroll.setFrameShape(QFrame.Shape.NoFrame)

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.canvas, 1)
        body.addWidget(scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addLayout(body, 1)

    def show_photo(self, photo_id: int, path: str, preview: QPixmap | None,
                   position: int, total: int) -> None:
        self.photo_id = photo_id
        self.path = path
        self.title.setText(os.path.basename(path))
        self.set_position(position, total)
        self.canvas.set_pixmap(preview, "Loading…")
        for value in self.fields.values():
            value.setText("—")
        self.fields["file"].setText(path)

    def set_position(self, position: int, total: int) -> None:
        """Where the photo is in the grid ("5 of 48"); the grid may change under it."""
        self.position.setText(f"{position + 1:,} of {total:,}")
        self.prev.setEnabled(position > 0)
        self.next.setEnabled(position + 1 < total)

    def set_image(self, photo_id: int, image: QImage | None) -> None:
        if photo_id != self.photo_id:
            return  # moved on before it loaded
        if image is None or image.isNull():
            if not self.canvas.has_pixmap():
                self.canvas.set_pixmap(None, "This photo cannot be shown.")
            return
        self.canvas.set_pixmap(QPixmap.fromImage(image))

    def set_details(self, details: PhotoDetails | None) -> None:
        if details is None or details.id != self.photo_id:
            return
        f = self.fields
        f["date"].setText(details.date_text or "Unknown")
        f["camera"].setText(details.camera or "—")
        dims = f"{details.width:,} × {details.height:,}" if details.width else "—"
        f["dimensions"].setText(f"{dims} · {_size_text(details.size)}")
        place = details.place or ""
        if details.latitude is not None and details.longitude is not None:
            coords = f"{details.latitude:.4f}, {details.longitude:.4f}"
            place = f"{place}\n{coords}" if place else coords
        f["place"].setText(place or "—")
        f["people"].setText(", ".join(details.people) or "—")
        f["tags"].setText(", ".join(t.replace("|", " › ") for t in details.tags) or "—")
        f["text"].setText(details.text or "—")  # selectable: copy what the photo says
        if details.status == "skipped":
            f["file"].setText(f"{details.path}\nNot indexed: {details.reason or 'unreadable'}")

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.back_requested.emit()
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_Space):
            self.move_requested.emit(1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_Backspace):
            self.move_requested.emit(-1)
        else:
            super().keyPressEvent(event)
