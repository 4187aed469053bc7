"""Every user decision, once: the CLI and the window call these (through :class:`Library`).

Each decision is one step in the journal (one ``photoorg undo`` / Ctrl+Z undoes it whole),
is followed at once by the sidecar sync when writing sidecars is on, and announces what
changed as a :class:`Change` to everyone subscribed (:meth:`Decisions.subscribe`), so the
window's pages and the CLI's output refresh from the same signal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photoorg.core.groups import clusters as cl
from photoorg.core.groups import organize
from photoorg.core.ingest import pipeline
from photoorg.core.store import journal

if TYPE_CHECKING:
    from photoorg import config
    from photoorg.core.store.catalog import Catalog

log = logging.getLogger(__name__)


class LibraryError(Exception):
    """Something the user asked for cannot be done; the message says why, in one line."""


@dataclass(frozen=True)
class Change:
    """What a decision changed. ``kind``: ``clusters``, ``tags``, ``albums``, ``meta``,
    ``events``, ``duplicates``, ``photos`` (rows gone or back), ``journal`` (an undo or an
    import: anything may have changed), ``settings``. ``ids``: the photos whose pages show
    something new (empty when unknown: refresh all). ``decision``: the decision's name."""

    kind: str
    ids: tuple[int, ...] = ()
    decision: str = ""


Listener = Callable[[Change], None]


