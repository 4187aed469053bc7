"""Cluster cards (people, pets, places, scenes): editable names, drag one onto another to
merge. The model only reports what the user asked (``rename_requested``,
``merge_requested``); the controller writes and reloads."""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)

from photoorg.core.app.api import FACE_KINDS
from photoorg.core.app.api import ClusterRow as ClusterInfo
from photoorg.ui.thumbstore import ThumbnailStore

Index = QModelIndex | QPersistentModelIndex
MIME = "application/x-photoorg-clusters"


class ClusterRole(IntEnum):
    Id = Qt.ItemDataRole.UserRole + 1
    Kind = Qt.ItemDataRole.UserRole + 2
    Count = Qt.ItemDataRole.UserRole + 3
    Named = Qt.ItemDataRole.UserRole + 4
    Round = Qt.ItemDataRole.UserRole + 5
    Suggestion = Qt.ItemDataRole.UserRole + 6  # (name, confidence) or None


class ClusterListModel(QAbstractListModel):
    rename_requested = Signal(int, str)
    merge_requested = Signal(list, int)  # source ids, target id

    def __init__(self, store: ThumbnailStore | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._items: list[ClusterInfo] = []
        self.kind = ""
        if store is not None:
            store.updated.connect(self._on_thumbnails)

    def set_clusters(self, kind: str, items: list[ClusterInfo]) -> None:
        self.beginResetModel()
        self.kind = kind
        self._items = list(items)
        self.endResetModel()

    def cluster(self, row: int) -> ClusterInfo:
        return self._items[row]

    def row_of_id(self, cluster_id: int) -> int | None:
        return next((i for i, c in enumerate(self._items) if c.id == cluster_id), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return item.title
        if role == Qt.ItemDataRole.EditRole:
            return item.name or ""
        if role == Qt.ItemDataRole.ToolTipRole:
            unit = "photo" if item.count == 1 else "photos"
            tip = f"{item.title} · {item.count:,} {unit}"
            if item.name is None and item.suggestion:
                tip += (f"\nSuggested name: {item.suggestion} "
                        f"({item.suggestion_confidence:.0%} sure) — click it to use it")
            return tip
        if role == Qt.ItemDataRole.DecorationRole:
            if self._store is None or not item.cover_key:
                return None
            # the store picks the cached size for the screen (faces and covers alike)
            return self._store.pixmap(item.cover_key, item.cover_path, None, item.cover_crop)
        if role == ClusterRole.Id:
            return item.id
        if role == ClusterRole.Kind:
            return item.kind
        if role == ClusterRole.Count:
            return item.count
        if role == ClusterRole.Named:
            return item.name is not None
        if role == ClusterRole.Round:
            return item.kind in FACE_KINDS
        if role == ClusterRole.Suggestion:
            if item.name is None and item.suggestion:
                return (item.suggestion, item.suggestion_confidence)
            return None
        return None

    def accept_suggestion(self, row: int) -> bool:
        """The user clicked the suggested name: it becomes the cluster's name (nothing is
        named without that click)."""
        if not 0 <= row < len(self._items) or not self._items[row].suggestion:
            return False
        return self.setData(self.index(row), self._items[row].suggestion)

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        name = str(value).strip()
        item = self._items[index.row()]
        if not name or name == item.name:
            return False
        item.name = name  # shown at once; the controller writes and reloads
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole,
                                             Qt.ItemDataRole.EditRole])
        self.rename_requested.emit(item.id, name)
        return True

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDragEnabled
                | Qt.ItemFlag.ItemIsDropEnabled | Qt.ItemFlag.ItemNeverHasChildren)

    def roleNames(self) -> dict[int, bytes]:  # noqa: N802
        names = dict(super().roleNames())
        names.update({ClusterRole.Id: b"clusterId", ClusterRole.Kind: b"kind",
                      ClusterRole.Count: b"count", ClusterRole.Named: b"named",
                      ClusterRole.Round: b"round", ClusterRole.Suggestion: b"suggestion"})
        return names

    # -- drag one card onto another: merge ----------------------------------------------

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802
        mime = QMimeData()
        ids = sorted({self._items[i.row()].id for i in indexes if i.isValid()})
        mime.setData(MIME, QByteArray(json.dumps({"kind": self.kind, "ids": ids}).encode()))
        return mime

    def _payload(self, data: QMimeData) -> list[int]:
        if not data.hasFormat(MIME):
            return []
        try:
            payload = json.loads(bytes(data.data(MIME).data()))
        except ValueError:
            return []
        if payload.get("kind") != self.kind:
            return []
        return [int(i) for i in payload.get("ids", [])]

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                        parent: Index) -> bool:
        if not parent.isValid():
            return False
        target = self._items[parent.row()].id
        return any(i != target for i in self._payload(data))

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                     parent: Index) -> bool:
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        target = self._items[parent.row()].id
        sources = [i for i in self._payload(data) if i != target]
        self.merge_requested.emit(sources, target)
        return False  # nothing moves here: the merge reloads the list

    @Slot(list)
    def _on_thumbnails(self, keys: list[str]) -> None:
        wanted = set(keys)
        for row, item in enumerate(self._items):
            if item.cover_key in wanted:
                index = self.index(row)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
