"""Every user decision is journaled in the catalog and can be undone, also after a restart
and from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from photoorg import cli, config
from photoorg.core.groups import clusters as cl
from photoorg.core.metadata.importer import set_photo_meta
from photoorg.core.store import journal
from photoorg.core.store.catalog import Catalog

FACE = b"\x01" * 16


def _state(cat: Catalog) -> dict[str, list[tuple]]:
    """Every row a decision may touch (faces by their decided fields)."""
    return {
        "clusters": cat.query("SELECT id, kind, name, hidden, centroid FROM clusters ORDER BY id"),
        "faces": cat.query("SELECT id, photo_id, cluster_id, source FROM faces ORDER BY id"),
        "cluster_photos": cat.query("SELECT * FROM cluster_photos ORDER BY 1, 2"),
        "face_rejections": cat.query("SELECT * FROM face_rejections ORDER BY 1, 2"),
        "tags": cat.query("SELECT * FROM tags ORDER BY id"),
        "photo_tags": cat.query("SELECT * FROM photo_tags ORDER BY 1, 2"),
        "albums": cat.query("SELECT id, name, query FROM albums ORDER BY id"),
        "photo_meta": cat.query("SELECT * FROM photo_meta ORDER BY 1, 2"),
    }


@pytest.fixture
def cat(tmp_path: Path) -> Catalog:
    """Six photos; two people (Alice named, one unnamed) with one face per photo; a place."""
    catalog = Catalog(config.catalog_path(tmp_path))
    root = catalog.add_root(tmp_path / "photos")
    ids = [catalog.add_photo(root.id, f"p{i}.jpg", 10 + i, 0.0, f"h{i}") for i in range(6)]
    alice = cl.create_cluster(catalog, "people", "Alice",
                              centroid=np.ones(4, np.float32))
    other = cl.create_cluster(catalog, "people", centroid=np.zeros(4, np.float32))
    for i, pid in enumerate(ids):
        (face,) = catalog.store_faces(pid, [(0.1, 0.1, 0.2, 0.2, 0.9, 1.0, FACE)])
        catalog.execute("UPDATE faces SET cluster_id = ? WHERE id = ?",
                        (alice if i < 3 else other, face))
    place = cl.create_cluster(catalog, "places", auto_name="Paris, France")
    for pid in ids[:2]:
        catalog.execute("INSERT INTO cluster_photos(cluster_id, photo_id) VALUES(?, ?)",
                        (place, pid))
    catalog.ids = ids  # type: ignore[attr-defined]
    catalog.people = (alice, other)  # type: ignore[attr-defined]
    catalog.place = place  # type: ignore[attr-defined]
    catalog.home = cl.create_cluster(catalog, "places", "Home")  # type: ignore[attr-defined]
    yield catalog
    catalog.close()


def _decisions(cat: Catalog) -> list:
    ids = cat.ids  # type: ignore[attr-defined]
    alice, other = cat.people  # type: ignore[attr-defined]
    place = cat.place  # type: ignore[attr-defined]
    return [
        ("name", lambda: cl.name_cluster(cat, other, "Bob")),
        ("rename", lambda: cl.name_cluster(cat, alice, "Alice B.")),
        ("not this person", lambda: cl.remove_photo_from_cluster(cat, alice, ids[1])),
        ("yes, this is", lambda: cl.confirm_photos(cat, alice, ids[:2])),
        ("tag", lambda: cl.add_tag(cat, ids[:5], "Favourites")),
        ("hide", lambda: cl.hide_cluster(cat, other)),
        ("move place", lambda: cl.move_photo_to_cluster(
            cat, ids[0], place, cat.home)),  # type: ignore[attr-defined]
        ("album", lambda: cl.create_album(cat, "Best", tags=["Favourites"])),
        ("merge", lambda: cl.merge_clusters(cat, alice, other)),
        ("delete", lambda: cl.delete_cluster(cat, place)),
        ("rating", lambda: set_photo_meta(cat, ids[:2], "rating", 5)),
    ]


@pytest.mark.parametrize("which", range(11))
def test_each_decision_is_undone_exactly(cat: Catalog, which: int) -> None:
    cl.add_tag(cat, cat.ids[:2], "Old")  # type: ignore[attr-defined]
    label, decide = _decisions(cat)[which]
    before = _state(cat)
    decide()
    assert _state(cat) != before, label
    (entry,) = journal.undo(cat)
    assert _state(cat) == before, f"{label}: {entry.summary}"


def test_removing_a_tag_and_a_person_tag_is_one_step(cat: Catalog) -> None:
    ids = cat.ids  # type: ignore[attr-defined]
    cl.add_tag(cat, ids, "Trip")
    before = _state(cat)
    # a user tag and the tag that naming a person gives: one decision, one undo
    assert cl.remove_tag(cat, ids[:2], "Trip") == 2
    assert cl.remove_tag(cat, ids[:2], "People|Alice") == 2
    assert journal.history(cat)[0].summary.startswith("Remove the tag “People|Alice”")
    journal.undo(cat, 2)
    assert _state(cat) == before


def test_many_decisions_undone_in_reverse_after_a_restart(cat: Catalog, tmp_path: Path) -> None:
    states = [_state(cat)]
    for _label, decide in _decisions(cat):
        decide()
        states.append(_state(cat))
    cat.close()
    with Catalog(config.catalog_path(tmp_path)) as again:  # a restart
        assert len(journal.history(again, limit=100)) == len(states) - 1
        for expected in reversed(states[:-1]):
            journal.undo(again)
            assert _state(again) == expected
        assert not journal.can_undo(again) and journal.undo(again) == []
    cat.conn = Catalog(config.catalog_path(tmp_path)).conn  # let the fixture close it


def test_tags_and_albums_by_hand_are_undone(cat: Catalog) -> None:
    from photoorg.core.groups import organize

    ids = cat.ids  # type: ignore[attr-defined]
    cl.add_tag(cat, ids[:3], "Trips|Rome")
    cl.add_tag(cat, ids[2:4], "Rome")
    steps = [
        lambda: organize.add_to_album(cat, "Summer", ids[:2]),
        lambda: organize.rename_album(cat, "Summer", "Summer 2024"),
        lambda: organize.rename_tag(cat, "Trips|Rome", "Rome"),  # merges into "Rome"
        lambda: organize.delete_tag(cat, "Rome"),
        lambda: organize.delete_album(cat, "Summer 2024"),
        lambda: organize.rename_tag(cat, "People|Alice", "Alicia"),  # renames the person
    ]
    states = [_state(cat)]
    for step in steps:
        step()
        states.append(_state(cat))
    assert states[-1] != states[0]
    for expected in reversed(states[:-1]):
        journal.undo(cat)
        assert _state(cat) == expected


def test_metadata_tags_are_not_decisions(cat: Catalog) -> None:
    cl.add_tag(cat, cat.ids, "Imported", source="xmp")  # type: ignore[attr-defined]
    assert journal.history(cat) == []


def test_a_failed_decision_leaves_no_entry(cat: Catalog) -> None:
    with pytest.raises(cl.ClusterError):
        cl.merge_clusters(cat, cat.place, cat.people[0])  # type: ignore[attr-defined]
    assert journal.history(cat) == []


def test_custom_inverse_for_other_modules(cat: Catalog) -> None:
    seen: list[dict] = []
    journal.register_inverse("test.trash", lambda _cat, payload: seen.append(payload))
    journal.record(cat, "test.trash", "Move 1 duplicate to the trash", {"paths": ["/x.jpg"]})
    journal.undo(cat)
    assert seen == [{"paths": ["/x.jpg"]}]


def test_cli_undo(cat: Catalog, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alice = cat.people[0]  # type: ignore[attr-defined]
    cl.name_cluster(cat, alice, "Alicia")
    cl.add_tag(cat, cat.ids[:1], "X")  # type: ignore[attr-defined]
    assert cli.main(["--data-dir", str(tmp_path), "undo", "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["summary"] for e in listed] == ["Tag 1 photo(s) “X”",
                                              "Rename “Alice” to “Alicia”"]
    assert cli.main(["--data-dir", str(tmp_path), "undo", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "undone: Tag 1 photo(s) “X”", "undone: Rename “Alice” to “Alicia”"]
    assert cl.get_cluster(cat, alice).name == "Alice"
    assert cl.all_tags(cat) == [("People|Alice", 3), ("Places|Paris", 2)]


def test_rejected_faces_are_in_sight_and_counts_agree(cat: Catalog) -> None:
    """"Not this person": the faces go to a new unnamed person at once; the sidebar's count
    of people and the cards agree, before and after, and Undo puts them back."""
    from photoorg.core.search import browse_queries as queries

    ids = cat.ids  # type: ignore[attr-defined]
    alice = cat.people[0]  # type: ignore[attr-defined]

    def cards() -> list[tuple[str | None, int]]:
        return [(c.name, c.count) for c in queries.clusters(cat, "people")]

    assert cards() == [("Alice", 3), (None, 3)]
    assert queries.cluster_counts(cat)["people"] == 2
    with journal.batch(cat):  # as the window does for a selection
        into = cl.remove_photo_from_cluster(cat, alice, ids[0])
        cl.remove_photo_from_cluster(cat, alice, ids[1], into=into)
    assert cards() == [("Alice", 1), (None, 3), (None, 2)]  # the new person, at once
    assert queries.cluster_counts(cat)["people"] == 3
    assert cl.get_cluster(cat, into).photo_ids == (ids[0], ids[1])
    journal.undo(cat)
    assert cards() == [("Alice", 3), (None, 3)]
    assert queries.cluster_counts(cat)["people"] == 2


def test_an_undo_that_cannot_be_whole_changes_nothing_and_says_why(
    cat: Catalog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = cat.ids  # type: ignore[attr-defined]
    cl.add_tag(cat, ids[:3], "Keep")
    cl.remove_tag(cat, ids[:3], "Keep")
    cat.delete_photos([ids[1]])  # forgotten since: its tag cannot come back
    before = _state(cat)
    assert cli.main(["--data-dir", str(tmp_path), "undo"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "cannot undo" in err and "nothing was undone" in err and "Traceback" not in err
    assert _state(cat) == before  # not the two photos that could take it back either
    assert not journal.history(cat)[0].undone  # not marked undone
    with pytest.raises(journal.JournalError, match="Keep"):
        journal.undo(cat)
    assert _state(cat) == before
