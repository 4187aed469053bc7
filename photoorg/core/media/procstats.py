"""What this process has cost so far (for ``photoorg index --json`` and the benchmarks)."""

from __future__ import annotations

import sys


def peak_rss_mb() -> float | None:
    """The most resident memory this process has held, in MB (None where unknown)."""
    try:
        import resource
    except ImportError:  # Windows
        try:
            import psutil

            return round(psutil.Process().memory_info().peak_wset / 2**20, 1)
        except Exception:
            return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)
