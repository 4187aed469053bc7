"""Settings: folders and exclusions, the search model, watching, XMP sidecars, thumbnails.

The dialog only edits values; the main window applies them through the controller."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from photoorg.config import Settings
from photoorg.ui.icons import icon

KNOWN_MODELS = [
    ("ViT-B-32-256/datacomp_s34b_b86k", "ViT-B/32-256 (DataComp) — recommended"),
    ("ViT-B-32/laion2b_s34b_b79k", "ViT-B/32 (LAION-2B) — a little faster"),
    ("ViT-B-16/laion2b_s34b_b88k", "ViT-B/16 (LAION-2B) — more accurate, slower"),
    ("photoorg-tiny/bundled", "photoorg tiny (shapes only) — for trying things out"),
]

WATCH_MODES = [
    ("auto", "Automatic", "Native notifications where they work, polling elsewhere."),
    ("native", "Native", "The operating system reports changes (fast, low CPU)."),
    ("polling", "Polling", "Look for changes every few seconds (network drives, NAS)."),
]


@dataclass
class SettingsResult:
    settings: Settings
    model: str
    added_folders: list[str] = field(default_factory=list)
    removed_folders: list[int] = field(default_factory=list)
    exclusions: list[str] = field(default_factory=list)
    clear_thumbnails: bool = False


class SettingsDialog(QDialog):
    clear_cache_requested = Signal()

    def __init__(self, settings: Settings, model: str, folders: list[tuple[int, str, bool]],
                 exclusions: list[str], cache_mb: float = 0.0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._settings = replace(settings)
        self._removed: list[int] = []
        self._clear = False
        tabs = QTabWidget()
        tabs.addTab(self._library_tab(folders, exclusions), "Library")
        tabs.addTab(self._model_tab(model), "Search model")
        tabs.addTab(self._general_tab(settings, cache_mb), "General")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)

    # -- tabs ------------------------------------------------------------------------------

    def _library_tab(self, folders: list[tuple[int, str, bool]], exclusions: list[str]) -> QWidget:
        page = QWidget()
        self.folders = QListWidget()
        for root_id, path, online in folders:
            item = QListWidgetItem(icon("folder" if online else "folder-offline"),
                                   path + ("" if online else "  (offline)"))
            item.setData(Qt.ItemDataRole.UserRole, root_id)
            self.folders.addItem(item)
        add = QPushButton(icon("folder-add"), "Add folder…")
        add.clicked.connect(self._add_folder)
        remove = QPushButton("Remove")
        remove.setToolTip("Forget this folder. The photos on disk are not touched.")
        remove.clicked.connect(self._remove_folder)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        self.exclusions = QPlainTextEdit("\n".join(exclusions))
        self.exclusions.setPlaceholderText("One pattern per line, e.g.  *.png   Screenshots   "
                                           "tmp/*")
        self.exclusions.setMaximumHeight(110)
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("<b>Folders in the library</b>"))
        layout.addWidget(self.folders)
        layout.addLayout(row)
        layout.addSpacing(8)
        layout.addWidget(QLabel("<b>Leave out</b> (files or folders matching these patterns)"))
        layout.addWidget(self.exclusions)
        return page

    def _model_tab(self, model: str) -> QWidget:
        page = QWidget()
        self.model = QComboBox()
        self.model.setEditable(True)
        for spec, label in KNOWN_MODELS:
            self.model.addItem(label, spec)
        found = self.model.findData(model)
        if found >= 0:
            self.model.setCurrentIndex(found)
        else:
            self.model.insertItem(0, model, model)
            self.model.setCurrentIndex(0)
        local = QPushButton("Use a local weights file…")
        local.clicked.connect(self._pick_weights)
        note = QLabel(
            "Changing the model re-indexes the library in the background; the current model "
            "keeps answering searches until the new one is complete. A local file is named "
            "as ARCHITECTURE/path, e.g. ViT-B-32-256/C:/models/open_clip_model.safetensors."
        )
        note.setWordWrap(True)
        note.setObjectName("pageHint")
        form = QFormLayout(page)
        form.addRow("Model", self.model)
        form.addRow("", local)
        form.addRow(note)
        return page

    def _general_tab(self, settings: Settings, cache_mb: float) -> QWidget:
        page = QWidget()
        self.watch_group = QButtonGroup(self)
        watch_box = QVBoxLayout()
        for mode, label, tip in WATCH_MODES:
            radio = QRadioButton(label)
            radio.setToolTip(tip)
            radio.setProperty("mode", mode)
            radio.setChecked(settings.watch_mode == mode)
            self.watch_group.addButton(radio)
            hint = QLabel(tip)
            hint.setObjectName("pageHint")
            hint.setContentsMargins(24, 0, 0, 4)
            watch_box.addWidget(radio)
            watch_box.addWidget(hint)
        self.sidecars = QCheckBox("Write XMP sidecar files with names and tags")
        self.sidecars.setChecked(settings.write_sidecars)
        self.sidecars.setToolTip("photo.jpg.xmp beside each photo, read by Lightroom, digiKam "
                                 "and darktable. The photos themselves are never changed.")
        self.read_text = QCheckBox("Read the words in photos (signs, documents, screenshots)")
        self.read_text.setChecked(settings.read_text)
        self.read_text.setToolTip("Search then finds photos by the text written in them. "
                                  "Runs offline, after everything else, on all new photos.")
        self.cache = QSpinBox()
        self.cache.setRange(64, 100_000)
        self.cache.setSingleStep(64)
        self.cache.setSuffix(" MB")
        self.cache.setValue(settings.thumbnail_cache_mb)
        clear = QPushButton("Clear thumbnails")
        clear.clicked.connect(self._clear_cache)
        self.cache_usage = QLabel(f"{usage_text(cache_mb)} in use")
        self.cache_usage.setObjectName("pageHint")
        cache_row = QHBoxLayout()
        cache_row.addWidget(self.cache)
        cache_row.addWidget(self.cache_usage)
        cache_row.addStretch(1)
        cache_row.addWidget(clear)
        form = QFormLayout(page)
        form.addRow(QLabel("<b>Watch folders for changes</b>"))
        form.addRow(watch_box)
        form.addRow(QLabel("<b>Other programs</b>"))
        form.addRow(self.sidecars)
        form.addRow(self.read_text)
        form.addRow(QLabel("<b>Thumbnail cache</b>"))
        form.addRow("Up to", cache_row)
        return page

    # -- actions -----------------------------------------------------------------------

    def _add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if path:
            item = QListWidgetItem(icon("folder"), path)
            item.setData(Qt.ItemDataRole.UserRole, None)
            self.folders.addItem(item)

    def _remove_folder(self) -> None:
        for item in self.folders.selectedItems():
            root_id = item.data(Qt.ItemDataRole.UserRole)
            if root_id is not None:
                self._removed.append(int(root_id))
            self.folders.takeItem(self.folders.row(item))

    def _pick_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose CLIP weights", "", "Weights (*.safetensors *.bin *.pt *.pth)")
        if path:
            arch = (self.model.currentData() or self.model.currentText()).split("/")[0]
            spec = f"{arch}/{path}"
            self.model.insertItem(0, spec, spec)
            self.model.setCurrentIndex(0)

    def _clear_cache(self) -> None:
        self._clear = True
        self.cache_usage.setText("cleared when you press OK")

    def result_values(self) -> SettingsResult:
        checked = self.watch_group.checkedButton()
        mode = checked.property("mode") if checked is not None else "auto"
        settings = replace(self._settings, watch_mode=str(mode),
                           write_sidecars=self.sidecars.isChecked(),
                           read_text=self.read_text.isChecked(),
                           thumbnail_cache_mb=self.cache.value())
        model = self.model.currentData()
        if model is None or self.model.currentText() != self.model.itemText(
                self.model.currentIndex()):
            model = self.model.currentText()
        added = [self.folders.item(i).text() for i in range(self.folders.count())
                 if self.folders.item(i).data(Qt.ItemDataRole.UserRole) is None]
        patterns = [p.strip() for p in self.exclusions.toPlainText().splitlines() if p.strip()]
        return SettingsResult(settings, str(model), added, list(self._removed), patterns,
                              self._clear)


def usage_text(mb: float) -> str:
    """Disk use in words that never say 0 for something there ("0.3 MB", "12 MB")."""
    if mb <= 0:
        return "Nothing"
    if mb < 0.1:
        return "under 0.1 MB"
    return f"{mb:.1f} MB" if mb < 10 else f"{mb:,.0f} MB"
