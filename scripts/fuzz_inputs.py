"""Run a few hundred generated bad inputs through predict, dope and retrain, and print what happened to each.

    python3 scripts/fuzz_inputs.py [--seed 0] [--n 300]

Every case runs in process (typer's test runner, so the model loads once) in a fresh ``$MLSSE_HOME`` and a
fresh working directory. A case ends in one of: a clear error (exit 2 and one ``error:`` line), a row note (the
file or table was predicted and the bad row says why), or a traceback (any other exception or exit code); and
"changed" counts cases after which a file other than the one asked for was created, removed or modified. The
goal is 0 tracebacks and 0 changed on every row. Not a test: it takes a few minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import string
import sys
import tempfile
from pathlib import Path

SYMBOLS = ["Li", "Zr", "Cl", "Y", "In", "Sc", "P", "S", "O", "N", "La", "Ti", "Ge", "Br", "Qq", "Xx", "li", "CL"]
PREFIXES = ["", " ", "'", '"', "\x01", "\u2083", "·", ".", "-", "(", ")", "[", "1e400", "nan", "inf", "-1", "0"]


def bad_formulas(rng: random.Random, n: int) -> list[str]:
    """Formulas a user might type by mistake, or an attacker on purpose."""
    fixed = ["", " ", "LiCl.2H2O", "Li1e400Cl", "Li1e308Cl1e308", "Li1e300Cl", "Li-1Cl", "Li0Cl0", "Li3\x01\x02YCl6",
             "Q" * 10_000, "Li(((Cl", "Li)Cl(", "Li3YCl6" * 500, "li3ycl6", "Li₃YCl₆", "75Li2S-25P2S5", "H2O",
             "NaCl", "Li3YCl6\n", "Li3YCl6;rm -rf /", "../../etc/passwd", "Li[3]YCl6", "Li3YCl6+", "Li3 Y Cl6",
             "\ufeffLi3YCl6", "Li3YCl6\x00", "Li%dCl", "{Li3YCl6}", "Li3YCl6 + 5 wt% BaTiO3"]
    out = list(fixed)
    while len(out) < n:
        parts = [rng.choice(SYMBOLS) + rng.choice(PREFIXES + [str(rng.randint(0, 12)), f"{rng.random() * 5:.2f}"])
                 for _ in range(rng.randint(1, 5))]
        out.append("".join(parts) + rng.choice(["", rng.choice(string.punctuation)]))
    return out[:n]


def bad_query_files(rng: random.Random, n: int) -> list[bytes]:
    """Query CSV files with bad cells, headers and bytes."""
    fixed = [b"", b"composition\n", b"formula\nLi3N\n", b"composition,composition\nLi3N,Li3P\n",
             b"composition,temperature_C\nLi3N,298.15\nLi3P,nan\nLi3YCl6,1000\nLi2ZrCl6,abc\n",
             b"composition,temperature_K\nLi3N,300\n", b"composition\nLi3N,5\n", b"\xff\xfe\x00garbage",
             b"composition,space_group_number,a\nLi3N,231,-1\nLi3P,1.5,1e9\n", b"composition,cif\nLi3N,/etc/passwd\n",
             b"composition,additive,additive_wt_pct\nLi3YCl6,BaTiO3,150\nLi3YCl6,Qq,5\n",
             bytes(range(256)) * 4, b"\xef\xbb\xbfcomposition\nLi3N\n", b"composition\n" + b"Li3N\n" * 3 + b"Li1e400Cl\n"]
    out = list(fixed)
    formulas = bad_formulas(rng, 64)
    while len(out) < n:
        rows = [f'"{rng.choice(formulas)}",{rng.choice(["", "25", "-300", "1e9", "nan", "x", "298.15"])}'
                for _ in range(rng.randint(1, 4))]
        out.append(("composition,temperature_C\n" + "\n".join(rows) + "\n").encode("utf-8", "surrogateescape"))
    return out[:n]


def bad_dope_requests(rng: random.Random, n: int) -> list[list[str]]:
    """``mlsse dope`` argument lists with bad hosts, sites, dopants and levels."""
    fixed = [["Li2ZrCl6", "--site", "Zr", "--dopants", "Y", "--levels", "0:1:0"],
             ["Li2ZrCl6", "--site", "Zr", "--dopants", "Y", "--levels", "1:0:0.1"],
             ["Li2ZrCl6", "--site", "Zr", "--dopants", "Y", "--levels", "0:1:1e-9"],
             ["Li2ZrCl6", "--site", "Q", "--dopants", "Y"], ["Li2ZrCl6", "--site", "Cl", "--dopants", "Sc"],
             ["Li2ZrCl6", "--site", "Zr", "--dopants", "Qq"], ["LiQq", "--site", "Li", "--dopants", "Na"],
             ["Li2ZrCl6", "--site", "Zr", "--dopants", "Y", "--levels", "nan"],
             ["Li2ZrCl6", "--site", "Zr", "--dopants", "Y", "--output", "/dev/null"],
             ["Li2ZrCl6", "--site", "Zr", "--dopants", "Y", "--plot", "x.txt"],
             ["Li2ZrCl6", "--site", "Zr", "--dopants", "Y", "--temperature-c", "298.15"],
             ["Li2ZrCl6", "--site", "Zr", "--dopants", "Y", "--additive", "Qq", "--wt", "0:10:5"]]
    out = list(fixed)
    while len(out) < n:
        out.append([rng.choice(["Li2ZrCl6", "Li3YCl6", "Li6PS5Cl", rng.choice(bad_formulas(rng, 8))]),
                    "--site", rng.choice(["Zr", "Y", "Cl", "P", "Q", ""]),
                    "--dopants", rng.choice(["Y", "In,Sc", "N3-", "Qq", "", ",,"]),
                    "--levels", rng.choice(["0:0.2:0.1", "0:1:0", "-1:0:0.1", "a:b:c", "0.1,nan", "0:0.2:-0.1"])])
    return out[:n]


def bad_lab_files(rng: random.Random, n: int) -> list[bytes]:
    """Lab files for ``mlsse retrain`` with bad rows; none may reach training."""
    fixed = [b"composition,sigma_S_cm\nLi3N,-1e-3\n", b"composition,sigma_S_cm\nLi3N,nan\n",
             b"composition,sigma_S_cm,temperature_C\nLi3N,1e-3,1000\n", b"composition,sigma_S_cm\nLiCl.2H2O,1e-3\n",
             b"composition,sigma_S_cm\nLi1e400Cl,1e-3\n", b"composition\nLi3N\n", b"sigma_S_cm\n1e-3\n",
             b"composition,sigma_S_cm\nLi3N,1e-3\nLi3N,1e-3\n", b"\x00\x01\x02", b"",
             b"composition,sigma_S_cm,temperature_C\nLi3N,1e-3,298.15\n", b"composition,sigma_S_cm\nLi3Qq,1e-3\n"]
    out = list(fixed)
    while len(out) < n:
        out.append((f"composition,sigma_S_cm,temperature_C\n{rng.choice(bad_formulas(rng, 16))},"
                    f"{rng.choice(['-1', '0', '2', 'nan', 'inf', 'x', ''])},"
                    f"{rng.choice(['', 'nan', '1000', '-500', '298.15'])}\n").encode("utf-8", "surrogateescape"))
    return out[:n]


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file under the roots, by path, with its SHA-256."""
    files = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                files[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def run_case(runner, app, args: list[str], work: Path, home: Path, allowed: set[str]) -> tuple[str, bool]:
    """Run one CLI call; return its outcome and whether anything but ``allowed`` outputs changed."""
    before = snapshot(work, home)
    previous = os.getcwd()
    os.chdir(work)
    try:
        result = runner.invoke(app, args, env={"MLSSE_HOME": str(home), "COLUMNS": "120"}, catch_exceptions=True)
    finally:
        os.chdir(previous)
    after = snapshot(work, home)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    changed = {p for p in changed if Path(p).name not in allowed and "/cache/" not in p and not p.endswith(".lock")}
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("error:")]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        outcome = "traceback"
    elif result.exit_code == 2 and len(lines) == 1:
        outcome = "clear error"
    elif result.exit_code == 0:
        outcome = "handled"
    else:
        outcome = "traceback"
    return outcome, bool(changed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=300, help="cases in all, shared among the four kinds")
    args = parser.parse_args()
    from typer.testing import CliRunner

    from mlsse.cli import app

    rng = random.Random(args.seed)
    per = max(8, args.n // 4)
    runner = CliRunner()
    table: dict[str, dict[str, int]] = {}
    failures: list[str] = []

    def record(kind: str, outcome: str, changed: bool, label: str) -> None:
        row = table.setdefault(kind, {"tried": 0, "clear error": 0, "handled": 0, "traceback": 0, "changed": 0})
        row["tried"] += 1
        row[outcome] += 1
        row["changed"] += int(changed)
        if outcome == "traceback" or changed:
            failures.append(f"{kind}: {label!r:.120} -> {outcome}{', changed files' if changed else ''}")

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for i, formula in enumerate(bad_formulas(rng, per)):
            work, home = scratch / f"f{i}", scratch / f"fh{i}"
            work.mkdir(), home.mkdir()
            outcome, changed = run_case(runner, app, ["predict", formula], work, home, set())
            record("predict FORMULA", outcome, changed, formula)
        for i, data in enumerate(bad_query_files(rng, per)):
            work, home = scratch / f"q{i}", scratch / f"qh{i}"
            work.mkdir(), home.mkdir()
            (work / "in.csv").write_bytes(data)
            outcome, changed = run_case(runner, app, ["predict", "--input", "in.csv", "--output", "out.csv"], work,
                                        home, {"out.csv"})
            record("predict --input", outcome, changed, data[:60])
        for i, request in enumerate(bad_dope_requests(rng, per)):
            work, home = scratch / f"d{i}", scratch / f"dh{i}"
            work.mkdir(), home.mkdir()
            outcome, changed = run_case(runner, app, ["dope", *request], work, home, {"scan.csv", "scan.png", "x.txt"})
            record("dope", outcome, changed, " ".join(request))
        for i, data in enumerate(bad_lab_files(rng, per)):
            work, home = scratch / f"l{i}", scratch / f"lh{i}"
            work.mkdir(), home.mkdir()
            (work / "lab.csv").write_bytes(data)
            outcome, changed = run_case(runner, app, ["retrain", "--data", "lab.csv", "--trials", "0"], work, home,
                                        set())
            record("retrain --data", outcome, changed, data[:60])
    print(f"{'command':<18}{'tried':>7}{'clear error':>13}{'handled':>9}{'traceback':>11}{'changed':>9}")
    for kind, row in table.items():
        print(f"{kind:<18}{row['tried']:>7}{row['clear error']:>13}{row['handled']:>9}{row['traceback']:>11}"
              f"{row['changed']:>9}")
    print("handled: exit 0, the bad rows noted in the output (files) or the request answered (a formula that is "
          "valid after all)")
    for line in failures[:40]:
        print("FAIL", line)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