class Decisions:
    """The decisions half of :class:`~photoorg.core.app.library.Library` (it provides
    ``writer``, ``reader()`` and ``settings``)."""

    settings: config.Settings
    writer: Catalog
    _listeners: list[Listener]

    def reader(self) -> Catalog:  # pragma: no cover - Library's
        raise NotImplementedError

    # -- the change signal ---------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(change)`` after every decision; returns the unsubscribe."""
        listeners = self._listeners
        listeners.append(listener)
        return lambda: listeners.remove(listener) if listener in listeners else None

    def _decided(self, kind: str, photo_ids: Iterable[int] | None, decision: str, *,
                 sync: bool = True) -> None:
        """After a decision: sidecars (these photos', or every stale one for None), then
        the announcement. A listener that fails is logged; the decision stands."""
        ids = None if photo_ids is None else sorted({int(p) for p in photo_ids})
        if sync:
            self.sync_sidecars(ids)
        change = Change(kind, tuple(ids or ()), decision)
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:
                log.exception("a listener of %s failed", decision)

    def sync_sidecars(self, photo_ids: Iterable[int] | None = None) -> int:
        """With writing on, make sidecars say what the catalog says (all stale ones, or
        these photos')."""
        if not self.settings.write_sidecars:
            return 0
        cat = self.writer
        ids = pipeline.stale_sidecars(cat) if photo_ids is None else list(photo_ids)
        return pipeline.sync_sidecars(cat, ids)

    def set_write_sidecars(self, on: bool) -> int:
        """Turn sidecar writing on or off for this library object; turned on, every stale
        sidecar is written at once. Returns how many were written."""
        was = self.settings.write_sidecars
        self.settings.write_sidecars = bool(on)
        if on and not was:
            written = self.sync_sidecars()
            self._decided("settings", (), "set_write_sidecars", sync=False)
            return written
        return 0

    # -- clusters ------------------------------------------------------------------------

    def _members(self, cluster_ids: Iterable[int]) -> list[int]:
        members: set[int] = set()
        for cid in cluster_ids:
            info = cl.get_cluster(self.writer, cid)
            if info is not None:
                members.update(info.photo_ids)
        return sorted(members)

    def name_cluster(self, cluster_id: int, name: str | None) -> cl.ClusterInfo:
        try:
            info = cl.name_cluster(self.writer, cluster_id, name or None)
        except cl.ClusterError as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("clusters", info.photo_ids, "name_cluster")
        return info

    def accept_suggestion(self, cluster_id: int, name: str) -> cl.ClusterInfo:
        """The user took a suggested name: the cluster is named with it."""
        return self.name_cluster(cluster_id, name)

    def merge_clusters(self, keep: int, others: Sequence[int]) -> cl.ClusterInfo:
        """Merge ``others`` into ``keep``: one undo step however many."""
        cat = self.writer
        try:
            touched = self._members([keep, *others])
            with journal.batch(cat):
                info = cl.get_cluster(cat, keep)
                for other in others:
                    info = cl.merge_clusters(cat, keep, other)
        except cl.ClusterError as exc:
            raise LibraryError(str(exc)) from exc
        if info is None:
            raise LibraryError(f"no cluster {keep}")
        self._decided("clusters", touched, "merge_clusters")
        return info

    def hide_cluster(self, cluster_id: int, hidden: bool = True) -> None:
        try:
            cl.hide_cluster(self.writer, cluster_id, hidden=hidden)
        except cl.ClusterError as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("clusters", (), "hide_cluster", sync=False)

    def reject_photos(self, cluster_id: int, photo_ids: Sequence[int]) -> None:
        """"Not this person" (or not this place / scene): the photos leave it for good; one
        undo step, and the faces taken out become one new person together."""
        cat = self.writer
        try:
            with journal.batch(cat):
                into = None
                for pid in photo_ids:
                    into = cl.remove_photo_from_cluster(cat, cluster_id, pid, into=into)
        except cl.ClusterError as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("clusters", photo_ids, "reject_photos")

    def confirm_photos(self, cluster_id: int, photo_ids: Sequence[int]) -> None:
        """The user says these suggested photos do belong: re-clustering keeps them."""
        try:
            cl.confirm_photos(self.writer, cluster_id, list(photo_ids))
        except cl.ClusterError as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("clusters", photo_ids, "confirm_photos", sync=False)

    # -- tags and albums -----------------------------------------------------------------

    def add_tag(self, photo_ids: Sequence[int], name: str) -> int:
        try:
            n = cl.add_tag(self.writer, photo_ids, name)
        except ValueError as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("tags", photo_ids, "add_tag")
        return n

    def remove_tag(self, photo_ids: Sequence[int], name: str) -> int:
        n = cl.remove_tag(self.writer, photo_ids, name)
        self._decided("tags", photo_ids, "remove_tag")
        return n

    def _tagged(self, tag: str) -> list[int]:
        return sorted(cl.photos_with_tag(self.writer, tag))

    def rename_tag(self, old: str, new: str) -> None:
        touched = self._tagged(old)
        try:
            organize.rename_tag(self.writer, old, new)
        except organize.OrganizeError as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("tags", touched, "rename_tag")

    def delete_tag(self, name: str) -> int:
        touched = self._tagged(name)
        n = organize.delete_tag(self.writer, name)
        self._decided("tags", touched, "delete_tag")
        return n

    def create_album(self, name: str, *, tags: Sequence[str] = (), query: str | None = None,
                     filters: dict[str, Any] | None = None, match: str = "all") -> cl.Album:
        try:
            album = cl.create_album(self.writer, name, tags=tags, query=query,
                                    filters=filters, match=match)
        except cl.AlbumError as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("albums", (), "create_album", sync=False)
        return album

    def add_to_album(self, name: str, photo_ids: Sequence[int]) -> int:
        """Put photos in an album made by hand (created when new)."""
        try:
            n = organize.add_to_album(self.writer, name, photo_ids)
        except (organize.OrganizeError, cl.AlbumError) as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("albums", photo_ids, "add_to_album")
        return n

    def rename_album(self, old: str, new: str) -> None:
        touched = self._tagged(organize.album_tag(old))
        try:
            organize.rename_album(self.writer, old, new)
        except (organize.OrganizeError, cl.AlbumError) as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("albums", touched, "rename_album")

    def delete_album(self, name: str) -> bool:
        """Forget an album (photos stay; one made by hand loses its tag). False if none."""
        if cl.get_album(self.writer, name) is None:
            return False
        touched = self._tagged(organize.album_tag(name))
        organize.delete_album(self.writer, name)
        self._decided("albums", touched, "delete_album")
        return True

    def save_similar_album(self, name: str, feedback: Any, k: int | None = None) -> cl.Album:
        """An album of "more like these" that stays current (re-ranked on every read)."""
        from photoorg.core.search import feedback as fb

        try:
            album = fb.save_album(self.writer, name, feedback, k or fb.ALBUM_K)
        except cl.AlbumError as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("albums", (), "save_similar_album", sync=False)
        return album

    # -- photo fields --------------------------------------------------------------------

    def set_photo_meta(self, photo_ids: Sequence[int], name: str, value: str | int | None
                       ) -> None:
        """The user's rating/label/title/caption (wins over imported values from then on)."""
        from photoorg.core.metadata import importer as mi

        try:
            mi.set_photo_meta(self.writer, photo_ids, name, value)
        except ValueError as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("meta", photo_ids, "set_photo_meta")

    # -- events --------------------------------------------------------------------------

    def keep_event(self, event_id: int, name: str | None = None) -> cl.Album:
        """Keep an event: an album of its photos (tagged ``Events|<name>``)."""
        from photoorg.core.groups import events as ev

        try:
            album = ev.keep_event(self.writer, event_id, name=name)
            ids = ev.event_photo_ids(self.writer, event_id)
        except (ev.EventError, cl.AlbumError) as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("events", ids, "keep_event")
        return album

    def dismiss_event(self, event_id: int) -> None:
        from photoorg.core.groups import events as ev

        try:
            ev.dismiss_event(self.writer, event_id)
        except ev.EventError as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("events", (), "dismiss_event", sync=False)

    # -- duplicates, missing, trash --------------------------------------------------------

    def not_duplicates(self, photo_ids: Sequence[int]) -> int:
        """"Not duplicates": these photos are different; never grouped again."""
        from photoorg.core.search import duplicates

        n = duplicates.dismiss(self.writer, photo_ids)
        self._decided("duplicates", photo_ids, "not_duplicates", sync=False)
        return n

    def trash_photos(self, photo_ids: Sequence[int]) -> list[Path]:
        """Move these photos' files to the operating system's trash (undoable)."""
        from photoorg.core.search import duplicates

        moved = duplicates.move_to_trash(self.writer, photo_ids)
        self._decided("photos", photo_ids, "trash_photos", sync=False)
        return moved

    def forget_missing(self) -> int:
        """Forget the photos whose files are gone, for good (the user confirmed)."""
        from photoorg.core.store import missing

        n = missing.forget_missing(self.writer)
        self._decided("photos", (), "forget_missing", sync=False)
        return n

    # -- undo and import -----------------------------------------------------------------

    def undo(self, steps: int = 1) -> list[journal.Entry]:
        """Undo the last ``steps`` decisions; every sidecar they touched is rewritten."""
        from photoorg.core.store import trash  # noqa: F401  (registers "move to trash"'s undo)

        try:
            done = journal.undo(self.writer, steps)
        except journal.JournalError as exc:
            raise LibraryError(str(exc)) from exc
        if done:
            self._decided("journal", None, "undo")
        return done

    def history(self, limit: int = 20, include_undone: bool = False) -> list[journal.Entry]:
        return journal.history(self.reader(), limit=limit, include_undone=include_undone)

    def import_decisions(self, doc: dict[str, Any]) -> Any:
        """Another library's exported decisions, into this one (one undo step)."""
        from photoorg.core.groups.exchange import ExchangeError, import_decisions

        try:
            report = import_decisions(self.writer, doc)
        except ExchangeError as exc:
            raise LibraryError(str(exc)) from exc
        self._decided("journal", None, "import_decisions")
        return report

    def export_decisions(self) -> dict[str, Any]:
        from photoorg.core.groups.exchange import export_decisions

        return export_decisions(self.reader())
