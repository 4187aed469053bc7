"""Albums and tags by hand (Qt-free): add photos to an album, rename or delete a tag or an
album. The window and the CLI call these; each is one transaction, so an undo journal can
record it as one step.

An album made by hand is a tag album over one tag, ``Albums|<name>``: adding photos tags
them, so the album survives moves and renames like every tag, and other tools see it in the
XMP sidecars as ``Albums/<name>``. The sidebar shows it as an album, not again as a tag.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from photoorg.core.groups import clusters
from photoorg.core.store import journal
from photoorg.core.store.catalog import Catalog

ALBUM_ROOT = "Albums"


class OrganizeError(ValueError):
    """Something the user asked that cannot be done (said in words they can act on)."""


def album_tag(name: str) -> str:
    return f"{ALBUM_ROOT}|{name.strip()}"


def is_album_tag(tag: str) -> bool:
    return tag.split("|", 1)[0].strip().casefold() == ALBUM_ROOT.casefold() and "|" in tag


def add_to_album(cat: Catalog, name: str, photo_ids: Iterable[int]) -> int:
    """Put photos in an album, creating it when new; returns how many were added. An album
    that is a tag set gains the photos through its (single) tag; a saved search cannot."""
    clean = (name or "").strip().replace("|", "/")
    if not clean:
        raise OrganizeError("an album needs a name")
    ids = [int(p) for p in photo_ids]
    with journal.batch(cat):  # one undo step (the album made, the photos tagged)
        album = clusters.get_album(cat, clean)
        if album is None:
            clusters.create_album(cat, clean, tags=[album_tag(clean)])
            tag = album_tag(clean)
        elif album.is_search:
            raise OrganizeError(f"“{album.name}” is a saved search: its photos follow the "
                                "search, they cannot be added by hand")
        elif len(album.tags) == 1 or album.match == "any":
            tag = album.tags[0]
        else:
            raise OrganizeError(f"“{album.name}” shows photos with all of "
                                f"{', '.join(album.tags)}: tag the photos instead")
        return clusters.add_tag(cat, ids, tag) if ids else 0


def rename_album(cat: Catalog, old: str, new: str) -> None:
    """Rename an album; an album made by hand renames its tag too."""
    clean = (new or "").strip().replace("|", "/")
    if not clean:
        raise OrganizeError("an album needs a name")
    scopes = _tag_scopes(cat, album_tag(old), album_tag(clean))
    with journal.decision(cat, "album.rename", f"Rename the album “{old}” to “{clean}”", scopes):
        album = clusters.get_album(cat, old)
        if album is None:
            raise OrganizeError(f"there is no album “{old}”")
        if clean.casefold() != album.name.casefold() and clusters.get_album(cat, clean):
            raise OrganizeError(f"there is already an album “{clean}”")
        spec = album.spec()
        if list(album.tags) == [album_tag(album.name)]:
            _rename_tag_rows(cat, album_tag(album.name), album_tag(clean))
            spec["tags"] = [album_tag(clean)]
        cat.execute("UPDATE albums SET name = ?, query = ? WHERE id = ?",
                    (clean, json.dumps(spec, ensure_ascii=False), album.id))


def delete_album(cat: Catalog, name: str) -> None:
    """Forget an album; the photos stay (an album made by hand loses its tag)."""
    scopes = _tag_scopes(cat, album_tag(name))
    with journal.decision(cat, "album.delete", f"Delete the album “{name}”", scopes):
        album = clusters.get_album(cat, name)
        if album is None:
            raise OrganizeError(f"there is no album “{name}”")
        if list(album.tags) == [album_tag(album.name)]:
            _delete_tag_rows(cat, album_tag(album.name))
        clusters.delete_album(cat, album.name)


def _cluster_of_tag(cat: Catalog, tag: str) -> int | None:
    """The named person, pet or place whose tag this is (``People|Alice``), if any."""
    root, _, label = tag.partition("|")
    for kind, prefix in clusters.TAG_ROOTS.items():
        if prefix.casefold() == root.strip().casefold() and label and "|" not in label:
            ids = clusters.clusters_named(cat, kind, label.strip())
            return ids[0] if ids else None
    return None


def _tag_rows(cat: Catalog, tag: str) -> list[tuple[int, str]]:
    """The tag and its descendants (``Trips`` and ``Trips|Rome``)."""
    prefix = tag.casefold() + "|"
    return [(tid, name) for tid, name in cat.query("SELECT id, name FROM tags")
            if name.casefold() == tag.casefold() or name.casefold().startswith(prefix)]


def _tag_scopes(cat: Catalog, *tags: str) -> list[journal.Scope]:
    """What renaming or deleting these tags (and the tags under them) may change, for the
    undo journal: the tags and albums (small tables) and those tags' photo rows."""
    ids = sorted({tid for tag in tags for tid, _ in _tag_rows(cat, tag)})
    return [("tags", "1", ()), ("albums", "1", ()),
            ("photo_tags", f"tag_id IN {journal.IDS}", (journal.ids_param(ids),))]


