"""The sidebar: library folders with their status, then People · Pets · Places · Scenes,
then tags and albums. Picking an entry emits ``navigate((kind, arg, label))``."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QMouseEvent,
    QPainter,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QWidget,
)

from photoorg.core.app.api import stars_label
from photoorg.core.app.window_backend import Overview
from photoorg.ui.models.sidebar import (
    COUNT_ROLE,
    DEPTH_ROLE,
    EXPANDED_ROLE,
    NAV_ROLE,
    Entry,
    Section,
    SidebarModel,
)

Index = QModelIndex | QPersistentModelIndex

KIND_LABELS = {"people": "People", "pets": "Pets", "places": "Places", "scenes": "Scenes"}
INDENT = 14  # per folder level
ARROW = 14  # the open/close triangle's width


def tag_label(name: str) -> str:
    """A tag as people read it: ``People|Angelina`` → ``People › Angelina``."""
    return " › ".join(part.strip() for part in name.split("|"))


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

    @staticmethod
    def count_rect(option: QStyleOptionViewItem, index: Index) -> QRect:
        """Where the count is drawn (empty when there is none)."""
        count = index.model().data(index, COUNT_ROLE)
        if not count:
            return QRect()
        width = option.fontMetrics.horizontalAdvance(str(count))
        rect = option.rect.adjusted(0, 0, -8, 0)
        return QRect(rect.right() - width + 1, rect.y(), width, rect.height())

    @classmethod
    def label_rect(cls, option: QStyleOptionViewItem, index: Index) -> QRect:
        """Where the icon and label go: left of the count with a gap, so a long name is
        elided instead of running under its count."""
        depth = index.model().data(index, DEPTH_ROLE) or 0
        expanded = index.model().data(index, EXPANDED_ROLE)
        left = depth * INDENT + ARROW if (depth or expanded is not None) else 0
        count = cls.count_rect(option, index)
        right = option.rect.right() - count.left() + 8 if not count.isNull() else 0
        return option.rect.adjusted(left, 0, -right, 0)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        depth = index.model().data(index, DEPTH_ROLE) or 0
        expanded = index.model().data(index, EXPANDED_ROLE)
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        # the row's background (hover, selection) across the whole width
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter,
                            widget)
        shifted = QStyleOptionViewItem(option)
        shifted.rect = self.label_rect(option, index)
        super().paint(painter, shifted, index)
        if expanded is not None:
            left = depth * INDENT
            arrow = QRect(option.rect.x() + left, option.rect.y(), ARROW, option.rect.height())
            painter.save()
            painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(arrow, Qt.AlignmentFlag.AlignCenter, "▾" if expanded else "▸")
            painter.restore()
        count = index.model().data(index, COUNT_ROLE)
        if not count:
            return
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = (QPalette.ColorRole.HighlightedText if selected
                else QPalette.ColorRole.PlaceholderText)
        painter.setPen(option.palette.color(role))
        painter.drawText(self.count_rect(option, index),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(count))
        painter.restore()


class Sidebar(QTreeView):
    navigate = Signal(tuple)
    menu_requested = Signal(tuple, QPoint)  # nav of the entry, global position
    photos_dropped = Signal(tuple, list)  # nav of an album or tag, photo paths

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
        self._overview: Overview | None = None
        self._folders_open: set[tuple[int, str]] = set()  # subfolders the user opened
        self._folders_closed: set[int] = set()  # library folders the user closed
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_menu)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
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
        self.selectionModel().clear()  # the current entry too: nothing reads as "shown"
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
        self._overview = overview
        nav = self.current_nav() if self.selectionModel().hasSelection() else None
        counts = overview.library or {}
        total = counts.get("photos", sum(f.total - f.skipped for f in overview.folders))
        library = [Entry(("all", None, "All photos"), "All photos", "photos",
                         f"{total:,}" if total else "")]
        library += self._folder_entries(overview)
        unreadable = counts.get("unreadable", 0)
        if unreadable or counts.get("failed"):
            library.append(Entry(("unreadable", None, "Couldn't read"), "Couldn't read",
                                 "warning", f"{unreadable:,}" if unreadable else "",
                                 "Files that are in your folders but could not be read, "
                                 "and work that failed and will be tried again"))
        library.append(Entry(("duplicates", None, "Duplicates"), "Duplicates", "duplicates",
                             "", "Near-identical photos, with the one to keep suggested"))
        library.append(Entry(("events", None, "Events"), "Events", "album", "",
                             "Outings and trips found by date and place, to keep as albums"))
        browse = []
        for kind, label in KIND_LABELS.items():
            n = overview.clusters.get(kind, 0)
            browse.append(Entry(("clusters", kind, label), label, kind, f"{n:,}" if n else ""))
        if overview.text_photos:  # the "has text" filter
            browse.append(Entry(("text", None, "Photos with text"), "Photos with text", "text",
                                f"{overview.text_photos:,}"))
        tags = [Entry(("tag", name, tag_label(name)), tag_label(name), "tag",
                      f"{count:,}", tag_label(name)) for name, count in overview.tags]
        counts_of = overview.album_counts
        tags += [Entry(("album", name, name), name, "album",
                       f"{counts_of[name]:,}" if counts_of.get(name) else "")
                 for name in overview.albums]
        tags += [Entry(("rating", n, stars_label(n)), stars_label(n), "tag", f"{count:,}",
                       f"Photos rated {n} stars or more")
                 for n, count in sorted(overview.ratings.items(), reverse=True)]
        if not tags:
            tags = [Entry((), "Name a person or tag photos")]
        self._quiet = True
        scroll = self.verticalScrollBar().value()  # a drop or a count change keeps the place
        try:
            self.sidebar_model.set_entries({"library": library, "browse": browse, "tags": tags})
            self.expandAll()
            self.verticalScrollBar().setValue(scroll)
            if nav is not None:
                index = self.item_for(nav[0], nav[1])
                if index is not None:
                    self.selectionModel().setCurrentIndex(
                        index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._quiet = False

    def _folder_entries(self, overview: Overview) -> list[Entry]:
        status = {f.root_id: f for f in overview.folders}
        out: list[Entry] = []

        def add(node: Any, depth: int, online: bool) -> None:
            key = (node.root_id, node.rel)
            has_children = bool(node.children)
            if depth == 0:
                is_open = node.root_id not in self._folders_closed
            else:
                is_open = key in self._folders_open
            expanded = is_open if has_children else None
            if depth == 0:
                f = status.get(node.root_id)
                # readable photos, as All photos counts them (skipped ones: "Couldn't read")
                count = folder_status_text(f.total - f.skipped, f.indexed, f.pending,
                                           f.online) if f else f"{node.total:,}"
                tip = str(node.path)
                if f is not None:
                    tip += f"\n{f.indexed:,} indexed · {f.pending:,} waiting"
                    if f.skipped:
                        tip += f" · {f.skipped:,} couldn't be read"
                if not online:
                    tip += ("\nOffline: the folder cannot be reached. Its photos come back "
                            "when it does.")
                nav: tuple = ("folder", node.root_id, node.name)
            else:
                count = "offline" if not online else ("missing" if node.missing
                                                      else f"{node.total:,}")
                tip = str(node.path)
                if node.missing:
                    tip += ("\nMissing: this folder is gone from the disk. Its photos' tags, "
                            "names and faces are kept: put it back, under any name.")
                nav = ("subfolder", (node.root_id, node.rel), node.name)
            gone = not online or node.missing
            out.append(Entry(nav, node.name, "folder-offline" if gone else "folder", count, tip,
                             depth, expanded, str(node.path)))
            if has_children and is_open:
                for child in node.children:
                    add(child, depth + 1, online)

        for top in overview.tree:
            add(top, 0, top.online)
        if not overview.tree:  # an overview without the tree (older engine): flat folders
            for f in overview.folders:
                out.append(Entry(("folder", f.root_id, f.path.name), f.path.name or str(f.path),
                                 "folder" if f.online else "folder-offline",
                                 folder_status_text(f.total, f.indexed, f.pending, f.online),
                                 str(f.path), path=str(f.path)))
        return out

    def toggle_folder(self, nav: tuple) -> None:
        """Open or close a folder's subfolders."""
        kind, arg = nav[0], nav[1]
        if kind == "folder":
            self._folders_closed ^= {int(arg)}
        elif kind == "subfolder":
            self._folders_open ^= {(int(arg[0]), str(arg[1]))}
        if self._overview is not None:
            self.set_overview(self._overview)

    def entry_at(self, pos: QPoint) -> Entry | None:
        return self.sidebar_model.entry(self.indexAt(pos))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position().toPoint()
        index = self.indexAt(pos)
        entry = self.sidebar_model.entry(index)
        if entry is not None and entry.expanded is not None:
            left = self.visualRect(index).x() + entry.depth * INDENT
            if left <= pos.x() < left + ARROW:
                self.toggle_folder(entry.nav)
                return
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        entry = self.entry_at(event.position().toPoint())
        if entry is not None and entry.expanded is not None:
            self.toggle_folder(entry.nav)
            return
        super().mouseDoubleClickEvent(event)

    def _on_menu(self, pos: QPoint) -> None:
        entry = self.entry_at(pos)
        if entry is not None and entry.nav:
            self.menu_requested.emit(tuple(entry.nav), self.viewport().mapToGlobal(pos))

    # -- dropping photos on an album or tag ----------------------------------------------

    def _drop_target(self, event: Any) -> tuple | None:
        entry = self.entry_at(event.position().toPoint())
        if entry is None or not entry.nav or entry.nav[0] not in ("album", "tag"):
            return None
        return tuple(entry.nav) if event.mimeData().hasUrls() else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if self._drop_target(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        target = self._drop_target(event)
        if target is None:
            event.ignore()
            return
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        event.acceptProposedAction()
        if paths:
            self.photos_dropped.emit(target, paths)

    def nav_of(self, index: QModelIndex) -> tuple:
        return tuple(self.sidebar_model.data(index, NAV_ROLE) or ())
