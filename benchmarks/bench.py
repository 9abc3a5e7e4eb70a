"""Same as ``graphclust bench``: ``python benchmarks/bench.py TABLE [--seeds S] [--out DIR]``."""

import sys

from graphclust.bench import main

if __name__ == "__main__":
    sys.exit(main())
