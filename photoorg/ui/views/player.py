"""Video playback in the viewer (QtMultimedia): play/pause, a scrub slider, mute, and the
poster with "Open in your video player" when this machine cannot play the clip.

Qt's FFmpeg backend may lack a decoder (its LGPL build on Linux declares only MPEG-1/2/4,
WMV and MJPEG; AV1 decodes to nothing at all) and then reports no error: the clip "plays"
without a single frame. So the panel asks for the first frame on open (a paused player
shows it) and, when none arrives in :data:`FIRST_FRAME_MS` or the player reports an error,
shows the fallback instead.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QStackedLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoorg.ui import desktop
from photoorg.ui.icons import icon

log = logging.getLogger(__name__)

FIRST_FRAME_MS = 4000
SEEK_MS = 5000


def clock(ms: int) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour)."""
    seconds = max(0, int(ms // 1000))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class VideoPanel(QWidget):
    """Plays one video; ``fullscreen_requested`` asks the viewer to fill the screen."""

    fullscreen_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = ""
        self.failed_reason = ""  # why the fallback is shown ("" while playable)
        self.frames = 0  # valid frames shown since the clip was opened
        self._start_ms = 0
        self._first_frame = QTimer(self)
        self._first_frame.setSingleShot(True)
        self._first_frame.setInterval(FIRST_FRAME_MS)
        self._first_frame.timeout.connect(self._no_frame)

        self.poster = QLabel()
        self.poster.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.poster.setMinimumSize(1, 1)
        self.message = QLabel()
        self.message.setObjectName("pageHint")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.open_external = QPushButton(icon("open"), "Open in your video player")
        self.open_external.clicked.connect(self.open_in_player)
        fallback = QWidget()
        fallback.setObjectName("videoFallback")
        column = QVBoxLayout(fallback)
        column.addWidget(self.poster, 1)
        column.addWidget(self.message)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.open_external)
        row.addStretch(1)
        column.addLayout(row)
        self.fallback = fallback

        self.play_button = QToolButton()
        self.play_button.setAutoRaise(True)
        self.play_button.clicked.connect(self.toggle_play)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the viewer
        self.slider.sliderMoved.connect(self.seek_to)
        # a click on the groove pages there (the slider moves without sliderMoved)
        self.slider.actionTriggered.connect(
            lambda _a: self.slider.isSliderDown() or self.seek_to(self.slider.sliderPosition()))
        self.time_label = QLabel("0:00 / 0:00")
        self.mute_button = QToolButton()
        self.mute_button.setAutoRaise(True)
        self.mute_button.setCheckable(True)
        self.mute_button.setText("Mute")
        self.mute_button.setToolTip("Mute (M)")
        self.mute_button.toggled.connect(self.set_muted)
        self.full_button = QToolButton()
        self.full_button.setIcon(icon("fullscreen"))
        self.full_button.setAutoRaise(True)
        self.full_button.setToolTip("Full screen (F) · Esc leaves it")
        self.full_button.clicked.connect(self.fullscreen_requested)
        for button in (self.play_button, self.mute_button, self.full_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        controls = QHBoxLayout()
        controls.setContentsMargins(8, 4, 8, 6)
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        controls.addWidget(self.mute_button)
        controls.addWidget(self.full_button)
        self.controls = QWidget()
        self.controls.setLayout(controls)

        self.pages = QStackedLayout()
        self.player = None  # made on the first video (the window starts without it)
        self.audio = None
        self.video = None
        self.pages.addWidget(self.fallback)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(self.pages, 1)
        layout.addWidget(self.controls)
        self._show_play_state()

    def _ensure_player(self) -> bool:
        """QtMultimedia is loaded with the first video, not with the window."""
        if self.player is not None:
            return True
        try:  # PySide6-Addons; without it the poster and "Open in your video player"
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
            from PySide6.QtMultimediaWidgets import QVideoWidget
        except ImportError as exc:  # pragma: no cover - the Addons are a dependency
            log.warning("no video playback: %s", exc)
            return False
        self.video = QVideoWidget()
        self.video.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.audio.setMuted(self.mute_button.isChecked())
        self.player.setAudioOutput(self.audio)
        self.player.setVideoOutput(self.video)
        self.video.videoSink().videoFrameChanged.connect(self._on_frame)
        self.player.errorOccurred.connect(self._on_error)
        self.player.positionChanged.connect(self._on_position)
        self.player.durationChanged.connect(self._on_duration)
        self.player.playbackStateChanged.connect(lambda _s: self._show_play_state())
        self.player.mediaStatusChanged.connect(self._on_status)
        self.pages.addWidget(self.video)
        return True

    # -- state ------------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self.player is not None and (
            self.player.playbackState() == self.player.PlaybackState.PlayingState)

    @property
    def muted(self) -> bool:
        return self.audio is not None and self.audio.isMuted()

    def position_ms(self) -> int:
        return self.player.position() if self.player is not None else 0

    def showing_fallback(self) -> bool:
        return self.pages.currentWidget() is self.fallback

    # -- open / stop ------------------------------------------------------------------------

    def open(self, path: str, poster: QPixmap | None, at_seconds: float | None = None) -> None:
        """Load ``path`` paused at ``at_seconds`` (a search's moment), showing its first
        frame; the poster stands in until then and in the fallback."""
        self.stop()
        self.path = path
        self.failed_reason = ""
        self.frames = 0
        self.set_poster(poster)
        self._start_ms = int((at_seconds or 0) * 1000)
        self.slider.setRange(0, 0)
        self.time_label.setText("0:00 / 0:00")
        if not self._ensure_player():
            self._fail("Video playback is not part of this installation.")
            return
        self.pages.setCurrentWidget(self.video)
        self.controls.setVisible(True)
        self.player.setSource(QUrl.fromLocalFile(path))
        if self._start_ms:
            self.player.setPosition(self._start_ms)
        self.player.pause()  # a paused player shows the frame it stands on
        self._first_frame.start()

    def stop(self) -> None:
        self._first_frame.stop()
        if self.player is not None:
            self.player.stop()
            self.player.setSource(QUrl())

    def set_poster(self, poster: QPixmap | None) -> None:
        if poster is not None and not poster.isNull():
            self.poster.setPixmap(poster.scaled(
                640, 480, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))

    # -- controls -----------------------------------------------------------------------------

    def toggle_play(self) -> None:
        if self.player is None or self.showing_fallback():
            return
        if self.playing:
            self.player.pause()
        else:
            if self.player.mediaStatus() == self.player.MediaStatus.EndOfMedia:
                self.player.setPosition(0)
            self.player.play()

    def seek_by(self, ms: int) -> None:
        if self.player is not None and not self.showing_fallback():
            self.seek_to(self.player.position() + ms)

    def seek_to(self, ms: int) -> None:
        if self.player is None:
            return
        duration = self.player.duration()
        self.player.setPosition(max(0, min(ms, duration if duration > 0 else ms)))

    def set_muted(self, on: bool) -> None:
        if self.audio is not None:
            self.audio.setMuted(on)
        self.mute_button.blockSignals(True)
        self.mute_button.setChecked(on)
        self.mute_button.blockSignals(False)
        self.mute_button.setText("Muted" if on else "Mute")

    def toggle_mute(self) -> None:
        self.set_muted(not self.muted)

    def open_in_player(self) -> bool:
        return desktop.open_url(QUrl.fromLocalFile(self.path)) if self.path else False

    # -- what the player says -----------------------------------------------------------------

    def _show_play_state(self) -> None:
        playing = self.playing
        self.play_button.setIcon(icon("pause" if playing else "play"))
        self.play_button.setToolTip("Pause (Space)" if playing else "Play (Space)")

    def _on_frame(self, frame: Any) -> None:  # a QVideoFrame
        if frame.isValid():
            self.frames += 1
            self._first_frame.stop()

    def _on_position(self, ms: int) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(ms)
        self.time_label.setText(f"{clock(ms)} / {clock(self.slider.maximum())}")

    def _on_duration(self, ms: int) -> None:
        self.slider.setRange(0, max(0, ms))
        self.time_label.setText(f"{clock(self.position_ms())} / {clock(ms)}")

    def _on_status(self, status: object) -> None:
        if (self.player is not None and status == self.player.MediaStatus.LoadedMedia
                and self._start_ms):
            self.player.setPosition(self._start_ms)

    def _on_error(self, _error: object, message: str) -> None:
        if self.path:
            log.info("cannot play %s: %s", self.path, message)
            self._fail(f"photoorg cannot play this video here ({message or 'player error'}).")

    def _no_frame(self) -> None:
        if self.frames or not self.path or self.player is None:
            return
        codec = ""
        meta = self.player.metaData()
        value = meta.stringValue(meta.Key.VideoCodec)
        if value and value != "Unspecified":
            codec = f" ({value})"
        log.info("no frame of %s after %d ms%s", self.path, FIRST_FRAME_MS, codec)
        self._fail(f"photoorg cannot decode this video's format{codec} on this computer.")

    def _fail(self, reason: str) -> None:
        self.failed_reason = reason
        self._first_frame.stop()
        if self.player is not None:
            self.player.stop()
        self.message.setText(reason)
        self.pages.setCurrentWidget(self.fallback)
        self.controls.setVisible(False)
