"""``python -m squall``: the same as the ``squall`` command."""

from __future__ import annotations

import sys

from squall.cli import main

if __name__ == "__main__":
    sys.exit(main())
