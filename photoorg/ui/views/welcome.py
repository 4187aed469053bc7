"""First run: add folders or try the sample photos; get the search model (download with
progress and cancel, or a local weights file); offline, say what still works."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from photoorg.ui.icons import app_icon, icon

OFFLINE_TEXT = (
    "Without the model photoorg still shows, watches and organizes your folders and groups "
    "faces into people. Search and “Find similar” turn on as soon as the model is here: "
    "download it later, or choose a weights file you already have."
)


def _short_reason(message: str) -> str:
    """One readable line out of a loader's long explanation (the tooltip has it all)."""
    lowered = message.lower()
    if "cannot reach" in lowered or "offline" in lowered or "connect" in lowered:
        return "the model could not be downloaded (no connection to the model server)."
    if "not found" in lowered or "missing" in lowered:
        return "the model's weights file was not found."
    first = message.split(". ")[0].strip() or "the model could not be loaded"
    return first if len(first) < 140 else first[:137] + "…"


class ModelPanel(QFrame):
    """The search model's state, with Download / Cancel / Use a local file."""

    download_requested = Signal()
    cancel_requested = Signal()
    local_file_requested = Signal()

    def __init__(self, compact: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelBanner" if compact else "modelCard")
        self.compact = compact
        self.state = ""
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.detail = QLabel(OFFLINE_TEXT)
        self.detail.setWordWrap(True)
        self.detail.setObjectName("pageHint")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(160)
        self.download = QPushButton(icon("download"), "Download model")
        self.download.clicked.connect(self.download_requested)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancel_requested)
        self.local = QPushButton("Use a local weights file…")
        self.local.clicked.connect(self.local_file_requested)

        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.download)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.local)
        if not compact:
            buttons.addStretch(0)
        layout = QHBoxLayout(self) if compact else QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(8)
        layout.addWidget(self.status, 1)
        if not compact:
            layout.addWidget(self.detail)
        layout.addLayout(buttons)
        self.set_state("", "")

    def set_state(self, state: str, spec: str, message: str = "") -> None:
        self.state = state
        name = spec or "the search model"
        downloading = state == "downloading"
        self.progress.setVisible(downloading)
        self.cancel.setVisible(downloading)
        self.download.setVisible(state in ("missing", "unavailable", "cancelled"))
        self.local.setVisible(state in ("missing", "unavailable", "cancelled"))
        self.detail.setVisible(not self.compact and state in ("missing", "unavailable",
                                                              "cancelled"))
        self.status.setToolTip(message)
        if state == "ready":
            text = f"<b>Search is ready</b> — model {name}."
        elif state in ("loading", ""):
            text = f"Loading the search model ({name})…" if spec else "Checking the search model…"
        elif downloading:
            text = f"<b>Downloading the search model</b> ({name})…"
            self.progress.setRange(0, 0)
        elif state == "unavailable":
            text = f"<b>Search is off:</b> {_short_reason(message)}"
        elif state == "cancelled":
            text = "<b>Download cancelled.</b> Search stays off until the model is here."
        else:
            text = (f"<b>Search needs a model</b> ({name}, a few hundred MB), downloaded once "
                    "and kept on this computer.")
        self.status.setText(text)
        if self.compact:
            self.setVisible(state not in ("ready", "loading", ""))

    def set_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.progress.setFormat(f"{done / 1e6:.0f} of {total / 1e6:.0f} MB")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"{done / 1e6:.0f} MB")


class WelcomePage(QWidget):
    add_folder_requested = Signal()
    samples_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(96, 96))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("Welcome to photoorg")
        title.setObjectName("welcomeTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle = QLabel(
            "Find any photo by describing it, see people, pets, places and scenes grouped "
            "for you — all on this computer. Your photos are never changed or uploaded."
        )
        subtitle.setWordWrap(True)
        subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle.setObjectName("welcomeSubtitle")

        self.add_button = QPushButton(icon("folder-add"), "  Add a photo folder…")
        self.add_button.setObjectName("primaryButton")
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(self.add_folder_requested)
        self.sample_button = QPushButton(icon("sample"), "  Try the sample photos")
        self.sample_button.clicked.connect(self.samples_requested)
        for button in (self.add_button, self.sample_button):
            button.setMinimumHeight(40)
            button.setMinimumWidth(220)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        buttons.addSpacing(12)
        buttons.addWidget(self.sample_button)
        buttons.addStretch(1)
        note = QLabel("You can add more folders, and choose folders to leave out, "
                      "in Settings at any time.")
        note.setObjectName("pageHint")
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.model_panel = ModelPanel()

        column = QVBoxLayout()
        column.setSpacing(14)
        column.addStretch(2)
        column.addWidget(logo)
        column.addWidget(title)
        column.addWidget(subtitle)
        column.addSpacing(14)
        column.addLayout(buttons)
        column.addWidget(note)
        column.addSpacing(22)
        column.addWidget(self.model_panel)
        column.addStretch(3)
        inner = QWidget()
        inner.setLayout(column)
        inner.setMaximumWidth(640)
        inner.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(inner, 4)
        outer.addStretch(1)
