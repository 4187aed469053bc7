"""Workarounds for defects of the Qt binding that photoorg runs on.

PySide6 6.12 on CPython < 3.12 drops a reference to ``True`` on every ``Signal.emit()`` (the
result it returns) and to ``None`` whenever an invalid ``QVariant`` becomes Python (e.g.
``QModelIndex.data()`` for a role the model leaves empty, a signal carrying a ``dict`` with
``None`` in it). CPython 3.12+ made these singletons immortal, which hides the bug there; on
3.11 the refcount reaches zero after a few thousand signals and the interpreter aborts
("Fatal Python error: bool_dealloc" / "none_dealloc"). Measured here:
``tests/gui/test_compat.py``.

The fix does what 3.12 does: give ``None``, ``True`` and ``False`` a reference count that can
never run down. It touches nothing else and is a no-op on 3.12+ and on other interpreters.
"""

from __future__ import annotations

import sys

_BOOST = 1 << 40


def immortalize_singletons() -> bool:
    """Make ``None``/``True``/``False`` effectively immortal; returns whether it acted."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    import ctypes

    for obj in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field
        if refcount.value < _BOOST:
            refcount.value += _BOOST
    return True
