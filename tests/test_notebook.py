"""examples/quickstart.ipynb runs, cell by cell, so it cannot rot (no Jupyter needed: the code cells are run in
order in one namespace, as a kernel would)."""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_quickstart_notebook_runs_and_draws_its_figure(tmp_path):
    notebook = json.loads((ROOT / "examples" / "quickstart.ipynb").read_text(encoding="utf-8"))
    code = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert len(code) >= 5
    namespace: dict = {}
    previous = os.getcwd()
    os.chdir(tmp_path)
    try:
        for source in code:
            exec(compile(source, "quickstart.ipynb", "exec"), namespace)  # noqa: S102 - our own notebook
    finally:
        os.chdir(previous)
    assert namespace["table"]["log10_sigma"].notna().all()
    assert namespace["ranked"]["rank"].min() == 1
    assert (tmp_path / "n_doping.png").stat().st_size > 10_000
