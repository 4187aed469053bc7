"""The desktop app (PySide6): thin views over :mod:`photoorg.core` (see ``app.run_app``)."""

from photoorg.ui._compat import immortalize_singletons

immortalize_singletons()
