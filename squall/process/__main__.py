"""``python -m squall.process ...``: one worker, as the supervisor starts it."""

from __future__ import annotations

import sys

from squall.process.worker import main

if __name__ == "__main__":
    sys.exit(main())
