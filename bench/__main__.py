"""python -m bench [options]: see bench/main.py and bench/README.md."""

from __future__ import annotations

import sys

from bench.main import main

if __name__ == "__main__":
    sys.exit(main())