def _rename_tag_rows(cat: Catalog, old: str, new: str) -> int:
    n = 0
    for tid, name in _tag_rows(cat, old):
        renamed = new + name[len(old):]
        existing = cat.scalar("SELECT id FROM tags WHERE name = ? AND id != ?", (renamed, tid))
        if existing is not None:  # merge into the tag that already has the name
            cat.execute("INSERT OR IGNORE INTO photo_tags(photo_id, tag_id, source) "
                        "SELECT photo_id, ?, source FROM photo_tags WHERE tag_id = ?",
                        (existing, tid))
            cat.execute("DELETE FROM tags WHERE id = ?", (tid,))
        else:
            cat.execute("UPDATE tags SET name = ? WHERE id = ?", (renamed, tid))
        n += 1
    return n


def _delete_tag_rows(cat: Catalog, tag: str) -> int:
    rows = _tag_rows(cat, tag)
    for tid, _name in rows:
        cat.execute("DELETE FROM tags WHERE id = ?", (tid,))  # photo_tags cascade
    return len(rows)


def rename_tag(cat: Catalog, old: str, new: str) -> None:
    """Rename a tag (and the tags under it). A person's, pet's or place's tag renames that
    group, as naming it on its page would."""
    target = clusters.clean_name(new)
    if target is None:
        raise OrganizeError("a tag needs a name")
    summary = f"Rename the tag “{old.replace('|', ' › ')}” to “{target.replace('|', ' › ')}”"
    scopes = _tag_scopes(cat, clusters.clean_name(old) or old, target)
    with journal.decision(cat, "tag.rename", summary, scopes):
        cluster_id = _cluster_of_tag(cat, old)
        if cluster_id is not None:
            clusters.name_cluster(cat, cluster_id, target.rsplit("|", 1)[-1])
            return
        if not _rename_tag_rows(cat, clusters.clean_name(old) or old, target):
            raise OrganizeError(f"there is no tag “{old.replace('|', ' › ')}”")


def delete_tag(cat: Catalog, name: str) -> int:
    """Remove a tag (and the tags under it) from every photo; the photos stay. Returns how
    many tags went. A person's tag is not deleted here (that person is hidden or renamed on
    the People page)."""
    scopes = _tag_scopes(cat, clusters.clean_name(name) or name)
    with journal.decision(cat, "tag.delete", f"Delete the tag “{name.replace('|', ' › ')}”",
                          scopes):
        if _cluster_of_tag(cat, name) is not None:
            raise OrganizeError(f"“{name.replace('|', ' › ')}” is a name given on the "
                                f"{name.split('|', 1)[0]} page: rename or hide it there")
        n = _delete_tag_rows(cat, clusters.clean_name(name) or name)
        if not n:
            raise OrganizeError(f"there is no tag “{name.replace('|', ' › ')}”")
        return n
