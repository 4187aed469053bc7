"""Errors the user should see: a dialog with the summary, the details, "Copy details" and the
log folder; ``sys.excepthook`` and ``threading.excepthook`` route through it."""

from __future__ import annotations

import logging
import logging.handlers
import platform
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from photoorg import __version__
from photoorg.logsetup import QuietRotatingFileHandler, RepeatFilter

log = logging.getLogger("photoorg.ui")

LOG_NAME = "photoorg.log"


def setup_file_logging(folder: Path, level: int = logging.INFO) -> Path:
    """A rotating log file (1 MB x 5) in ``folder``; returns its path. Idempotent."""
    path = folder / LOG_NAME
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and Path(
            handler.baseFilename
        ) == path:
            return path
    handler = QuietRotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
    )
    handler.addFilter(RepeatFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    handler.setLevel(level)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    return path


def environment_text() -> str:
    from PySide6 import __version__ as pyside_version

    return (
        f"photoorg {__version__} · Python {platform.python_version()} · "
        f"PySide6 {pyside_version} · {platform.platform()}"
    )


class ErrorDialog(QDialog):
    """A summary line, collapsible details, "Copy details" and "Open log folder"."""

    def __init__(
        self, message: str, details: str = "", log_folder: Path | None = None,
        parent: QWidget | None = None, title: str = "Something went wrong",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(520)
        self._details_text = f"{message}\n\n{details}\n{environment_text()}".strip()

        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(40, 40))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        summary = QLabel(message)
        summary.setWordWrap(True)
        summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hint = QLabel(
            "Your photos are safe: photoorg never changes them. "
            "If this keeps happening, copy the details into a bug report."
        )
        hint.setWordWrap(True)
        hint.setEnabled(False)

        self.details = QPlainTextEdit(self._details_text)
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setMinimumHeight(180)
        self.details.setVisible(bool(details))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.clicked.connect(self.copy_details)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        if log_folder is not None:
            logs = QPushButton("Open log folder")
            logs.clicked.connect(
                lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_folder)))
            )
            buttons.addButton(logs, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        top = QHBoxLayout()
        top.addWidget(icon)
        text = QVBoxLayout()
        text.addWidget(summary)
        text.addWidget(hint)
        top.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)

    def details_text(self) -> str:
        return self._details_text

    @Slot()
    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self._details_text)
        self.copy_button.setText("Copied")


class ErrorReporter(QObject):
    """Shows errors from any thread as a dialog on the GUI thread (one at a time; repeats of
    the same message while one is open are only logged)."""

    _report = Signal(str, str)

    def __init__(self, log_folder: Path | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.log_folder = log_folder
        self.parent_widget: QWidget | None = None
        self.shown: list[str] = []
        self.interactive = True
        self._open: ErrorDialog | None = None
        self._report.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def report(self, message: str, details: str = "") -> None:
        """Thread-safe."""
        self._report.emit(message, details)

    @Slot(str, str)
    def _show(self, message: str, details: str) -> None:
        self.shown.append(message)
        if not self.interactive or self._open is not None:
            return
        dialog = ErrorDialog(message, details, self.log_folder, self.parent_widget)
        self._open = dialog
        dialog.finished.connect(self._closed)
        dialog.open()

    @Slot()
    def _closed(self) -> None:
        if self._open is not None:
            self._open.deleteLater()
        self._open = None

    def install_hooks(self) -> None:
        """``sys.excepthook`` / ``threading.excepthook`` → log + dialog."""

        def hook(
            kind: type[BaseException], exc: BaseException, tb: TracebackType | None
        ) -> None:
            if issubclass(kind, KeyboardInterrupt):
                QApplication.quit()
                return
            details = "".join(traceback.format_exception(kind, exc, tb))
            log.error("unhandled exception\n%s", details)
            self.report(f"Unexpected error: {exc or kind.__name__}", details)

        def thread_hook(args: threading.ExceptHookArgs) -> None:
            if args.exc_value is not None:
                hook(args.exc_type, args.exc_value, args.exc_traceback)

        sys.excepthook = hook
        threading.excepthook = thread_hook
