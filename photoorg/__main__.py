"""``python -m photoorg`` and the ``photoorg`` console script."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from photoorg.cli import closed_pipe
        from photoorg.cli import main as cli_main

        code = cli_main(sys.argv[1:])
        sys.stdout.flush()  # here, not at exit: a closed pipe is answered quietly
        return code
    except KeyboardInterrupt:  # before a command started (imports, parsing)
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return closed_pipe()


if __name__ == "__main__":
    sys.exit(main())
