"""The large view of one photo with its metadata. ←/→ move, Esc goes back to the grid;
wheel, +/−, Ctrl+plus, 1 (1:1) and 0 (fit) zoom; drag pans; R turns; F11 fills the screen;
S runs a slideshow; right-click gives the grid's menu. A video plays in place of the photo
(:class:`~photoorg.ui.views.player.VideoPanel`): Space plays/pauses, ←/→ seek, M mutes,
F fills the screen, Page Up/Down move."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoorg.core.app.api import PhotoDetails, display_name
from photoorg.ui.icons import icon
from photoorg.ui.views.canvas import ZoomCanvas
from photoorg.ui.views.player import SEEK_MS, VideoPanel

SLIDESHOW_MS = 4000


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
    fullscreen_requested = Signal(bool)
    rotation_changed = Signal(int, int)  # photo id, degrees (a setting, never the file)
    sharper_requested = Signal(int)  # photo id: load the original at full size
    menu_requested = Signal(object)  # global QPoint

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.photo_id: int | None = None
        self.path = ""
        self.fullscreen = False
        self.slideshow = QTimer(self)
        self.slideshow.setInterval(SLIDESHOW_MS)
        self.slideshow.timeout.connect(self._slide)
        self._at_end = False

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
        self.similar.setToolTip("Find similar (G) — in a video, from the frame on screen")
        self.similar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.similar.setAutoRaise(True)
        self.similar.clicked.connect(self.find_similar_requested)
        self.zoom_out_button = self._tool("zoom-out", "Zoom out (−)",
                                          lambda: self.canvas.zoom_out())
        self.zoom_label = QToolButton()
        self.zoom_label.setAutoRaise(True)
        self.zoom_label.setToolTip("Fit to the window (0) · actual size (1)")
        self.zoom_label.setMinimumWidth(58)
        self.zoom_label.clicked.connect(self._toggle_fit)
        self.zoom_in_button = self._tool("zoom-in", "Zoom in (+)", lambda: self.canvas.zoom_in())
        self.rotate_button = self._tool("rotate", "Turn right (R) — only how photoorg shows it",
                                        lambda: self.rotate(90))
        self.slideshow_button = self._tool("play", "Slideshow (S)", self.toggle_slideshow)
        self.fullscreen_button = self._tool("fullscreen", "Full screen (F11)",
                                            self.toggle_fullscreen)
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
        for button in (self.zoom_out_button, self.zoom_label, self.zoom_in_button,
                       self.rotate_button, self.slideshow_button, self.fullscreen_button):
            bar.addWidget(button)
        bar.addSpacing(8)
        bar.addWidget(self.similar)
        bar.addWidget(self.prev)
        bar.addWidget(self.next)

        self.canvas = ZoomCanvas()
        self.canvas.zoom_changed.connect(self._zoom_shown)
        self.canvas.sharper_wanted.connect(
            lambda: self.photo_id is not None and self.sharper_requested.emit(self.photo_id))
        self.canvas.context_menu.connect(self.menu_requested)
        self.video = VideoPanel()
        self.video.fullscreen_requested.connect(self.toggle_fullscreen)
        self.is_video = False
        self.media = QStackedWidget()
        self.media.addWidget(self.canvas)
        self.media.addWidget(self.video)
        self.info = QWidget()
        self.info.setObjectName("infoPanel")
        form = QFormLayout(self.info)
        form.setContentsMargins(16, 16, 16, 16)
        form.setVerticalSpacing(10)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self.fields: dict[str, QLabel] = {}
        for key, label in (("title", "Title"), ("caption", "Caption"), ("rating", "Rating"),
                           ("date", "Date taken"), ("camera", "Camera"),
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
        self.info_scroll = scroll = QScrollArea()
        scroll.setWidget(self.info)
        scroll.setWidgetResizable(True)
        scroll.setFixedWidth(280)
        scroll.setFrameShape(QFrame.Shape.NoFrame)

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.media, 1)
        body.addWidget(scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.bar = QWidget()
        self.bar.setLayout(bar)
        layout.addWidget(self.bar)
        layout.addLayout(body, 1)

    def _tool(self, name: str, tip: str, slot) -> QToolButton:  # noqa: ANN001
        button = QToolButton()
        button.setIcon(icon(name))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    # -- zoom, turn, full screen, slideshow ---------------------------------------------------

    def _zoom_shown(self, scale: float) -> None:
        self.zoom_label.setText(f"{scale * 100:.0f}%")

    def _toggle_fit(self) -> None:
        if self.canvas.is_fit():
            self.canvas.actual_size()
        else:
            self.canvas.fit()

    def rotate(self, degrees: int) -> None:
        if self.photo_id is None:
            return
        turned = (self.canvas.rotation + degrees) % 360
        self.canvas.set_rotation(turned)
        self.rotation_changed.emit(self.photo_id, turned)

    def toggle_fullscreen(self) -> None:
        self.set_fullscreen(not self.fullscreen)

    def set_fullscreen(self, on: bool) -> None:
        if on == self.fullscreen:
            return
        self.fullscreen = on
        self.info_scroll.setVisible(not on)
        self.bar.setVisible(not on)
        self.fullscreen_requested.emit(on)

    def toggle_slideshow(self) -> None:
        if self.slideshow.isActive():
            self.stop_slideshow()
        else:
            self.slideshow.start()
            self.slideshow_button.setIcon(icon("pause"))
            self.slideshow_button.setToolTip("Stop the slideshow (S)")

    def stop_slideshow(self) -> None:
        self.slideshow.stop()
        self.slideshow_button.setIcon(icon("play"))
        self.slideshow_button.setToolTip("Slideshow (S)")

    def _slide(self) -> None:
        if self._at_end:
            self.stop_slideshow()
        else:
            self.move_requested.emit(1)

    def show_photo(self, photo_id: int, path: str, preview: QPixmap | None,
                   position: int, total: int, duration: float | None = None,
                   at_seconds: float | None = None) -> None:
        """Show a photo, or play a video (``duration`` set) from ``at_seconds``."""
        self.photo_id = photo_id
        self.path = path
        self.title.setText(display_name(os.path.basename(path)))
        self.set_position(position, total)
        self.canvas.set_pixmap(preview, "Loading…")
        self.canvas.set_rotation(0)
        self.is_video = duration is not None
        for button in (self.zoom_out_button, self.zoom_label, self.zoom_in_button,
                       self.rotate_button, self.slideshow_button):
            button.setEnabled(not self.is_video)
        if self.is_video:
            self.media.setCurrentWidget(self.video)
            self.video.open(path, preview, at_seconds)
        else:
            self.video.stop()
            self.media.setCurrentWidget(self.canvas)
        for value in self.fields.values():
            value.setText("—")
        self.fields["file"].setText(path)

    def set_position(self, position: int, total: int) -> None:
        """Where the photo is in the grid ("5 of 48"); the grid may change under it."""
        self.position.setText(f"{position + 1:,} of {total:,}")
        self.prev.setEnabled(position > 0)
        self.next.setEnabled(position + 1 < total)
        self._at_end = position + 1 >= total

    def stop_media(self) -> None:
        """Leaving the viewer: a playing video stops."""
        self.video.stop()

    def set_image(self, photo_id: int, image: QImage | None) -> None:
        if photo_id != self.photo_id:
            return  # moved on before it loaded
        if self.is_video and image is not None and not image.isNull():
            self.video.set_poster(QPixmap.fromImage(image))  # the fallback shows it
        if image is None or image.isNull():
            if not self.canvas.has_pixmap():
                self.canvas.set_pixmap(None, "This photo cannot be shown.")
            return
        sharper = self.canvas.has_pixmap() and (
            image.width() > self.canvas.pixmap_size().width()
            or image.height() > self.canvas.pixmap_size().height())
        if self.canvas.has_pixmap() and not sharper:
            return  # what is shown is already as sharp
        self.canvas.set_pixmap(QPixmap.fromImage(image), keep_view=True)

    def set_unavailable(self, photo_id: int, message: str) -> None:
        """The original cannot be opened (its folder is offline, it moved): say so plainly,
        over the thumbnail when there is one."""
        if photo_id != self.photo_id:
            return
        if self.canvas.has_pixmap():
            self.canvas.notice = message + " Showing the thumbnail."
            self.canvas.update()
        else:
            self.canvas.set_pixmap(None, message)

    def set_details(self, details: PhotoDetails | None) -> None:
        if details is None or details.id != self.photo_id:
            return
        f = self.fields
        if details.width and details.height:
            self.canvas.set_original_size(QSize(details.width, details.height))
        if details.view is not None and details.view.rotation != self.canvas.rotation:
            self.canvas.set_rotation(details.view.rotation)
        f["title"].setText(details.title or "—")
        f["caption"].setText(details.caption or "—")
        stars = "—"
        if details.rating is not None:
            stars = "Rejected" if details.rating < 0 else "★" * details.rating + "☆" * (
                5 - details.rating)
        f["rating"].setText(stars + (f" · {details.label}" if details.label else ""))
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
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if self.is_video and not ctrl and self._video_key(key):
            return
        if key == Qt.Key.Key_Escape:
            if self.canvas.drawing:
                self.canvas.stop_drawing()
            elif self.fullscreen:
                self.set_fullscreen(False)
            else:
                self.stop_slideshow()
                self.back_requested.emit()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.canvas.zoom_in()
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.canvas.zoom_out()
        elif key == Qt.Key.Key_1 and not ctrl:
            self.canvas.actual_size()
        elif key in (Qt.Key.Key_0, Qt.Key.Key_F) and not ctrl:
            self.canvas.fit()
        elif key == Qt.Key.Key_F11:
            self.toggle_fullscreen()
        elif key == Qt.Key.Key_G and not ctrl:  # a video: from the frame on screen
            self.find_similar_requested.emit()
        elif key == Qt.Key.Key_S and not ctrl:
            self.toggle_slideshow()
        elif key == Qt.Key.Key_R and not ctrl:
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self.rotate(-90 if shift else 90)
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_Space):
            self.move_requested.emit(1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_Backspace):
            self.move_requested.emit(-1)
        else:
            super().keyPressEvent(event)

    def _video_key(self, key: int) -> bool:
        """The keys a video takes over from the photo viewer; False: not one of them."""
        video = self.video
        if key == Qt.Key.Key_Space:
            video.toggle_play()
        elif key == Qt.Key.Key_Left:
            video.seek_by(-SEEK_MS)
        elif key == Qt.Key.Key_Right:
            video.seek_by(SEEK_MS)
        elif key == Qt.Key.Key_M:
            video.toggle_mute()
        elif key == Qt.Key.Key_F:
            self.toggle_fullscreen()
        elif key == Qt.Key.Key_PageDown:
            self.move_requested.emit(1)
        elif key == Qt.Key.Key_PageUp:
            self.move_requested.emit(-1)
        elif key == Qt.Key.Key_Escape and not self.fullscreen:
            video.stop()
            return False  # and back to the grid, as for a photo
        else:
            return False
        return True
