"""Benchmark the predict path: a cold `mlsse predict FORMULA` and a 10,000-row CSV, on the active model.

    python scripts/bench_predict.py [--rows 10000]

Targets (issue 4): cold single prediction < 3 s; 10,000 compositions from a CSV < 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def candidate_compositions(n: int, seed: int = 0) -> list[str]:
    """n distinct doped-halide / sulfide / oxide-like Li compositions with fractional amounts."""
    rng = np.random.default_rng(seed)
    hosts = [("Li", "Zr", "Cl", 2, 1, 6), ("Li", "Y", "Cl", 3, 1, 6), ("Li", "P", "S", 3, 1, 4),
             ("Li", "La", "O", 7, 3, 12), ("Li", "In", "Br", 3, 1, 6)]
    dopants = ["N", "F", "Br", "I", "Sc", "In", "Hf", "Ta", "Ge", "Sn", "Al", "Ga", "Mg", "Ca", "Nb"]
    out = set()
    while len(out) < n:
        li, m, x, a, b, c = hosts[rng.integers(len(hosts))]
        d = dopants[rng.integers(len(dopants))]
        level = round(float(rng.uniform(0.01, 0.5)), 3)
        li_amt = round(a + float(rng.uniform(-0.3, 0.5)), 3)
        out.add(f"{li}{li_amt}{m}{b}{x}{round(c - level, 3)}{d}{level}")
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    rows = []
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mlsse", "predict", "Li2.3ZrCl5.85N0.15"], check=True,
                   capture_output=True)
    rows.append(("mlsse predict Li2.3ZrCl5.85N0.15 (cold process)", time.perf_counter() - start, "< 3 s"))
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        pd.DataFrame({"composition": candidate_compositions(args.rows)}).to_csv(scratch / "in.csv", index=False)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mlsse", "predict", "--input", str(scratch / "in.csv"), "--output",
                        str(scratch / "out.csv")], check=True, capture_output=True)
        rows.append((f"mlsse predict --input ({args.rows} rows, cold process)", time.perf_counter() - start, "< 60 s"))
        predicted = pd.read_csv(scratch / "out.csv")["log10_sigma"].notna().sum()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{'case':<58} {'seconds':>8}  target")
    for name, seconds, target in rows:
        print(f"{name:<58} {seconds:8.2f}  {target}")
    print(f"rows predicted: {predicted}/{args.rows}; peak RSS of the child processes: {peak:.0f} MB")


if __name__ == "__main__":
    main()
