"""Benchmark: how long each data loader and the full curated-table build take, in one table.

    python scripts/bench_data.py [--external DIR]

Each loader runs once in this process, imports outside the clock, so the clock holds reading and parsing; the
last row is the whole merge (``build_curated``: every loader again, then merging and de-duplication, nothing
written). Targets keep ``mlsse data build`` and a first ``mlsse train`` interactive; they are checked here, not in
the tests.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    from mlsse.data.build import build_curated
    from mlsse.data.laskowski import load_laskowski
    from mlsse.data.liverpool import load_liverpool
    from mlsse.data.obelix import load_obelix
    from mlsse.data.seed import load_seed

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--external", type=Path, default=None, help="public data directory")
    args = parser.parse_args()
    table = Table(title="data loading")
    for column in ("step", "rows", "problems", "seconds", "target"):
        table.add_column(column)
    steps = [("seed literature", lambda: load_seed(), 2.0),
             ("OBELiX training split", lambda: load_obelix(args.external), 5.0),
             ("Liverpool Ionics", lambda: load_liverpool(args.external), 5.0),
             ("Laskowski supplementary table", lambda: load_laskowski(args.external), 5.0)]
    for name, load, target in steps:
        start = time.perf_counter()
        frame, problems = load()
        seconds = time.perf_counter() - start
        table.add_row(name, str(len(frame)), str(len(problems)), f"{seconds:.2f}", f"< {target:g} s")
    start = time.perf_counter()
    result = build_curated(external_dir=args.external)
    seconds = time.perf_counter() - start
    table.add_row("curated table (build_curated)", str(len(result.table)), str(len(result.problems)),
                  f"{seconds:.2f}", "< 30 s")
    Console().print(table)


if __name__ == "__main__":
    main()
