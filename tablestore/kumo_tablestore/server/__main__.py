"""``python -m kumo_tablestore.server --data-dir D --port P ...`` (the ``kumo partition`` command's core)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from kumo_tablestore.server.app import run_partition


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kumo partition", description="Serve one partition of one table.")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--table", default=None)
    parser.add_argument("--partition", type=int, default=0)
    parser.add_argument("--durability", choices=("full", "normal", "off"), default="full")
    parser.add_argument("--ttl-interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_partition(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        table=args.table,
        partition=args.partition,
        durability=args.durability,
        ttl_interval_s=args.ttl_interval,
    )


if __name__ == "__main__":
    sys.exit(main())
