"""Words search: what the library *knows* about a photo, matched with SQLite FTS5.

Two full-text tables (schema and triggers: ``_V9_TEXT_SEARCH`` in :mod:`schema`), both
tokenised by ``unicode61 remove_diacritics 2`` (case and accents never matter:
"zurich" finds "Zürich"; ``_``, ``-``, ``.`` and ``/`` separate words, so
``trips/red_circle_0.jpg`` is the words trips, red, circle, 0, jpg):

* ``photo_fts`` -- one row per photo (rowid = photo id): ``name`` (its path below the
  library folder: folder and file names), ``words`` (the text read in it, with OCR
  variants, see :func:`ocr_terms`), ``caption`` (captions / titles other tools wrote:
  :func:`set_caption`). Triggers on ``photos`` and ``photo_text`` keep it true.
* ``label_fts`` -- one row per label: user tags, named clusters (people, pets, scenes; a
  place also by its automatic "City, Country"), albums. A label hit maps to its photos
  through the same indexed tables as the tag filter.

Library folders (roots) are few and match by their folder name, in Python.

A query matches a photo when **every** word of it (minus a few stop words such as "a",
"of", "photo") matches something about the photo: "Alice Paris" finds photos of Alice
taken in Paris. Words that nothing in the library carries are left to CLIP: "dog in
Paris" matches the Paris photos (and CLIP puts those with a dog first).
:func:`match_text` returns those photos and, per photo, *why* (the kinds the window shows
as chips).
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from photoorg.core.store.catalog import Catalog
from photoorg.core.store.failures import waiting_sql

# What each source is called in results ("matched") and chips.
KIND_PERSON = "person"
KIND_PET = "pet"
KIND_PLACE = "place"
KIND_SCENE = "scene"
KIND_TAG = "tag"
KIND_ALBUM = "album"
KIND_FOLDER = "folder"
KIND_FILE = "file"
KIND_TEXT = "text"
KIND_CAPTION = "caption"

_LABEL_KINDS = {
    "people": KIND_PERSON,
    "pets": KIND_PET,
    "places": KIND_PLACE,
    "scenes": KIND_SCENE,
    "tag": KIND_TAG,
    "album": KIND_ALBUM,
}
_COLUMN_KINDS = {"name": KIND_FILE, "words": KIND_TEXT, "caption": KIND_CAPTION}

# Words a description carries that say nothing about a particular photo.
STOP_WORDS = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "with", "and", "or", "by", "for", "from",
    "is", "are", "my", "our", "some", "photo", "photos", "picture", "pictures", "image",
    "images",
})

_WORD = re.compile(r"[^\W_]+")
_LETTERS_DIGITS = re.compile(r"[^\W\d_]+|\d+")


def fold(text: str) -> str:
    """Case- and accent-free form (as the FTS tokenizer sees words)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The query words that must match: folded, split like the FTS tokenizer, stop words
    and repeats left out, in order."""
    out: list[str] = []
    for word in _WORD.findall(fold(text)):
        if word not in STOP_WORDS and word not in out:
            out.append(word)
    return out


def ocr_terms(text: str) -> str:
    """What the FTS indexes for text read in a photo: the words as read, plus the variants
    OCR quirks call for -- letters and digits split ("platform9" is also "platform 9") and
    neighbours joined ("PLATFORM 9" is also "platform9"), so either spelling finds it."""
    seen: dict[str, None] = {}
    for line in text.splitlines():
        tokens = _WORD.findall(fold(line))
        for token in tokens:
            seen.setdefault(token, None)
            parts = _LETTERS_DIGITS.findall(token)
            if len(parts) > 1:
                for part in parts:
                    seen.setdefault(part, None)
        for left, right in zip(tokens, tokens[1:], strict=False):
            seen.setdefault(left + right, None)
    return " ".join(seen)


def _fts_word(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


@dataclass
class TextMatches:
    """Photos every query word matched, with the kinds of what matched them."""

    words: list[str] = field(default_factory=list)
    ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    kinds: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def match_text(cat: Catalog, text: str) -> TextMatches:
    """Photos whose names, labels, folders, captions or read text match every word of
    ``text`` (see the module docstring). Reads one snapshot when called in a transaction."""
    query_words = words(text)
    if not query_words:
        return TextMatches(query_words)
    per_word: list[dict[str, np.ndarray]] = []
    for word in query_words:
        sources = _word_sources(cat, word)
        if sources:  # a word nothing in the library carries describes looks: CLIP's part
            per_word.append(sources)
    if not per_word:
        return TextMatches(query_words)
    matched: np.ndarray | None = None
    for sources in per_word:
        either = np.unique(np.concatenate(list(sources.values())))
        matched = either if matched is None else np.intersect1d(matched, either,
                                                               assume_unique=True)
        if not len(matched):
            return TextMatches(query_words)
    assert matched is not None
    kinds: dict[int, set[str]] = {}
    for sources in per_word:
        for kind, ids in sources.items():
            for pid in np.intersect1d(matched, ids, assume_unique=False).tolist():
                kinds.setdefault(pid, set()).add(kind)
    return TextMatches(
        query_words, matched, {pid: tuple(sorted(k)) for pid, k in kinds.items()}
    )


def _word_sources(cat: Catalog, word: str) -> dict[str, np.ndarray]:
    """kind -> photo ids that ``word`` matches through that kind of source."""
    found: dict[str, list[np.ndarray]] = {}
    term = _fts_word(word)
    for column, kind in _COLUMN_KINDS.items():
        rows = cat.query(
            "SELECT rowid FROM photo_fts WHERE photo_fts MATCH ?", (f"{column} : {term}",)
        )
        if rows:
            found.setdefault(kind, []).append(np.fromiter((r[0] for r in rows), np.int64,
                                                         count=len(rows)))
    refs: dict[str, list[int]] = {}
    for kind, ref in cat.query(
        "SELECT kind, ref FROM label_fts WHERE label_fts MATCH ?", (f"label : {term}",)
    ):
        refs.setdefault(kind, []).append(int(ref))
    for kind, ids in refs.items():
        photos = _label_photos(cat, kind, ids)
        if len(photos):
            found.setdefault(_LABEL_KINDS.get(kind, kind), []).append(photos)
    roots = [root.id for root in cat.roots() if word in words(root.path.name)]
    if roots:
        rows = cat.query(
            f"SELECT id FROM photos WHERE root_id IN ({','.join('?' * len(roots))})", roots
        )
        if rows:
            found.setdefault(KIND_FOLDER, []).append(np.array([r[0] for r in rows], np.int64))
    return {kind: np.unique(np.concatenate(parts)) for kind, parts in found.items()}


def _label_photos(cat: Catalog, kind: str, refs: list[int]) -> np.ndarray:
    marks = ",".join("?" * len(refs))
    if kind == "tag":
        rows = cat.query(f"SELECT photo_id FROM photo_tags WHERE tag_id IN ({marks})", refs)
    elif kind == "album":
        from photoorg.core.groups import clusters

        ids: list[int] = []
        for (name,) in cat.query(f"SELECT name FROM albums WHERE id IN ({marks})", refs):
            try:
                ids += clusters.album_photos(cat, name)
            except clusters.AlbumError:
                continue  # a saved search is not a set of photos to match by name
        return np.array(ids, np.int64)
    else:
        rows = cat.query(
            f"SELECT photo_id FROM cluster_photos WHERE cluster_id IN ({marks}) "
            f"AND source != 'rejected' UNION SELECT photo_id FROM faces "
            f"WHERE cluster_id IN ({marks})",
            [*refs, *refs],
        )
    return np.fromiter((r[0] for r in rows), np.int64, count=len(rows))


# -- writes ------------------------------------------------------------------------------------


def store_text(
    cat: Catalog,
    photo_id: int,
    text: str,
    *,
    content_hash: str | None,
    status: str = "done",
    detail: str | None = None,
) -> None:
    """Record what the OCR stage read in a photo (``status`` "failed" with ``detail`` when
    it could not read it). The triggers put the words into the full-text index."""
    text = text.strip()
    cat.execute(
        "INSERT INTO photo_text(photo_id, content_hash, status, text, terms, detail, read_at) "
        "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(photo_id) DO UPDATE SET "
        "content_hash = excluded.content_hash, status = excluded.status, text = excluded.text, "
        "terms = excluded.terms, detail = excluded.detail, read_at = excluded.read_at",
        (int(photo_id), content_hash, status, text, ocr_terms(text), detail, time.time()),
    )


def set_caption(cat: Catalog, photo_id: int, caption: str | None) -> None:
    """The hook for imported captions / titles (issue 15's metadata import): index them so
    search finds their words. Call again with the new text when it changes."""
    cat.execute("UPDATE photo_fts SET caption = ? WHERE rowid = ?",
                (caption or None, int(photo_id)))


def photo_text(cat: Catalog, photo_id: int) -> str:
    """The text read in a photo ("" when none or not read yet)."""
    return cat.scalar("SELECT text FROM photo_text WHERE photo_id = ?", (int(photo_id),)) or ""


def has_text_sql(column: str = "p.id") -> str:
    """An SQL condition: the photo has text read in it."""
    return f"{column} IN (SELECT photo_id FROM photo_text WHERE text != '')"


# -- completions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str


def suggestions(cat: Catalog) -> list[Suggestion]:
    """What the search bar offers as you type: people and pet names, places (a named place
    and its city), scene names, tags (their last part) and albums. Sorted, no repeats."""
    seen: dict[str, Suggestion] = {}

    def add(text: str | None, kind: str) -> None:
        text = (text or "").strip()
        if text:
            seen.setdefault(text.casefold(), Suggestion(text, kind))

    for kind, name, auto in cat.query(
        "SELECT kind, name, auto_name FROM clusters WHERE name IS NOT NULL "
        "OR (kind = 'places' AND auto_name IS NOT NULL)"
    ):
        add(name, _LABEL_KINDS[kind])
        if kind == "places" and auto:
            add(auto.rsplit(", ", 1)[0], KIND_PLACE)
            if ", " in auto:
                add(auto.rsplit(", ", 1)[1], KIND_PLACE)
    for (name,) in cat.query("SELECT name FROM tags"):
        add(name.rsplit("|", 1)[-1], KIND_TAG)
    for (name,) in cat.query("SELECT name FROM albums"):
        add(name, KIND_ALBUM)
    return sorted(seen.values(), key=lambda s: s.text.casefold())


# never read, changed since, or failed and its wait before the next try is over
_TO_READ = ("t.photo_id IS NULL OR t.content_hash IS NOT p.content_hash OR "
            f"(t.status = 'failed' AND {waiting_sql('text')})")
# the photos the OCR stage has to read; skipped photos and offline drives wait
_PENDING = ("FROM photos p JOIN roots r ON r.id = p.root_id "
            "LEFT JOIN photo_text t ON t.photo_id = p.id "
            f"WHERE p.status != 'skipped' AND r.online = 1 AND ({_TO_READ})")


def pending_text_files(cat: Catalog, limit: int) -> dict[str, tuple[int, float]]:
    """The files of the first ``limit`` photos :func:`pending_text` would give, each with the
    size and modification time the scan recorded."""
    rows = cat.query(
        f"SELECT r.path, p.rel_path, p.size, p.mtime {_PENDING} ORDER BY p.id LIMIT ?",
        (int(limit),),
    )
    return {str(Path(root) / PurePosixPath(rel)): (int(size), float(mtime))
            for root, rel, size, mtime in rows}


def pending_text(cat: Catalog, limit: int = 500, after_id: int = 0) -> list[tuple[int, Path]]:
    """Photos the OCR stage has not read (or whose content changed since), oldest first
    from ``after_id``; skipped photos and offline drives wait."""
    rows = cat.query(
        f"SELECT p.id, r.path, p.rel_path {_PENDING} AND p.id > ? ORDER BY p.id LIMIT ?",
        (int(after_id), int(limit)),
    )
    return [(pid, Path(root) / PurePosixPath(rel)) for pid, root, rel in rows]


def count_pending_text(cat: Catalog) -> int:
    return int(cat.scalar(f"SELECT COUNT(*) {_PENDING}") or 0)

