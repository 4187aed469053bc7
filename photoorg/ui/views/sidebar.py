"""The sidebar: library folders with their status, then People · Pets · Places · Scenes,
then tags and albums. Picking an entry emits ``navigate((kind, arg, label))``."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QWidget,
)

from photoorg.ui.engine import Overview
from photoorg.ui.models.sidebar import COUNT_ROLE, NAV_ROLE, Entry, Section, SidebarModel

Index = QModelIndex | QPersistentModelIndex

KIND_LABELS = {"people": "People", "pets": "Pets", "places": "Places", "scenes": "Scenes"}


def folder_status_text(total: int, indexed: int, pending: int, online: bool) -> str:
    if not online:
        return "offline"
    if pending:
        return f"{indexed:,}/{total:,}"
    return f"{total:,}"


class _CountDelegate(QStyledItemDelegate):
    """Draws the entry as usual, then its count right-aligned in a quieter colour."""

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), option.fontMetrics.height() + 10))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        super().paint(painter, option, index)
        count = index.model().data(index, COUNT_ROLE)
        if not count:
            return
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = (QPalette.ColorRole.HighlightedText if selected
                else QPalette.ColorRole.PlaceholderText)
        painter.setPen(option.palette.color(role))
        painter.drawText(option.rect.adjusted(0, 0, -8, 0),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(count))
        painter.restore()


class Sidebar(QTreeView):
    navigate = Signal(tuple)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sidebar_model = SidebarModel([
            Section("library", "Library", [Entry(("all", None, "All photos"), "All photos",
                                                 "photos")]),
            Section("browse", "Browse", [Entry(("clusters", kind, label), label, kind)
                                         for kind, label in KIND_LABELS.items()]),
            Section("tags", "Tags & Albums", [Entry((), "Name a person or tag photos")]),
        ], self)
        self.setModel(self.sidebar_model)
        self.setItemDelegate(_CountDelegate(self))
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setItemsExpandable(False)
        self.setIndentation(10)
        self.setIconSize(QSize(18, 18))
        self.setUniformRowHeights(True)
        self.setFrameShape(QTreeView.Shape.NoFrame)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setMinimumWidth(200)
        self.setObjectName("sidebar")
        self._quiet = False
        self.expandAll()
        self.selectionModel().selectionChanged.connect(self._on_selection)
        self.select_nav("all")

    # -- lookups -------------------------------------------------------------------------

    def items_of(self, section: str) -> list[Entry]:
        return list(self.sidebar_model.section(section).entries)

    def item_for(self, kind: str, arg: Any = None) -> QModelIndex | None:
        return self.sidebar_model.find(kind, arg)

    @staticmethod
    def count_of(entry: Entry) -> str:
        return entry.count

    def current_nav(self) -> tuple | None:
        entry = self.sidebar_model.entry(self.currentIndex())
        return entry.nav if entry is not None and entry.nav else None

    # -- selection -------------------------------------------------------------------------

    def activate(self, kind: str, arg: Any = None) -> None:
        """Select an entry as a click would (navigates)."""
        index = self.item_for(kind, arg)
        if index is not None:
            self.setCurrentIndex(index)

    def select_nav(self, kind: str, arg: Any = None) -> None:
        """Select an entry without navigating (the window already shows it)."""
        index = self.item_for(kind, arg)
        if index is not None:
            self._quiet = True
            self.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self._quiet = False

    def clear_selection_quietly(self) -> None:
        self._quiet = True
        self.clearSelection()
        self._quiet = False

    def _on_selection(self) -> None:
        if self._quiet:
            return
        indexes = self.selectionModel().selectedIndexes()
        entry = self.sidebar_model.entry(indexes[0]) if indexes else None
        if entry is not None and entry.nav:
            self.navigate.emit(tuple(entry.nav))

    # -- content ---------------------------------------------------------------------------

    def set_overview(self, overview: Overview) -> None:
        """Counts, folders and tags; the selection stays on the same entry."""
        nav = self.current_nav() if self.selectionModel().hasSelection() else None
        total = sum(f.total - f.skipped for f in overview.folders if f.online)
        library = [Entry(("all", None, "All photos"), "All photos", "photos",
                         f"{total:,}" if total else "")]
        for f in overview.folders:
            tip = f"{f.path}\n{f.indexed:,} indexed · {f.pending:,} waiting"
            if f.skipped:
                tip += f" · {f.skipped:,} skipped"
            if not f.online:
                tip += "\nOffline: the folder cannot be reached. Its photos come back when it does."
            library.append(Entry(("folder", f.root_id, f.path.name), f.path.name or str(f.path),
                                 "folder" if f.online else "folder-offline",
                                 folder_status_text(f.total, f.indexed, f.pending, f.online), tip))
        browse = []
        for kind, label in KIND_LABELS.items():
            n = overview.clusters.get(kind, 0)
            browse.append(Entry(("clusters", kind, label), label, kind, f"{n:,}" if n else ""))
        if overview.text_photos:  # the "has text" filter
            browse.append(Entry(("text", None, "Photos with text"), "Photos with text", "text",
                                f"{overview.text_photos:,}"))
        tags = [Entry(("tag", name, name.rsplit("|", 1)[-1]), name.replace("|", " › "), "tag",
                      f"{count:,}", name) for name, count in overview.tags]
        tags += [Entry(("album", name, name), name, "album") for name in overview.albums]
        if not tags:
            tags = [Entry((), "Name a person or tag photos")]
        self._quiet = True
        try:
            self.sidebar_model.set_entries({"library": library, "browse": browse, "tags": tags})
            self.expandAll()
            if nav is not None:
                index = self.item_for(nav[0], nav[1])
                if index is not None:
                    self.selectionModel().setCurrentIndex(
                        index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._quiet = False

    def nav_of(self, index: QModelIndex) -> tuple:
        return tuple(self.sidebar_model.data(index, NAV_ROLE) or ())
