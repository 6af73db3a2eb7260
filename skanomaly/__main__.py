"""``python -m skanomaly``: the same as the ``skanomaly`` command."""

import sys

from skanomaly.cli import main

if __name__ == "__main__":
    sys.exit(main())
