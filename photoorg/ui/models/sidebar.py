"""The sidebar's two-level model: sections (Library, Browse, Tags & Albums) and their entries.

Each entry carries what it opens (``NAV_ROLE``: ``(kind, arg, label)``) and a count shown at
the right edge (``COUNT_ROLE``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QGuiApplication, QPalette

from photoorg.ui.icons import icon

Index = QModelIndex | QPersistentModelIndex

NAV_ROLE = Qt.ItemDataRole.UserRole + 1
COUNT_ROLE = Qt.ItemDataRole.UserRole + 2
DEPTH_ROLE = Qt.ItemDataRole.UserRole + 3  # folder tree: how deep (0 = a library folder)
EXPANDED_ROLE = Qt.ItemDataRole.UserRole + 4  # None: no subfolders; else open or closed

_SECTION = 0  # internal id of section rows; entries use their section's row + 1


@dataclass
class Entry:
    nav: tuple  # (kind, arg, label); () for a hint line that opens nothing
    text: str
    icon: str = ""
    count: str = ""
    tooltip: str = ""
    depth: int = 0
    expanded: bool | None = None
    path: str = ""  # a folder's place on disk


@dataclass
class Section:
    key: str
    title: str
    entries: list[Entry] = field(default_factory=list)


class SidebarModel(QAbstractItemModel):
    def __init__(self, sections: list[Section], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sections = sections

    # -- content -------------------------------------------------------------------------

    def section(self, key: str) -> Section:
        return next(s for s in self._sections if s.key == key)

    def set_entries(self, changes: dict[str, list[Entry]]) -> None:
        self.beginResetModel()
        for key, entries in changes.items():
            self.section(key).entries = entries
        self.endResetModel()

    def entry(self, index: Index) -> Entry | None:
        if not index.isValid() or index.internalId() == _SECTION:
            return None
        return self._sections[index.internalId() - 1].entries[index.row()]

    def find(self, kind: str, arg: Any = None) -> QModelIndex | None:
        for srow, section in enumerate(self._sections):
            for row, entry in enumerate(section.entries):
                if entry.nav and entry.nav[0] == kind and (arg is None or entry.nav[1] == arg):
                    return self.createIndex(row, 0, srow + 1)
        return None

    # -- Qt model API ----------------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column != 0 or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, 0, _SECTION) if row < len(self._sections) \
                else QModelIndex()
        if parent.internalId() != _SECTION or parent.column() != 0:
            return QModelIndex()
        entries = self._sections[parent.row()].entries
        return self.createIndex(row, 0, parent.row() + 1) if row < len(entries) \
            else QModelIndex()

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid() or index.internalId() == _SECTION:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, _SECTION)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        if not parent.isValid():
            return len(self._sections)
        if parent.internalId() == _SECTION and parent.column() == 0:
            return len(self._sections[parent.row()].entries)
        return 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 1

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if index.internalId() == _SECTION:
            return Qt.ItemFlag.ItemIsEnabled
        entry = self.entry(index)
        if entry is None or not entry.nav:
            return Qt.ItemFlag.ItemNeverHasChildren
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemNeverHasChildren)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if index.internalId() == _SECTION:
            section = self._sections[index.row()]
            if role == Qt.ItemDataRole.DisplayRole:
                return section.title.upper()
            if role == Qt.ItemDataRole.FontRole:
                font = QFont(QGuiApplication.font())
                font.setBold(True)
                font.setPointSizeF(max(7.0, font.pointSizeF() * 0.82))
                font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 106)
                return font
            if role == Qt.ItemDataRole.ForegroundRole:
                return QGuiApplication.palette().brush(QPalette.ColorRole.PlaceholderText)
            return None
        entry = self.entry(index)
        assert entry is not None
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.text
        if role == Qt.ItemDataRole.DecorationRole:
            return icon(entry.icon) if entry.icon else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return entry.tooltip or None
        if role == Qt.ItemDataRole.ForegroundRole and not entry.nav:
            return QGuiApplication.palette().brush(QPalette.ColorRole.PlaceholderText)
        if role == NAV_ROLE:
            return entry.nav
        if role == COUNT_ROLE:
            return entry.count
        if role == DEPTH_ROLE:
            return entry.depth
        if role == EXPANDED_ROLE:
            return entry.expanded
        return None
