"""Every model through Qt's model tester, plus the grid model's lazy thumbnails."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt

from photoorg.core.search.browse_queries import ClusterInfo, PhotoList
from photoorg.ui.models.clusters import MIME, ClusterListModel, ClusterRole
from photoorg.ui.models.photos import PhotoListModel, PhotoRole


def _photos(n: int) -> PhotoList:
    return PhotoList(ids=list(range(1, n + 1)), paths=[f"/p/{i}.jpg" for i in range(n)],
                     keys=[f"p{i}-x" for i in range(n)], scores=[1 - i / n for i in range(n)],
                     title="t")


def _clusters() -> list[ClusterInfo]:
    return [ClusterInfo(7, "people", "Alice", None, False, 12),
            ClusterInfo(9, "people", None, None, False, 3)]


def test_photo_model_passes_the_model_tester(qtmodeltester) -> None:  # noqa: ANN001
    model = PhotoListModel(None)
    model.set_photos(_photos(50))
    qtmodeltester.check(model)
    index = model.index(3)
    assert model.data(index, PhotoRole.Id) == 4
    assert model.data(index, Qt.ItemDataRole.DisplayRole) == "3.jpg"
    assert model.data(index, PhotoRole.Score) == model.photos.scores[3]
    assert model.mimeData([index]).urls()[0].toLocalFile() == "/p/3.jpg"


def test_cluster_model_passes_the_model_tester(qtmodeltester) -> None:  # noqa: ANN001
    model = ClusterListModel(None)
    model.set_clusters("people", _clusters())
    qtmodeltester.check(model)
    assert model.data(model.index(1), Qt.ItemDataRole.DisplayRole) == "Unnamed"
    assert model.data(model.index(0), ClusterRole.Round) is True


def test_cluster_model_rename_and_drop_report_requests(qtbot) -> None:  # noqa: ANN001
    model = ClusterListModel(None)
    model.set_clusters("people", _clusters())
    with qtbot.waitSignal(model.rename_requested) as renamed:
        assert model.setData(model.index(1), "  Bob ")
    assert renamed.args == [9, "Bob"]
    assert not model.setData(model.index(1), "   ")  # empty names are refused
    mime = model.mimeData([model.index(1)])
    assert not model.canDropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, model.index(1))
    with qtbot.waitSignal(model.merge_requested) as merged:
        model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, model.index(0))
    assert merged.args == [[9], 7]
    other_kind = QMimeData()
    other_kind.setData(MIME, b'{"kind": "places", "ids": [9]}')
    assert not model.canDropMimeData(other_kind, Qt.DropAction.MoveAction, -1, -1,
                                     model.index(0))


def test_sidebar_model_passes_the_model_tester(qtmodeltester, qtbot) -> None:  # noqa: ANN001
    from photoorg.ui.views.sidebar import Sidebar

    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    qtmodeltester.check(sidebar.model())


def test_photo_model_asks_only_for_painted_rows(qtbot, tmp_path) -> None:  # noqa: ANN001
    from photoorg.ui.thumbstore import ThumbnailStore
    from photoorg.ui.views.grid import PhotoGrid

    store = ThumbnailStore(tmp_path / "thumbs")
    model = PhotoListModel(store)
    model.set_photos(_photos(100_000))
    grid = PhotoGrid()
    qtbot.addWidget(grid)
    grid.setModel(model)
    grid.resize(800, 600)
    grid.show()
    qtbot.waitExposed(grid)
    qtbot.waitUntil(lambda: store.requests > 0, timeout=10_000)  # painted (a loaded machine)
    qtbot.wait(50)
    assert store.requests < 200  # a screenful, not 100k
    store.shutdown()
