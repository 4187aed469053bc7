"""What the CLI and the window may name from the core besides :class:`Library` and the
window's backend: the values the door takes and returns, and the few Qt-free helpers the
window's thumbnail workers and the recovery dialog run on files.

``ui`` and ``cli`` import the core only through ``photoorg.core.app`` (import-linter's
contract in ``pyproject.toml``): when an adapter needs something new from below, it is
named here (a type, a constant) or becomes a :class:`Library` method (anything that reads
or changes the library).
"""

# ruff: noqa: F401  (re-exports: every name here is the door's public surface)

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported when first named (PEP 562): a command imports only what it uses (``photoorg
# search`` needs neither the indexer nor the groups), the imports below are for type checkers.
if TYPE_CHECKING:
    from photoorg.core.groups.clusters import KINDS, Album, ClusterInfo, clean_name
    from photoorg.core.groups.events import MIN_PHOTOS, STATE_SUGGESTED, Event
    from photoorg.core.groups.stacks import Badge as StackBadge
    from photoorg.core.ingest.indexer import IndexControl, IndexListener, IndexSummary, Progress
    from photoorg.core.ingest.scanner import ScanReport
    from photoorg.core.ingest.watcher import WatchListener, WatchStatus
    from photoorg.core.media.imaging import DecodeError, load_rgb, make_thumbnail
    from photoorg.core.media.platform_paths import display_name
    from photoorg.core.media.procstats import peak_rss_mb
    from photoorg.core.media.thumbcache import cache_file, key_rotation, photo_key
    from photoorg.core.metadata.importer import FIELDS, SOURCE_IMPORTED
    from photoorg.core.models.embedder import DEFAULT_MODEL, TEST_MODEL, ModelUnavailableError
    from photoorg.core.models.policy import Encoders
    from photoorg.core.search.browse import SORT_LABELS, SORTS
    from photoorg.core.search.browse_queries import (
        FACE_KINDS,
        PhotoDetails,
        PhotoList,
        Source,
        stars_label,
    )
    from photoorg.core.search.browse_queries import (
        ClusterInfo as ClusterRow,
    )
    from photoorg.core.search.engine import (
        DEFAULT_DUPLICATE_THRESHOLD,
        Filters,
        Query,
        QueryError,
        QueryPart,
        parse_query,
        to_timestamp,
    )
    from photoorg.core.search.feedback import Feedback
    from photoorg.core.search.library_search import SearchPage
    from photoorg.core.store.backup import (
        BackupError,
        check_catalog,
        list_backups,
        make_backup,
        prune,
        restore,
    )
    from photoorg.core.store.catalog import CatalogError

_NAMES: dict[str, tuple[str, str]] = {
    "KINDS": ("photoorg.core.groups.clusters", "KINDS"),
    "Album": ("photoorg.core.groups.clusters", "Album"),
    "ClusterInfo": ("photoorg.core.groups.clusters", "ClusterInfo"),
    "clean_name": ("photoorg.core.groups.clusters", "clean_name"),
    "MIN_PHOTOS": ("photoorg.core.groups.events", "MIN_PHOTOS"),
    "STATE_SUGGESTED": ("photoorg.core.groups.events", "STATE_SUGGESTED"),
    "Event": ("photoorg.core.groups.events", "Event"),
    "StackBadge": ("photoorg.core.groups.stacks", "Badge"),
    "IndexControl": ("photoorg.core.ingest.indexer", "IndexControl"),
    "IndexListener": ("photoorg.core.ingest.indexer", "IndexListener"),
    "IndexSummary": ("photoorg.core.ingest.indexer", "IndexSummary"),
    "Progress": ("photoorg.core.ingest.indexer", "Progress"),
    "ScanReport": ("photoorg.core.ingest.scanner", "ScanReport"),
    "WatchListener": ("photoorg.core.ingest.watcher", "WatchListener"),
    "WatchStatus": ("photoorg.core.ingest.watcher", "WatchStatus"),
    "DecodeError": ("photoorg.core.media.imaging", "DecodeError"),
    "load_rgb": ("photoorg.core.media.imaging", "load_rgb"),
    "make_thumbnail": ("photoorg.core.media.imaging", "make_thumbnail"),
    "display_name": ("photoorg.core.media.platform_paths", "display_name"),
    "peak_rss_mb": ("photoorg.core.media.procstats", "peak_rss_mb"),
    "cache_file": ("photoorg.core.media.thumbcache", "cache_file"),
    "key_rotation": ("photoorg.core.media.thumbcache", "key_rotation"),
    "photo_key": ("photoorg.core.media.thumbcache", "photo_key"),
    "FIELDS": ("photoorg.core.metadata.importer", "FIELDS"),
    "SOURCE_IMPORTED": ("photoorg.core.metadata.importer", "SOURCE_IMPORTED"),
    "DEFAULT_MODEL": ("photoorg.core.models.embedder", "DEFAULT_MODEL"),
    "TEST_MODEL": ("photoorg.core.models.embedder", "TEST_MODEL"),
    "ModelUnavailableError": ("photoorg.core.models.embedder", "ModelUnavailableError"),
    "Encoders": ("photoorg.core.models.policy", "Encoders"),
    "SORT_LABELS": ("photoorg.core.search.browse", "SORT_LABELS"),
    "SORTS": ("photoorg.core.search.browse", "SORTS"),
    "FACE_KINDS": ("photoorg.core.search.browse_queries", "FACE_KINDS"),
    "PhotoDetails": ("photoorg.core.search.browse_queries", "PhotoDetails"),
    "PhotoList": ("photoorg.core.search.browse_queries", "PhotoList"),
    "Source": ("photoorg.core.search.browse_queries", "Source"),
    "stars_label": ("photoorg.core.search.browse_queries", "stars_label"),
    "ClusterRow": ("photoorg.core.search.browse_queries", "ClusterInfo"),
    "DEFAULT_DUPLICATE_THRESHOLD": ("photoorg.core.search.engine", "DEFAULT_DUPLICATE_THRESHOLD"),
    "Filters": ("photoorg.core.search.engine", "Filters"),
    "Query": ("photoorg.core.search.engine", "Query"),
    "QueryError": ("photoorg.core.search.engine", "QueryError"),
    "QueryPart": ("photoorg.core.search.engine", "QueryPart"),
    "parse_query": ("photoorg.core.search.engine", "parse_query"),
    "to_timestamp": ("photoorg.core.search.engine", "to_timestamp"),
    "Feedback": ("photoorg.core.search.feedback", "Feedback"),
    "SearchPage": ("photoorg.core.search.library_search", "SearchPage"),
    "BackupError": ("photoorg.core.store.backup", "BackupError"),
    "check_catalog": ("photoorg.core.store.backup", "check_catalog"),
    "list_backups": ("photoorg.core.store.backup", "list_backups"),
    "make_backup": ("photoorg.core.store.backup", "make_backup"),
    "prune": ("photoorg.core.store.backup", "prune"),
    "restore": ("photoorg.core.store.backup", "restore"),
    "CatalogError": ("photoorg.core.store.catalog", "CatalogError"),
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    try:
        module, attr = _NAMES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
