"""Regenerate the shipped model in ``models/default`` exactly: same data + seed + trials → same files.

    python scripts/train_default.py [--trials 40] [--seed 0] [--out models/default]

The Optuna study lives in memory for this script (a fresh TPE study seeded with --seed), so the result does
not depend on earlier tuning runs in $MLSSE_HOME.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mlsse.cli.terminal_progress import TerminalProgress
from mlsse.paths import SHIPPED_MODELS_DIR
from mlsse.workspace.training import train_and_save

DEFAULT_TRIALS = 40
DEFAULT_SEED = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help="Optuna trials per model")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=SHIPPED_MODELS_DIR / "default")
    parser.add_argument("--external", type=Path, default=None, help="public data directory")
    args = parser.parse_args()
    start = time.perf_counter()
    # Saved whole or not at all (Predictor.save); the user's own lab batches are left out, so the shipped
    # model depends only on the public and seed data.
    with TerminalProgress() as progress:
        train_and_save(out=args.out, external_dir=args.external, seed=args.seed, trials=args.trials, storage=None,
                       name="default", lab_batches=False, replace_shipped=True, progress=progress)
    size = sum(p.stat().st_size for p in args.out.iterdir()) / 1e6
    print(f"wrote {args.out} ({size:.2f} MB) in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
