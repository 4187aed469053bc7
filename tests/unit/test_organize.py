"""Albums and tags by hand (core): add to a new or existing album, rename and delete albums
and tags (photos always stay), a person's tag renames the person."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoorg.core.groups import clusters, organize
from photoorg.core.store.catalog import Catalog


@pytest.fixture
def cat(tmp_path: Path) -> Catalog:
    with Catalog(tmp_path / "catalog.db") as c:
        root = c.add_root(tmp_path)
        for i in range(4):
            c.add_photo(root.id, f"p{i}.jpg", 10, 1.0, None)
        yield c


def test_album_by_hand_create_add_rename_delete(cat: Catalog) -> None:
    assert organize.add_to_album(cat, "Rome", [1, 2]) == 2
    assert organize.add_to_album(cat, "rome", [2, 3]) == 1  # existing, any case
    assert clusters.album_photos(cat, "Rome") == [1, 2, 3]
    organize.rename_album(cat, "Rome", "Rome 2024")
    assert clusters.get_album(cat, "Rome") is None
    assert clusters.album_photos(cat, "Rome 2024") == [1, 2, 3]
    assert organize.is_album_tag(clusters.tags_for_photo(cat, 1)[0])
    organize.delete_album(cat, "Rome 2024")
    assert clusters.list_albums(cat) == [] and clusters.all_tags(cat) == []
    assert cat.scalar("SELECT COUNT(*) FROM photos") == 4


def test_album_errors_are_said_plainly(cat: Catalog) -> None:
    clusters.create_album(cat, "Beach", query="beach")
    with pytest.raises(organize.OrganizeError, match="saved search"):
        organize.add_to_album(cat, "Beach", [1])
    organize.add_to_album(cat, "A", [1])
    with pytest.raises(organize.OrganizeError, match="already an album"):
        organize.rename_album(cat, "A", "beach")
    with pytest.raises(organize.OrganizeError, match="a name"):
        organize.add_to_album(cat, "  ", [1])


def test_rename_and_delete_tags_with_their_children(cat: Catalog) -> None:
    clusters.add_tag(cat, [1], "Trips|Rome")
    clusters.add_tag(cat, [2], "Trips")
    clusters.add_tag(cat, [3], "Holiday|Rome")
    organize.rename_tag(cat, "Trips", "Holiday")  # merges into the existing Holiday|Rome
    assert dict(clusters.all_tags(cat)) == {"Holiday": 1, "Holiday|Rome": 2}
    assert organize.delete_tag(cat, "Holiday") == 2
    assert clusters.all_tags(cat) == []
    with pytest.raises(organize.OrganizeError, match="no tag"):
        organize.delete_tag(cat, "Nothing")


def test_a_persons_tag_renames_the_person(cat: Catalog) -> None:
    cid = clusters.create_cluster(cat, "people", name="Angelina")
    cat.execute("INSERT INTO cluster_photos(cluster_id, photo_id, source) VALUES(?, 1, "
                "'confirmed')", (cid,))
    organize.rename_tag(cat, "People|Angelina", "People|Angie")
    assert clusters.get_cluster(cat, cid).display_name == "Angie"
    with pytest.raises(organize.OrganizeError, match="People page"):
        organize.delete_tag(cat, "People|Angie")
