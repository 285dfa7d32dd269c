"""`python -m sandboxes.chaos [--size small|full]`: run it, print the figures, exit 1
unless they are all as they must be."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

from sandboxes.chaos.run import run_chaos
from sandboxes.chaos.sizes import SIZES


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.chaos", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--workdir", type=Path, help="keep config files and logs here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="psgraph-chaos-") as scratch:
        workdir = args.workdir or Path(scratch)
        figures = asyncio.run(run_chaos(SIZES[args.size], workdir))
    print(f"chaos run ({args.size}) took {time.monotonic() - began:.0f} s")
    for line in figures.lines():
        print(line)
    return 0 if figures.green else 1


if __name__ == "__main__":
    sys.exit(main())
