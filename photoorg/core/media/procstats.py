"""What this process has cost so far (for ``photoorg index --json`` and the benchmarks)."""

from __future__ import annotations

import sys


def peak_rss_mb() -> float | None:
    """The most resident memory this process has held, in MB (None where unknown)."""
    try:  # Linux: this program's own high-water mark (ru_maxrss would carry over the
        # parent's peak from before exec when the parent was the larger one)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        try:
            import psutil

            return round(psutil.Process().memory_info().peak_wset / 2**20, 1)
        except Exception:
            return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # macOS reports bytes, the BSDs KiB
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)
