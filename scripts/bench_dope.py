"""Benchmark a doping scan: 10 dopants × 13 levels on one host, warm (model loaded, caches filled).

    python scripts/bench_dope.py

Target (issue 5): < 30 s on 2 cores.
"""

from __future__ import annotations

import time

from mlsse.doping.scanning import scan

DOPANTS = ["Y", "In", "Sc", "Er", "Yb", "Lu", "Ho", "Tm", "Al", "Ga"]
LEVELS = "0:0.6:0.05"  # 13 levels


def main() -> None:
    start = time.perf_counter()
    scan("Li2ZrCl6", "Zr", DOPANTS[:1], "0:0.1:0.05")
    cold = time.perf_counter() - start
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        result = scan("Li2ZrCl6", "Zr", DOPANTS, LEVELS)
        timings.append(time.perf_counter() - start)
    print(f"{'case':<52} {'seconds':>8}")
    print(f"{'first scan in process (loads model, libraries)':<52} {cold:8.2f}")
    print(f"{f'warm scan, {len(DOPANTS)} dopants x 13 levels ({len(result)} rows)':<52} {min(timings):8.2f}"
          f"   (best of 3; target < 30 s)")


if __name__ == "__main__":
    main()
