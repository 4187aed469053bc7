"""The "Couldn't read" page: every file in the folders that could not be read, with the reason,
so nothing is silently left out; Retry puts them back in the indexing queue."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photoorg.core.app.api import display_name

ID_ROLE = Qt.ItemDataRole.UserRole + 1
STEP_NAMES = {"embed": "Search", "info": "Size and date", "metadata": "Tags from other apps",
              "faces": "Faces", "clusters": "Grouping", "names": "Name suggestions",
              "sidecars": "Sidecars", "text": "Words in photos"}


class UnreadablePage(QWidget):
    retry_requested = Signal(list)  # photo ids; [] = all
    show_requested = Signal(str)  # a path to show in the file manager

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._retrying = 0  # files put back in the queue, not yet read again
        self.title = QLabel("Couldn't read")
        self.title.setObjectName("pageTitle")
        self.summary = QLabel("")
        self.summary.setObjectName("pageHint")
        self.summary.setWordWrap(True)
        self.problems_title = QLabel("Not done yet")
        self.problems_title.setObjectName("sectionTitle")
        self.problems = QTreeWidget()  # one line per stage and cause, never one per photo
        self.problems.setHeaderLabels(["Step", "What failed", "Photos", "For example"])
        self.problems.setRootIsDecorated(False)
        self.problems.setUniformRowHeights(True)
        self.problems.setMaximumHeight(160)
        self.problems.header().setStretchLastSection(True)
        self.problems_title.hide()
        self.problems.hide()
        self.table = QTreeWidget()
        self.table.setHeaderLabels(["File", "Folder", "Why", "Details"])
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemDoubleClicked.connect(
            lambda item, _c: self.show_requested.emit(item.toolTip(0)))
        self.retry_all = QPushButton("Retry all")
        self.retry_all.setToolTip("Try to read every file again (after fixing or replacing "
                                  "them, or installing HEIF/RAW support)")
        self.retry_all.clicked.connect(lambda: self.retry_requested.emit([]))
        self.retry_selected = QPushButton("Retry selected")
        self.retry_selected.clicked.connect(
            lambda: self.retry_requested.emit(self.selected_ids()))
        self.show_file = QPushButton("Show in folder")
        self.show_file.clicked.connect(self._show_current)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.retry_all)
        buttons.addWidget(self.retry_selected)
        buttons.addWidget(self.show_file)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addWidget(self.problems_title)
        layout.addWidget(self.problems)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._selection_changed()

    def retry_started(self, n: int) -> None:
        """The files were put back in the queue: say so until they have been read again
        (until then the list is empty, which is not "every file could be read")."""
        self._retrying = n
        self.table.clear()
        self.summary.setText(f"Trying {n:,} file{'s' if n != 1 else ''} again…")
        self.retry_all.setEnabled(False)
        self._selection_changed()

    def retry_finished(self) -> None:
        self._retrying = 0

    @property
    def retrying(self) -> bool:
        return bool(self._retrying)

    def set_files(self, files: list[Any]) -> None:
        """``files``: :class:`photoorg.core.search.browse.Unreadable` rows."""
        if self._retrying and not files:
            return  # still being read again: keep saying so
        self._retrying = 0
        self.table.clear()
        items = []
        for f in files:
            item = QTreeWidgetItem([display_name(f.path.name), display_name(str(f.path.parent)),
                                    f.reason, f.detail])
            item.setData(0, ID_ROLE, f.id)
            item.setToolTip(0, display_name(str(f.path)))
            item.setToolTip(3, f.detail)
            if not f.online:
                item.setText(2, f"{f.reason} (folder offline)")
            items.append(item)
        self.table.addTopLevelItems(items)
        n = len(files)
        if not n:
            self.summary.setText("Every file in your folders could be read.")
        else:
            reasons = Counter(f.reason for f in files)
            parts = ", ".join(f"{count:,} {reason}" for reason, count in reasons.most_common())
            self.summary.setText(
                f"{n:,} file{'s' if n != 1 else ''} in your folders could not be read and "
                f"{'are' if n != 1 else 'is'} not in All photos: {parts}. "
                "Your files are untouched.")
        self.retry_all.setEnabled(bool(n))
        self._selection_changed()

    def set_problems(self, causes: list[Any]) -> None:
        """``causes``: :class:`photoorg.core.store.failures.Cause`, one line each."""
        self.problems.clear()
        for cause in causes:
            item = QTreeWidgetItem([STEP_NAMES.get(cause.stage, cause.stage), cause.reason,
                                    f"{cause.count:,}" if cause.photos else "",
                                    ", ".join(Path(e).name for e in cause.examples)])
            item.setToolTip(1, cause.line())
            item.setToolTip(3, "\n".join(cause.examples))
            self.problems.addTopLevelItem(item)
        self.problems_title.setVisible(bool(causes))
        self.problems.setVisible(bool(causes))
        if causes:
            self.problems_title.setText(
                "Not done yet: tried again when indexing runs next"
                + (" (some have used every try and wait until the file changes)"
                   if any(c.gave_up for c in causes) else ""))

    def problem_lines(self) -> list[str]:
        return [self.problems.topLevelItem(i).toolTip(1)
                for i in range(self.problems.topLevelItemCount())]

    def row_count(self) -> int:
        return self.table.topLevelItemCount()

    def selected_ids(self) -> list[int]:
        return [int(i.data(0, ID_ROLE)) for i in self.table.selectedItems()]

    def _selection_changed(self) -> None:
        n = len(self.table.selectedItems())
        self.retry_selected.setEnabled(n > 0)
        self.show_file.setEnabled(n == 1)

    def _show_current(self) -> None:
        items = self.table.selectedItems()
        if items:
            self.show_requested.emit(items[0].toolTip(0))
