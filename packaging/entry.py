"""The frozen app's entry point (PyInstaller needs a script, not a console-script name).

Besides the ``photoorg`` CLI/GUI it answers the frozen-only forms: the GUI starts its
library service as ``<app executable> --library-service ...`` (see
``photoorg.ui.service_client.service_command``) and ``watch`` its index worker as
``<app executable> --index-worker ...`` (``photoorg.core.app.index_worker``), since a frozen
app has no ``python -m``.
"""

from __future__ import annotations

import multiprocessing
import sys

LIBRARY_SERVICE_FLAG = "--library-service"
INDEX_WORKER_FLAG = "--index-worker"  # photoorg.core.app.index_worker.WORKER_FLAG


def main(argv: list[str]) -> int:
    if argv[:1] == [LIBRARY_SERVICE_FLAG]:
        from photoorg.core.app.service import main as service_main

        return service_main(argv[1:])
    if argv[:1] == [INDEX_WORKER_FLAG]:  # `photoorg watch` runs its pipeline in one
        from photoorg.core.app.index_worker import main as worker_main

        return worker_main(argv[1:])
    from photoorg.__main__ import main as photoorg_main

    return photoorg_main()


if __name__ == "__main__":
    multiprocessing.freeze_support()  # worker processes re-enter here when frozen
    sys.exit(main(sys.argv[1:]))
