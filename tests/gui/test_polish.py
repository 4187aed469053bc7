"""Small things a user notices in the first hour: no pet groups from a model that does not
know animals, every card titled like its page and with a cover, cache use never "0 MB",
an ETA in every indexing phase, the grid filling a wide window."""

from __future__ import annotations

from guitools import TINY, names, needs_tiny
from PySide6.QtCore import Qt

from photoorg import config
from photoorg.core.ingest.indexer import Progress
from photoorg.core.store.catalog import Catalog

pytestmark = needs_tiny


def test_the_tiny_shapes_model_makes_no_pet_groups(library) -> None:  # noqa: ANN001
    from photoorg.core.groups import clusters, regroup
    from photoorg.core.models.competence import REQUIRED, animal_score
    from photoorg.core.models.embedder import load_embedder

    embedder = load_embedder(TINY)
    assert animal_score(embedder.encode_texts, regroup.PET_PROMPTS) < REQUIRED
    with Catalog(config.catalog_path(library)) as cat:
        # without the check, these shapes came out as "guinea pig" and "cat" groups
        assert any(regroup.classify_pets(*_vectors(cat, embedder)))
        regroup.recluster_pets(cat, embedder)
        assert clusters.list_clusters(cat, "pets") == []


def _vectors(cat, embedder):  # noqa: ANN001, ANN202
    from photoorg.core.groups import regroup

    _ids, x = regroup._active_vectors(cat, None)
    return x, embedder.encode_texts(regroup.pet_prompts())


def test_cards_have_covers_and_the_page_title_matches(qtbot, window) -> None:  # noqa: ANN001
    window.show_clusters("scenes")
    qtbot.waitUntil(lambda: window.clusters.rowCount() > 0, timeout=10_000)
    for row in range(window.clusters.rowCount()):
        info = window.clusters.cluster(row)
        assert info.cover_key and info.cover_path  # every card has a cover
    info = window.clusters.cluster(0)
    shown = window.clusters.index(0).data(Qt.ItemDataRole.DisplayRole)
    window._open_cluster(window.clusters.index(0))
    assert window.grid_title.text().endswith(shown)
    assert shown == info.title


def test_cache_use_eta_and_a_full_width_grid(qtbot, window) -> None:  # noqa: ANN001
    from photoorg.ui.controller import progress_text
    from photoorg.ui.views.settings import usage_text

    assert usage_text(0.3) == "0.3 MB" and usage_text(0.01) == "under 0.1 MB"
    assert usage_text(0) == "Nothing" and usage_text(250) == "250 MB"
    faces = Progress("faces", total=100, done=40)
    faces.rate = 2.0  # the face pass reports a rate but no ETA of its own
    assert "about 30 s left" in progress_text(faces)

    window.resize(1600, 900)
    qtbot.waitUntil(lambda: window.grid.viewport().width() > 1000, timeout=5_000)
    grid = window.grid
    columns = {grid.visualRect(window.photos.index(r)).x() for r in range(len(names(window)))}
    last = max(columns) + grid.visualRect(window.photos.index(0)).width()
    assert grid.viewport().width() - last < 2 * grid.MARGIN + 2  # no empty strip on the right
