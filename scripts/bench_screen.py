"""Benchmark screening and streamed prediction against issue 19's targets; prints a table.

    python scripts/bench_screen.py [--cases predict10k,predict100k,screen100k,screen1m,dask100k,cold,dope]

Every case runs in a fresh process with its own empty ``$MLSSE_HOME`` (cold: no feature cache), on the active
model, and its peak RSS is read from ``resource`` in that process (the screen runner also reports its pool
workers' largest peak). Candidates are doping variants of Li3YCl6, Li6PS5Cl, LLZO, Li3PS4 and Li2ZrCl6, as
``mlsse screen`` enumerates them. Timings depend on what else runs on the machine.

Targets: 1,000,000 candidates screened in < 10 min on 2 cores with peak RSS < 1.5 GB, peak RSS of 1M within 20 %
of 100k's; ``mlsse predict --input`` of 100k rows at ≥ 2,000 rows/s cold; cold ``mlsse predict Li3YCl6`` < 2 s
(idle machine); ``dope`` 10 × 13 < 5 s warm.
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

ROOT = Path(__file__).resolve().parent.parent
HOSTS = {
    "Li3YCl6": {"Y": ["Sc", "In", "Zr", "Hf", "Er", "Yb", "Lu", "Ho", "Al", "Ga", "Mg", "Zn", "Ta", "Nb"],
                "Cl": ["Br", "I", "F", "N"]},
    "Li6PS5Cl": {"P": ["Ge", "Si", "Sn", "Sb", "As", "Al", "Ga", "B", "V", "Nb"], "S": ["Se", "O", "Te"],
                 "Cl": ["Br", "I", "F"]},
    "Li7La3Zr2O12": {"Zr": ["Ta", "Nb", "Te", "W", "Mo", "Hf", "Sn", "Ge", "Sc", "Y"], "Li": ["Al", "Ga", "Fe", "Zn"],
                     "La": ["Sr", "Ca", "Ba", "Nd"]},
    "Li3PS4": {"P": ["Ge", "Si", "Sn", "Sb", "As", "Al"], "S": ["Se", "O", "Te"]},
    "Li2ZrCl6": {"Zr": ["Y", "In", "Sc", "Er", "Yb", "Hf", "Ta", "Nb", "Fe", "Al"], "Cl": ["N", "F", "Br", "I", "O"]},
}
#: Level steps giving about 100,000 and 1,000,000 candidates with both compensations.
LEVELS = {100_000: "0.0009:0.6:0.0009", 1_000_000: "0.00009:0.6:0.00009"}


def spec(size: int):
    from mlsse.doping.space import build_spec

    return build_spec(HOSTS, LEVELS[size], ["li", "vacancy"])


def _peak_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux: KiB


def run_case(case: str, scratch: Path) -> dict:
    """Run one case in this process (a fresh one) and return its measurements."""
    if case.startswith("predict"):
        rows = 10_000 if case == "predict10k" else 100_000
        path = scratch / f"in{rows}.csv"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mlsse", "predict", "--input", str(path), "--output",
                        str(scratch / "out.csv"), "--quiet"], check=True, capture_output=True)
        seconds = time.perf_counter() - start
        return {"rows": rows, "seconds": seconds, "peak_mb": _peak_mb(resource.RUSAGE_CHILDREN)}
    if case.startswith(("screen", "dask")):
        from mlsse.doping.screening import screen

        size = 1_000_000 if case.endswith("1m") else 100_000
        space = spec(size)
        start = time.perf_counter()
        if case.startswith("dask"):
            from distributed import Client, LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                              memory_limit="2GiB") as cluster, Client(cluster) as client:
                summary = screen(space, scratch / "dask.parquet", top=20, scheduler=client)
                workers = max(client.run(lambda: _peak_mb()).values())
        else:
            summary = screen(space, scratch / f"{case}.parquet", top=20, workers=2)
            workers = _peak_mb(resource.RUSAGE_CHILDREN)
        seconds = time.perf_counter() - start
        return {"rows": summary.candidates, "seconds": seconds, "peak_mb": _peak_mb(), "workers_mb": workers}
    if case == "cold":
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mlsse", "predict", "Li3YCl6"], check=True, capture_output=True)
        return {"rows": 1, "seconds": time.perf_counter() - start, "peak_mb": _peak_mb(resource.RUSAGE_CHILDREN)}
    if case == "dope":
        from mlsse.doping.scanning import scan

        dopants = ["Y", "In", "Sc", "Er", "Yb", "Lu", "Ho", "Tm", "Al", "Ga"]
        scan("Li2ZrCl6", "Zr", dopants, "0:0.6:0.05")  # warm: model loaded, caches filled
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            result = scan("Li2ZrCl6", "Zr", dopants, "0:0.6:0.05")
            timings.append(time.perf_counter() - start)
        return {"rows": len(result), "seconds": min(timings), "peak_mb": _peak_mb()}
    raise SystemExit(f"unknown case {case}")


def write_inputs(scratch: Path) -> None:
    """The predict cases' CSVs: 10k and 100k candidates drawn (seed 0) from the 1M screen's space."""
    import numpy as np
    import pandas as pd

    from mlsse.doping.space import chunk_candidates

    space = spec(1_000_000)
    rng = np.random.default_rng(0)
    picked = np.sort(rng.choice(space.n_candidates, size=110_000, replace=False))
    chunk_rows = 50_000
    rows = []
    for chunk in sorted(set((picked // chunk_rows).tolist())):
        frame = chunk_candidates(space, chunk, chunk_rows)  # candidates refused by dope are left out
        rows.append(frame["composition"].sample(frac=0.11, random_state=chunk))
    formulas = pd.concat(rows).sample(frac=1.0, random_state=0).drop_duplicates().tolist()
    for n in (10_000, 100_000):
        pd.DataFrame({"composition": formulas[:n]}).to_csv(scratch / f"in{n}.csv", index=False)


TARGETS = {"predict10k": "-", "predict100k": "≥ 2,000 rows/s", "screen100k": "-",
           "screen1m": "< 600 s, < 1.5 GB, within 20 % of 100k", "dask100k": "-", "cold": "< 2 s (idle)",
           "dope": "< 5 s"}
LABELS = {"predict10k": "mlsse predict --input, 10k rows, cold", "predict100k": "mlsse predict --input, 100k rows, cold",
          "screen100k": "screen ~100k candidates, local pool (2)", "screen1m": "screen ~1M candidates, local pool (2)",
          "dask100k": "screen ~100k, Dask LocalCluster (2 procs)", "cold": "cold mlsse predict Li3YCl6",
          "dope": "dope 10 × 13 (130 rows), warm"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(TARGETS))
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, Path(args.scratch))))
        return
    cases = args.cases.split(",")
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        if any(c.startswith("predict") for c in cases):
            subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT / 'scripts')!r}); "
                            f"import bench_screen; from pathlib import Path; "
                            f"bench_screen.write_inputs(Path({str(scratch)!r}))"], check=True, env=env)
        for case in cases:
            home = tempfile.mkdtemp(dir=scratch)
            proc = subprocess.run([sys.executable, __file__, "--case", case, "--scratch", str(scratch)],
                                  capture_output=True, text=True, env=dict(env, MLSSE_HOME=home))
            if proc.returncode != 0:
                print(f"{case} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            results[case] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"done {case}: {results[case]}", file=sys.stderr, flush=True)
    print(f"{'case':<46}{'rows':>10}{'seconds':>9}{'rows/s':>9}{'peak RSS MB':>13}{'workers MB':>12}  target")
    for case, r in results.items():
        workers = f"{r['workers_mb']:.0f}" if "workers_mb" in r else "-"
        print(f"{LABELS[case]:<46}{r['rows']:>10}{r['seconds']:>9.1f}{r['rows'] / r['seconds']:>9.0f}"
              f"{r['peak_mb']:>13.0f}{workers:>12}  {TARGETS[case]}")
    if "screen100k" in results and "screen1m" in results:
        a, b = (results[c]["peak_mb"] + results[c]["workers_mb"] for c in ("screen100k", "screen1m"))
        print(f"peak RSS (driver + largest worker) 1M / 100k: {b / a:.2f}")
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end (timings vary with other work)")


if __name__ == "__main__":
    main()
