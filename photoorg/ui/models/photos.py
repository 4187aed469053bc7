"""The grid's model: a flat list of photos (ids, paths, thumbnail keys, optional scores).

Rows are plain Python lists swapped in whole from the query worker (no per-row objects,
so 100k photos cost a few MB and a reset). Thumbnails are lazy: ``DecorationRole`` asks the
:class:`ThumbnailStore`, which loads only what is painted.
"""

from __future__ import annotations

import os
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QUrl,
    Slot,
)

from photoorg.core.app.api import PhotoList, display_name
from photoorg.ui.thumbstore import ThumbnailStore

Index = QModelIndex | QPersistentModelIndex


class PhotoRole(IntEnum):
    Id = Qt.ItemDataRole.UserRole + 1
    Path = Qt.ItemDataRole.UserRole + 2
    Score = Qt.ItemDataRole.UserRole + 3
    Key = Qt.ItemDataRole.UserRole + 4
    Failed = Qt.ItemDataRole.UserRole + 5
    Matched = Qt.ItemDataRole.UserRole + 6  # search: kinds of what the words matched
    Stack = Qt.ItemDataRole.UserRole + 7  # the photo's stack (a Badge) or None
    Duration = Qt.ItemDataRole.UserRole + 8  # a video's length in seconds, else None
    Time = Qt.ItemDataRole.UserRole + 9  # search: a video's best matching second
    StackCount = Qt.ItemDataRole.UserRole + 10  # members behind this tile (0: no stack tile)


class PhotoListModel(QAbstractListModel):
    def __init__(self, store: ThumbnailStore | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._list = PhotoList()
        self._row_of_key: dict[str, int] | None = None
        if store is not None:
            store.updated.connect(self._on_thumbnails)

    # -- content -------------------------------------------------------------------------

    @property
    def photos(self) -> PhotoList:
        return self._list

    @property
    def title(self) -> str:
        return self._list.title

    def set_photos(self, photos: PhotoList) -> None:
        self.beginResetModel()
        self._list = photos
        self._row_of_key = None
        self.endResetModel()

    def sections(self) -> list[tuple[int, str]]:
        """(first row, header) of each timeline section, in order (empty: no headers)."""
        return [(s.start, s.title) for s in self._list.sections]

    def photo_id(self, row: int) -> int:
        return self._list.ids[row]

    def path(self, row: int) -> str:
        return self._list.paths[row]

    def stack_count(self, row: int) -> int:
        """How many photos this tile stands for: its stack's size when it is a stacked
        stack's cover on a page that is not that stack's own (expanded), else 0."""
        badge = self._list.stacks.get(self._list.ids[row])
        if badge is None or not badge.stacked or not badge.cover or self._list.stack_id:
            return 0
        return badge.count

    def row_of_id(self, photo_id: int) -> int | None:
        try:
            return self._list.ids.index(photo_id)
        except ValueError:
            return None

    # -- Qt model API ----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._list.ids)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        row = index.row()
        if not 0 <= row < len(self._list.ids):
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            if self._store is None:
                return None
            return self._store.pixmap(self._list.keys[row], self._list.paths[row])
        if role == Qt.ItemDataRole.DisplayRole:
            return display_name(os.path.basename(self._list.paths[row]))
        if role == Qt.ItemDataRole.ToolTipRole:
            path = display_name(self._list.paths[row])
            score = self._score(row)
            return path if score is None else f"{path}\nmatch {score:.3f}"
        if role == PhotoRole.Id:
            return self._list.ids[row]
        if role == PhotoRole.Path:
            return self._list.paths[row]
        if role == PhotoRole.Key:
            return self._list.keys[row]
        if role == PhotoRole.Score:
            return self._score(row)
        if role == PhotoRole.Matched:
            matched = self._list.matched
            return () if matched is None else matched[row]
        if role == PhotoRole.Stack:
            return self._list.stacks.get(self._list.ids[row])
        if role == PhotoRole.StackCount:
            return self.stack_count(row)
        if role == PhotoRole.Duration:
            return self._list.durations.get(self._list.ids[row])
        if role == PhotoRole.Time:
            return self._list.times.get(self._list.ids[row])
        if role == PhotoRole.Failed:
            return self._store is not None and self._store.failed(self._list.keys[row])
        return None

    def _score(self, row: int) -> float | None:
        scores = self._list.scores
        return None if scores is None else scores[row]

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemNeverHasChildren)

    def roleNames(self) -> dict[int, bytes]:  # noqa: N802
        names = dict(super().roleNames())
        names.update({
            PhotoRole.Id: b"photoId", PhotoRole.Path: b"path", PhotoRole.Score: b"score",
            PhotoRole.Key: b"thumbKey", PhotoRole.Failed: b"failed",
        })
        return names

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return ["text/uri-list"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802
        mime = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        mime.setUrls([QUrl.fromLocalFile(self._list.paths[r]) for r in rows])
        return mime

    # -- thumbnails --------------------------------------------------------------------

    @Slot(list)
    def _on_thumbnails(self, keys: list[str]) -> None:
        if not self._list.ids:
            return
        if self._row_of_key is None:
            self._row_of_key = {k: i for i, k in enumerate(self._list.keys)}
        rows = sorted(r for k in keys if (r := self._row_of_key.get(k)) is not None)
        if not rows:
            return
        start = prev = rows[0]
        roles = [Qt.ItemDataRole.DecorationRole]
        for row in rows[1:] + [None]:
            if row is not None and row == prev + 1:
                prev = row
                continue
            self.dataChanged.emit(self.index(start), self.index(prev), roles)
            if row is not None:
                start = prev = row
