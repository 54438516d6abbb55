"""Benchmark a retrain with 20 Optuna trials per model on the full data (+ a small synthetic lab batch).

    python scripts/bench_retrain.py [--trials 20]

Runs in a temporary MLSSE_HOME so your own store is untouched. Target (issue 6): < 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["MLSSE_HOME"] = home
        from mlsse.models.retrain import retrain

        lab = Path(home) / "lab.csv"
        lab.write_text("composition,sigma_S_cm,temperature_C,ea_eV\nLi2.3ZrCl5.85N0.15,1.6e-3,25,0.25\n"
                       "Li3.1Y0.9Zr0.1Cl6,9.0e-4,30,0.31\n", encoding="utf-8")
        start = time.perf_counter()
        report = retrain(lab, name="bench", trials=args.trials)
        seconds = time.perf_counter() - start
    print(f"{'case':<50} {'seconds':>8}  target")
    print(f"{f'retrain, {args.trials} trials per model, full data':<50} {seconds:8.1f}  < 300 s")
    for target, pair in report.comparison.items():
        print(f"  {target}: same-fold MAE previous {pair['old']['mae']:.3f} -> new {pair['new']['mae']:.3f}")


if __name__ == "__main__":
    main()
