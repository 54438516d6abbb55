"""The README is one screen with the two quick-start commands CI runs; docs/benchmarks.md is what its generator
makes of docs/metrics.json, so its figures cannot drift from the evaluation."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_is_one_screen_starting_with_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.split()) < 900
    quick_start = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0].strip()
    commands = quick_start.splitlines()
    assert commands == ['python3 -m pip install -e . && mlsse predict Li2.3ZrCl5.85N0.15',
                        'python3 -m pip install -e ".[test]" && python3 -m pytest']
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "sigma_S_cm" in readme and "allow_unbalanced" in readme  # the lab file's columns
    for link in re.findall(r"\]\(([^)#]+)\)", readme):
        assert (ROOT / link).is_file(), link


def test_benchmarks_page_is_generated_from_the_committed_metrics():
    spec = importlib.util.spec_from_file_location("write_benchmarks", ROOT / "scripts" / "write_benchmarks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import json

    metrics = json.loads((ROOT / "docs" / "metrics.json").read_text(encoding="utf-8"))
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert page == module.benchmarks_page(metrics), "run: python3 scripts/write_benchmarks.py"
    mae = metrics["full_log10_sigma/papers"]["over_seeds"]["mae"]["mlsse"]
    assert f"{sum(mae) / len(mae):.3f}" in page
