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
