"""Benchmark: matminer's Magpie ElementProperty vs mlsse's vectorised featurize_compositions.

    cd /work/main && PYTHONPATH=. python scripts/bench_featurize.py [--n 10000] [--seed 0]

Compositions: half are curated compositions (OBELiX + Liverpool, when the external data directory is found)
with every amount scaled by a random factor in [0.85, 1.15] and rounded to 3 decimals; the other half are random
Li compositions with 2-6 elements (Li + 1-5 others from the elements in the curated data, or a fixed list) and
amounts in [0.05, 8] rounded to 3 decimals. Fixed seed, so every run featurizes the same 10,000 formulas.

Each variant runs in its own Python process so that peak memory (``resource.getrusage`` max RSS of the process,
plus its pool workers for matminer n_jobs=2) is its own:

- ``matminer n_jobs=1`` / ``n_jobs=2``: ``ElementProperty.from_preset("magpie").featurize_dataframe`` on a column
  of pymatgen ``Composition`` objects built *before* the clock starts (pbar off). matminer's default would be a
  pool over all CPUs; n_jobs=2 is that default on this 2-CPU machine.
- ``mlsse magpie``: ``featurize_compositions(formula strings, blocks=["magpie"], cache=False)``; the clock
  includes parsing the strings.
- ``mlsse all blocks (cold)``: every block (magpie, stoichiometry, valence, ionic, lithium), cache in a fresh
  temporary directory, so it is computed and written.
- ``mlsse all blocks (warm)``: the same call again in the same process, now served from the cache.

Imports are outside the clock for both. One-time setup (matminer: ``from_preset`` loading MagpieData; mlsse:
``element_tables()`` loading the MagpieData, PymatgenData and DemlData tables) is too, shown in its own column.

The Magpie values of every variant are compared with matminer n_jobs=1 (max abs difference).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FALLBACK_ELEMENTS = ["B", "Al", "Si", "P", "S", "Cl", "Br", "I", "N", "O", "F", "Ti", "Zr", "La", "Ta", "Nb", "Ge",
                     "Sn", "Y", "In", "Sc", "Ga", "Mg", "Ca", "Sr", "Ba", "Hf", "W", "Se"]


def make_compositions(n: int, seed: int) -> list[str]:
    """Return ``n`` formula strings (see the module documentation)."""
    from pymatgen.core import Composition

    rng = np.random.default_rng(seed)
    curated: list[str] = []
    try:
        from mlsse.data.liverpool import load_liverpool
        from mlsse.data.obelix import load_obelix

        curated = sorted(set(load_obelix()[0]["composition"]) | set(load_liverpool()[0]["composition"]))
    except Exception as exc:  # noqa: BLE001 - no external data: random compositions only
        print(f"(curated data not available: {exc}; using random compositions only)", file=sys.stderr)
    elements = sorted({el.symbol for f in curated for el in Composition(f).elements} - {"Li"}) or FALLBACK_ELEMENTS
    out = []
    n_perturbed = n // 2 if curated else 0
    for _ in range(n_perturbed):
        amounts = Composition(curated[rng.integers(len(curated))]).get_el_amt_dict()
        out.append("".join(f"{el}{round(a * rng.uniform(0.85, 1.15), 3):g}" for el, a in amounts.items()))
    while len(out) < n:
        others = rng.choice(elements, size=rng.integers(1, 6), replace=False)
        amounts = np.round(rng.uniform(0.05, 8.0, size=len(others) + 1), 3)
        out.append("".join(f"{el}{a:g}" for el, a in zip(["Li", *others], amounts)))
    return out


def _peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0       # Linux: KiB
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return own, children


def run_variant(variant: str, n: int, seed: int, out_npy: str) -> dict:
    """Run one variant in this process and return its measurements."""
    formulas = make_compositions(n, seed)
    result: dict = {"variant": variant}
    if variant == "baseline":
        pass
    elif variant.startswith("matminer"):
        import pandas as pd
        from matminer.featurizers.composition import ElementProperty
        from pymatgen.core import Composition

        frame = pd.DataFrame({"composition": [Composition(f) for f in formulas]})
        start = time.perf_counter()
        featurizer = ElementProperty.from_preset("magpie")  # loads MagpieData
        result["setup_seconds"] = time.perf_counter() - start
        featurizer.set_n_jobs(int(variant.rsplit("-", 1)[1]))
        start = time.perf_counter()
        features = featurizer.featurize_dataframe(frame, "composition", pbar=False)
        result["seconds"] = time.perf_counter() - start
        np.save(out_npy, features[featurizer.feature_labels()].to_numpy(dtype=float))
    else:
        import matminer.utils.data  # noqa: F401 - imports outside the clock, as for matminer

        from mlsse.features import featurize_compositions
        from mlsse.features.elements import element_tables
        from mlsse.features.preset import BLOCK_LABELS

        magpie = BLOCK_LABELS["magpie"]
        start = time.perf_counter()
        element_tables()  # loads MagpieData/PymatgenData/DemlData once per process
        result["setup_seconds"] = time.perf_counter() - start
        if variant == "mlsse-magpie":
            start = time.perf_counter()
            features = featurize_compositions(formulas, blocks=["magpie"], cache=False)
            result["seconds"] = time.perf_counter() - start
        else:
            with tempfile.TemporaryDirectory() as cache_dir:
                start = time.perf_counter()
                features = featurize_compositions(formulas, cache_dir=cache_dir)
                result["seconds"] = time.perf_counter() - start
                start = time.perf_counter()
                again = featurize_compositions(formulas, cache_dir=cache_dir)
                result["seconds_warm"] = time.perf_counter() - start
                assert again.equals(features)
            result["columns"] = features.shape[1]
        np.save(out_npy, features[magpie].to_numpy(dtype=float))
    result["rss_mb"], result["children_rss_mb"] = _peak_rss_mb()
    result["unique"] = len(set(formulas))
    return result


def _spawn(variant: str, n: int, seed: int, out_npy: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, __file__, "--variant", variant, "--n", str(n), "--seed", str(seed),
                           "--out", out_npy], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"variant {variant} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.n, args.seed, args.out)))
        return

    variants = ["baseline", "matminer-1", "matminer-2", "mlsse-magpie", "mlsse-all"]
    with tempfile.TemporaryDirectory() as tmp:
        results = {v: _spawn(v, args.n, args.seed, str(Path(tmp) / f"{v}.npy")) for v in variants}
        reference = np.load(Path(tmp) / "matminer-1.npy")
        for v in variants[2:]:
            values = np.load(Path(tmp) / f"{v}.npy")
            both = ~np.isnan(reference)
            results[v]["max_abs_diff"] = float(np.max(np.abs(values[both] - reference[both])))
            results[v]["nan_mismatch"] = int((np.isnan(values) != np.isnan(reference)).sum())

    base = results["baseline"]["rss_mb"]
    ref_time = results["matminer-1"]["seconds"]
    print(f"{args.n} compositions ({results['baseline']['unique']} distinct), seed {args.seed}, "
          f"{os.cpu_count()} CPUs; baseline process (imports + formulas) peak RSS {base:.0f} MB\n")
    header = (f"{'variant':<34}{'time (s)':>10}{'vs mm n_jobs=1':>16}{'setup (s)':>11}"
              f"{'peak RSS MB (+workers)':>26}{'max |diff|':>12}")
    print(header)
    print("-" * len(header))
    rows = [("matminer magpie, n_jobs=1", "matminer-1", "seconds"),
            ("matminer magpie, n_jobs=2", "matminer-2", "seconds"),
            ("mlsse magpie block", "mlsse-magpie", "seconds"),
            ("mlsse all blocks, cold cache", "mlsse-all", "seconds"),
            ("mlsse all blocks, warm cache", "mlsse-all", "seconds_warm")]
    for label, v, key in rows:
        r = results[v]
        memory = f"{r['rss_mb']:.0f}" + (f" (+{r['children_rss_mb']:.0f})" if r["children_rss_mb"] > 1 else "")
        diff = "" if "max_abs_diff" not in r else f"{r['max_abs_diff']:.1e}"
        print(f"{label:<34}{r[key]:>10.3f}{ref_time / r[key]:>15.1f}x{r['setup_seconds']:>11.2f}{memory:>26}{diff:>12}")
    mm2 = results["matminer-2"]["seconds"]
    print(f"\nmlsse magpie vs matminer n_jobs=2: {mm2 / results['mlsse-magpie']['seconds']:.1f}x faster; "
          f"all blocks = {results['mlsse-all']['columns']} columns; NaN mismatches vs matminer: "
          f"{sum(results[v]['nan_mismatch'] for v in variants[2:])}")


if __name__ == "__main__":
    main()
