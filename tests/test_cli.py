"""The command line, run as a user would, in a temporary directory: exit codes, files written, contents."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

#: The slice of the public files the evaluate test reads (lines per file, as ``tests.conftest.SLICE_LINES``).
EVALUATE_SLICE_LINES = {"obelix_train.csv": 80, "liverpool_ionics.csv": 200, "laskowski_semi_formatted.csv": 100,
                        "laskowski_doi_lookup.csv": None}


def run(args, cwd, home, check_code=0):
    """Run ``mlsse ARGS`` in this process (typer's test runner) from ``cwd`` with ``MLSSE_HOME=home``; assert its
    exit code and return the result (``stdout``, ``stderr``)."""
    from typer.testing import CliRunner

    from mlsse.cli import app

    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, [str(a) for a in args], env={"MLSSE_HOME": str(home), "COLUMNS": "200"},
                                    catch_exceptions=False)
    finally:
        os.chdir(previous)
    assert result.exit_code == check_code, result.stdout + result.stderr
    return result


def run_installed(args, cwd, home, check_code=0):
    """Run ``python -m mlsse ARGS`` in a new interpreter, as a user's shell does (for the entry point itself)."""
    env = {**os.environ, "MLSSE_HOME": str(home), "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "mlsse", *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == check_code, result.stdout + result.stderr
    return result


def test_help_lists_the_commands(tmp_path):
    out = run_installed(["--help"], tmp_path, tmp_path).stdout
    for command in ("predict", "train", "evaluate", "dope", "screen", "retrain", "models", "data"):
        assert command in out


def test_predict_one_formula_prints_the_table(small_model, tmp_path):
    out = run(["predict", "Li2.3ZrCl5.85N0.15", "--temperature-c", "60", "--model", str(small_model)], tmp_path,
              tmp_path).stdout
    assert "Li2.3ZrCl5.85N0.15 at 60 °C" in out
    for label in ("σ (S/cm)", "log10 σ", "Ea (eV)", "in domain", "features that pushed log10 σ most"):
        assert label in out
    assert re.search(r"P\(σ₂₅ below 1e-10 S/cm\)\s*│\s*0\.\d\d", out), out
    # Each reason names the feature, the formula's value of it ('unknown' for a structure the query does not give)
    # and its push, e.g. "Zr content = 0.108 (+0.31)".
    reasons = " ".join(out.split("features that pushed log10 σ most:")[1].split())
    assert len(re.findall(r"= (?:-?[\d.]+(?:e[-+]\d+)?|unknown) \([-+]\d+\.\d\d\)", reasons)) == 3, reasons


def test_predict_one_formula_shows_what_the_training_data_holds(small_model, tmp_path):
    from mlsse.models.storage import load_model

    predictor = load_model(small_model)
    # A composition the small model was trained on, measured (not censored): its measured σ is in the table.
    formula = next(record[5] for record in predictor.measured.values.values()
                   if len(record) >= 6 and not record[1] and " + " not in record[5])
    out = run(["predict", formula, "--model", str(small_model)], tmp_path, tmp_path).stdout
    table = out.split("what the training data holds")[1]
    this_one = next(line for line in table.splitlines() if "this one" in line)
    assert "not measured" not in this_one and re.search(r"│\s*\d+\s*│", this_one), this_one
    assert len([line for line in table.splitlines() if re.search(r"│ 0\.\d{3}\s*│", line)]) == 3  # 3 nearest


def test_predict_several_formulas_and_stdin_give_one_table_and_one_file(small_model, tmp_path):
    from typer.testing import CliRunner

    from mlsse.cli import app

    out = run(["predict", "Li3N", "LiQq", "Li6PS5Cl", "--model", str(small_model), "--output", "several.csv"],
              tmp_path, tmp_path).stdout
    assert "3 compositions at 25 °C" in out
    assert "LiQq: unknown element 'Qq' in 'LiQq'" in out
    written = pd.read_csv(tmp_path / "several.csv")
    assert written["composition"].tolist() == ["Li3N", "LiQq", "Li6PS5Cl"]
    assert written["log10_sigma"].isna().tolist() == [False, True, False]
    piped = CliRunner().invoke(app, ["predict", "-", "Li3N", "--model", str(small_model)],
                               input="Li6PS5Cl\n# a comment\n\nLi3YCl6\n",
                               env={"MLSSE_HOME": str(tmp_path), "COLUMNS": "200"}, catch_exceptions=False)
    assert piped.exit_code == 0, piped.stdout
    assert "3 compositions at 25 °C" in piped.stdout
    rows = [line.split()[0] for line in piped.stdout.splitlines()
            if line.strip().startswith("Li") and not line.split()[0].endswith(":")]  # notes follow the table
    assert rows == ["Li6PS5Cl", "Li3YCl6", "Li3N"]


def test_predict_writes_the_format_its_output_names_at_a_sensible_precision(small_model, tmp_path):
    model = ["--model", str(small_model)]
    for name in ("p.csv", "p.json", "p.parquet"):
        run(["predict", "Li3N", "Li6PS5Cl", "--output", name, *model], tmp_path, tmp_path)
    csv = pd.read_csv(tmp_path / "p.csv")
    records = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    parquet = pd.read_parquet(tmp_path / "p.parquet")
    assert [r["composition"] for r in records] == parquet["composition"].tolist() == csv["composition"].tolist()
    assert csv["log10_sigma"].tolist() == pytest.approx(parquet["log10_sigma"].tolist(), abs=1e-12)
    # σ's interval in S/cm is the log10 interval's, and no figure carries more digits than it means.
    assert csv["sigma_lo_S_cm"].tolist() == pytest.approx((10 ** csv["log10_sigma_lo"]).tolist(), rel=2e-3)
    first = (tmp_path / "p.csv").read_text(encoding="utf-8").splitlines()[1]
    assert max(len(cell) for cell in first.split(",")[2:12]) <= 10, first
    result = run(["predict", "Li3N", "--output", "p.xlsx", *model], tmp_path, tmp_path, check_code=2)
    assert result.stderr.strip() == "error: --output p.xlsx: give a file ending in .csv, .json, .parquet, .pq"
    pd.DataFrame({"composition": ["Li3N"]}).to_csv(tmp_path / "in.csv", index=False)
    result = run(["predict", "--input", "in.csv", "--output", "in.json", *model], tmp_path, tmp_path, check_code=2)
    assert result.stderr.strip() == "error: --output in.json: give a file ending in .csv, .parquet, .pq"


def test_predict_never_replaces_its_input_a_fifo_a_read_only_file_or_a_directory(small_model, tmp_path):
    model = ["--model", str(small_model)]
    query = tmp_path / "in.csv"
    pd.DataFrame({"composition": ["Li3N", "Li6PS5Cl"]}).to_csv(query, index=False)
    before = query.read_bytes()
    os.link(query, tmp_path / "same.csv")
    for output in ("in.csv", "same.csv"):
        result = run(["predict", "--input", "in.csv", "--output", output, *model], tmp_path, tmp_path, check_code=2)
        assert result.stderr.strip() == f"error: --output {output} is the input file: write the predictions elsewhere"
    assert query.read_bytes() == before
    os.mkfifo(tmp_path / "fifo.csv")
    result = run(["predict", "Li3N", "--output", "fifo.csv", *model], tmp_path, tmp_path, check_code=2)
    assert "fifo.csv: is not a regular file (a device, FIFO or socket)" in result.stderr
    assert (tmp_path / "fifo.csv").is_fifo()
    locked = tmp_path / "locked.csv"
    locked.write_text("mine\n", encoding="utf-8")
    locked.chmod(0o444)
    result = run(["predict", "Li3N", "--output", "locked.csv", *model], tmp_path, tmp_path, check_code=2)
    assert "locked.csv: is read-only" in result.stderr and locked.read_text(encoding="utf-8") == "mine\n"
    result = run(["predict", "--input", str(tmp_path), "--output", "out.csv", *model], tmp_path, tmp_path,
                 check_code=2)
    assert result.stderr.strip() == f"error: --input {tmp_path}: is a directory, not a file"


def test_models_list_marks_the_active_version_and_gives_its_error_figures(tmp_path):
    from mlsse.workspace.registry import model_dir

    metadata = json.loads((model_dir("default") / "metadata.json").read_text(encoding="utf-8"))
    out = run(["models", "list"], tmp_path, tmp_path).stdout
    row = next(line for line in out.splitlines() if "default" in line and "shipped" in line)
    assert "active" in row and f"{metadata['metrics']['log10_sigma']['mae']:.3f}" in row
    assert f"{metadata['metrics']['ea_eV']['mae']:.3f}" in row
    assert "active model: default" in out


def test_a_blank_temperature_in_a_query_file_is_noted_where_25_degrees_is_assumed(small_model, tmp_path):
    (tmp_path / "in.csv").write_text("composition,temperature_C\nLi3N,nan\nLi3P,\nLi6PS5Cl,60\n", encoding="utf-8")
    run(["predict", "--input", "in.csv", "--output", "out.csv", "--model", str(small_model)], tmp_path, tmp_path)
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert out["temperature_C"].tolist() == [25.0, 25.0, 60.0]
    assumed = [note.endswith("no temperature_C given: σ at 25 °C") for note in out["note"]]
    assert assumed == [True, True, False]


def test_predict_takes_a_composite_additive_on_the_command_line(small_model, tmp_path):
    import mlsse

    out = run(["predict", "Li2.5Y0.5Zr0.5Cl6", "--additive", "BaTiO3", "--wt", "5", "--output", "c.csv", "--model",
               str(small_model)], tmp_path, tmp_path).stdout
    assert "Li2.5Y0.5Zr0.5Cl6 + 5 wt% BaTiO3 at 25 °C" in out
    written = pd.read_csv(tmp_path / "c.csv")
    expected = mlsse.predict(pd.DataFrame({"composition": ["Li2.5Y0.5Zr0.5Cl6"], "additive": ["BaTiO3"],
                                           "additive_wt_pct": [5.0]}), model=small_model)
    assert written.loc[0, "log10_sigma"] == pytest.approx(expected.loc[0, "log10_sigma"], abs=1e-4)
    result = run(["predict", "Li3N", "--wt", "5", "--model", str(small_model)], tmp_path, tmp_path, check_code=2)
    assert result.stderr.strip() == "error: --additive needs --wt (its wt%), and --wt needs --additive"


def test_an_arrhenius_view_of_one_formula_gives_a_table_a_file_and_a_figure(small_model, tmp_path):
    result = run(["predict", "Li6PS5Cl", "--temperature-c", "25:100:25", "--output", "a.csv", "--plot", "a.svg",
                  "--model", str(small_model)], tmp_path, tmp_path)
    assert "Li6PS5Cl: σ against temperature" in result.stdout
    table = pd.read_csv(tmp_path / "a.csv")
    assert table["temperature_C"].tolist() == [25, 50, 75, 100]
    assert table["log10_sigma"].is_monotonic_increasing  # σ rises with T through Arrhenius
    assert b"<svg" in (tmp_path / "a.svg").read_bytes()[:400]
    result = run(["predict", "Li3N", "Li3P", "--temperature-c", "25:100:25", "--model", str(small_model)], tmp_path,
                 tmp_path, check_code=2)
    assert "give one formula" in result.stderr


def test_rank_leaves_rows_it_cannot_predict_unranked_and_never_compares_with_them(small_model, tmp_path):
    (tmp_path / "r.csv").write_text("composition,space_group_number,fam\nLi3YCl6,999,A\nLi3InCl6,,A\n"
                                    "Li3ErCl6,,A\nLi2ZrCl6,999,B\n", encoding="utf-8")
    run(["rank", "--input", "r.csv", "--output", "o.parquet", "--group", "fam", "--model", str(small_model)],
        tmp_path, tmp_path)
    out = pd.read_parquet(tmp_path / "o.parquet")
    a = out[out["group"] == "A"]
    assert set(a["reference"]) == {"Li3InCl6"}  # the first row that could be predicted
    assert a["rank"].isna().tolist() == [False, False, True] and a["delta_log10_sigma"].notna().sum() == 2
    b = out[out["group"] == "B"]  # a group with no prediction is kept, unranked
    assert b["rank"].isna().all() and b["versus_reference"].eq("").all()
    (tmp_path / "t.csv").write_text("composition,temperature_C,ref\nLi3YCl6,abc,x\nLi3InCl6,25,\n", encoding="utf-8")
    result = run(["rank", "--input", "t.csv", "--output", "t.parquet", "--reference", "ref", "--model",
                  str(small_model)], tmp_path, tmp_path, check_code=2)
    assert result.stderr.startswith("error: the reference 'Li3YCl6' of group 'all' cannot be predicted: ")
    assert not (tmp_path / "t.parquet").exists()


def test_an_arrhenius_view_with_no_temperature_it_can_predict_writes_nothing(small_model, tmp_path):
    result = run(["predict", "Li3YCl6", "--temperature-c", "650:800:50", "--output", "z.csv", "--model",
                  str(small_model)], tmp_path, tmp_path, check_code=2)
    assert result.stderr.startswith("error: Li3YCl6: no temperature could be predicted: temperature 650 °C")
    assert not (tmp_path / "z.csv").exists()
    (tmp_path / "ro.png").write_bytes(b"mine")
    (tmp_path / "ro.png").chmod(0o444)
    result = run(["predict", "Li3YCl6", "--temperature-c", "25:50:25", "--output", "y.csv", "--plot", "ro.png",
                  "--model", str(small_model)], tmp_path, tmp_path, check_code=2)
    assert "ro.png: is read-only" in result.stderr and not (tmp_path / "y.csv").exists()


def test_version_is_the_installed_one(tmp_path):
    from importlib.metadata import version

    assert run(["--version"], tmp_path, tmp_path).stdout.strip() == f"mlsse {version('mlsse')}"


def test_top_contributions_give_the_feature_value_and_the_largest_pushes(small_model):
    from mlsse.features import featurize_table
    from mlsse.features.names import absent_element, readable_name
    from mlsse.models.storage import load_model

    predictor = load_model(small_model)
    formula = "Li2.3ZrCl5.85N0.15"
    (reasons,) = predictor.top_contributions([formula], k=4)
    features = featurize_table(pd.DataFrame({"composition": [formula]})).iloc[0]
    raw = {readable_name(name): name for name in predictor.feature_names}
    everything = predictor.explain_features(features.to_frame().T).iloc[0].drop("bias")
    absent = {name for name in predictor.feature_names if absent_element(name, features[name])}
    assert len(reasons) == 4
    present = [r for r in reasons if r[0] in raw and raw[r[0]] not in absent]
    grouped = [r for r in reasons if r not in present]
    for name, value, push in present:  # what the composition has: its own value and contribution
        assert value == pytest.approx(features[raw[name]], nan_ok=True)
        assert push == pytest.approx(everything[raw[name]])
    largest_present = sorted(everything.drop(sorted(absent)).abs())[::-1][:len(present)]
    assert sorted((abs(p) for _, _, p in present), reverse=True) == pytest.approx(largest_present)
    assert len(grouped) <= 1 and reasons[len(present):] == grouped  # the absences last, as one reason
    if grouped:
        ((name, value, push),) = grouped
        elements = name.removesuffix(" content").removesuffix(" …").split(", ")
        assert value == 0 and set(elements) <= {absent_element(n, 0) for n in absent}
        assert push == pytest.approx(sum(everything[n] for n in absent))  # every absent element, summed


def test_predict_csv_keeps_columns_and_notes_bad_rows(small_model, tmp_path):
    pd.DataFrame({"composition": ["Li3N", "LiQq", "Li6PS5Cl"], "temperature_C": [25, 25, 80],
                  "id": [1, 2, 3]}).to_csv(tmp_path / "in.csv", index=False)
    result = run(["predict", "--input", "in.csv", "--output", "out.csv", "--model", str(small_model)], tmp_path,
                 tmp_path)
    assert "predicted 2 of 3 rows" in result.stdout
    out = pd.read_csv(tmp_path / "out.csv")
    from mlsse.models.predictor import OUTPUT_COLUMNS

    assert out.columns.tolist() == ["composition", "temperature_C", "id", *OUTPUT_COLUMNS]
    assert OUTPUT_COLUMNS[:15] == ["log10_sigma", "log10_sigma_lo", "log10_sigma_hi", "sigma_S_cm",
                                   "sigma_lo_S_cm", "sigma_hi_S_cm", "ea_eV", "ea_lo", "ea_hi",
                                   "p_sigma_below_detection", "in_domain", "note", "model_log10_sigma",
                                   "measured_log10_sigma", "measured_papers"]
    assert out["nearest_1"].notna().tolist() == [True, False, True]  # every good row names its nearest material
    assert out["log10_sigma"].isna().tolist() == [False, True, False]
    assert out["p_sigma_below_detection"].between(0, 1).tolist() == [True, False, True]  # empty for the bad row
    assert out.loc[1, "note"] == "unknown element 'Qq' in 'LiQq'"


def test_predict_csv_without_composition_column_fails_cleanly(small_model, tmp_path):
    pd.DataFrame({"formula": ["Li3N"]}).to_csv(tmp_path / "in.csv", index=False)
    result = run(["predict", "--input", "in.csv", "--output", "out.csv", "--model", str(small_model)], tmp_path,
                 tmp_path, check_code=2)
    assert result.stderr.strip() == "error: in.csv, line 1: missing column(s) 'composition'; found ['formula']"
    assert not (tmp_path / "out.csv").exists()


def test_predict_csv_file_problems_are_one_line_and_inputs_are_kept(small_model, tmp_path):
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.cif import CifWriter

    (tmp_path / "data").mkdir()
    CifWriter(Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.13), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
              ).write_file(tmp_path / "data" / "LiCl.cif")
    (tmp_path / "data" / "in.csv").write_text("composition,cif,sigma_S_cm\nLiCl,LiCl.cif,1e-7,\n", encoding="utf-8")
    # run from elsewhere: the CIF is found beside the CSV, the trailing comma shifts nothing, the measured σ is kept
    result = run(["predict", "--input", "data/in.csv", "--output", "out.csv", "--model", str(small_model)], tmp_path,
                 tmp_path)
    assert "note: input column(s) named like a prediction column kept as 'sigma_S_cm' → 'sigma_S_cm_input'" in result.stderr
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert out.loc[0, "composition"] == "LiCl" and out.loc[0, "sigma_S_cm_input"] == 1e-7
    assert out.loc[0, "log10_sigma"] != "" and "cif" not in out.loc[0, "note"]
    # an output path that is a directory: one line naming it, exit 2, nothing written
    result = run(["predict", "--input", "data/in.csv", "--output", "data", "--model", str(small_model)], tmp_path,
                 tmp_path, check_code=2)
    assert result.stderr.strip() == "error: data: is a directory, not a file"
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["LiCl.cif", "in.csv"]
    # a single formula with --output writes the same columns
    run(["predict", "Li3N", "--output", "one.csv", "--model", str(small_model)], tmp_path, tmp_path)
    assert pd.read_csv(tmp_path / "one.csv").columns.tolist()[:3] == ["composition", "temperature_C", "log10_sigma"]


def test_predict_help_names_every_input_column_and_that_folders_are_created(tmp_path):
    out = " ".join(run(["predict", "--help"], tmp_path, tmp_path).stdout.replace("│", " ").split())
    for column in ("temperature_C", "space_group_number", "alpha, beta, gamma", "cif", "additive (a formula",
                   "additive_wt_pct", "missing folders are created"):
        assert column in out, column


def test_progress_shows_stage_lines_off_a_terminal_bars_on_one_and_nothing_when_quiet(capsys):
    from mlsse.cli.terminal_progress import TerminalProgress

    with TerminalProgress() as progress:  # stderr is captured here, so not a terminal: no bars
        progress.message("featurizing 12 rows")
        assert list(progress.track(range(3), "folds")) == [0, 1, 2]
        assert progress.bars.disable
    with TerminalProgress(quiet=True) as progress:
        progress.message("not shown")
        with progress.task("hidden", total=2) as advance:
            advance(2)
    assert capsys.readouterr() == ("", "featurizing 12 rows\n")
    from rich.console import Console

    terminal = TerminalProgress()
    terminal.console = Console(stderr=True, force_terminal=True)
    terminal.bars.live.console = terminal.console
    terminal.bars.disable = False
    with terminal:
        with terminal.task("tuning: Optuna trials", total=4) as advance:
            advance(1)
            assert terminal.bars.tasks[0].completed == 1 and terminal.bars.tasks[0].total == 4
    assert terminal.bars.tasks == []  # put away when done


def test_usage_errors_are_one_message_not_a_traceback(tmp_path):
    # through the installed entry point: typer ships its own copy of click, and click itself may not be installed
    result = run_installed(["rank", "--group", "series"], tmp_path, tmp_path, check_code=2)
    assert "Missing option '--input'" in result.stderr and "Traceback" not in result.stderr
    result = run_installed(["dope", "Li2ZrCl6", "--dopants", "Y"], tmp_path, tmp_path, check_code=2)
    assert result.stderr == ("error: give --site and --dopants (or an --additive with --wt for a composite series "
                             "alone)\n")
    result = run_installed(["predict", "LiCl", "--temperature-c", "warm"], tmp_path, tmp_path, check_code=2)
    assert result.stderr == "error: --temperature-c 'warm': give °C, one number or start:stop:step\n"
    result = run_installed(["models", "use", "nothere"], tmp_path, tmp_path, check_code=2)
    assert result.stderr == "error: no model version 'nothere'; see 'mlsse models list'\n"


def test_train_refuses_an_out_directory_holding_other_files_before_training(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "lab.csv").write_text("composition\nLi3N\n")
    result = run(["train", "--trials", "0", "--out", "results"], tmp_path, tmp_path, check_code=2)
    assert result.stderr.strip() == ("error: cannot save a model at results: it is a directory holding lab.csv, "
                                     "which a save would replace; name a new or empty directory")
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["lab.csv"]
    from mlsse.paths import SHIPPED_MODELS_DIR

    shipped = SHIPPED_MODELS_DIR / "default"
    before = {p.name: p.read_bytes() for p in shipped.iterdir()}
    result = run(["train", "--trials", "0", "--out", str(shipped)], tmp_path, tmp_path, check_code=2)
    assert result.stderr.strip() == (f"error: cannot save a model at {shipped}: it is the shipped model "
                                     "(scripts/train_default.py), which other versions' records describe; name a "
                                     "new directory")
    assert {p.name: p.read_bytes() for p in shipped.iterdir()} == before


def test_dope_and_explain_refuse_bad_paths_and_requests_before_working(small_model, tmp_path):
    model = ["--model", str(small_model)]
    result = run(["dope", "Li2ZrCl6", "--site", "Zr", "--dopants", "Y", "--output", "scan.png", *model], tmp_path,
                 tmp_path, check_code=2)
    assert result.stderr.strip() == "error: --output scan.png: give a .csv or .json file"
    result = run(["dope", "Li2ZrCl6", "--site", "Zr", "--dopants", "Y", "--temperature-c", "298.15", *model],
                 tmp_path, tmp_path, check_code=2)
    assert result.stderr.strip() == "error: temperature 298.15 °C is kelvin (298.15 K = 25 °C): give °C"
    result = run(["dope", "Li1.3Al0.3Ti1.7P3O12", "--site", "Ti", "--dopants", "Cr", "--levels", "0.1", "--output",
                  "cr.csv", *model], tmp_path, tmp_path)
    assert "note: Cr on the Ti site taken as Cr6+; it is also common as Cr3+" in result.stderr
    assert (tmp_path / "cr.csv").exists() and (tmp_path / "cr.png").exists()
    # Any figure format matplotlib writes, by the suffix; others refused before the scan.
    run(["dope", "Li2ZrCl6", "--site", "Zr", "--dopants", "Y", "--levels", "0.1", "--output", "y.csv", "--plot",
         "y.svg", *model], tmp_path, tmp_path)
    assert b"<svg" in (tmp_path / "y.svg").read_bytes()[:400]
    result = run(["dope", "Li2ZrCl6", "--site", "Zr", "--dopants", "Y", "--output", "z.csv", "--plot", "z.txt",
                  *model], tmp_path, tmp_path, check_code=2)
    assert result.stderr.startswith("error: --plot z.txt: give a file ending in ") and ".pdf" in result.stderr
    assert not (tmp_path / "z.csv").exists()
    result = run(["explain", "Li3N", "--global", *model], tmp_path, tmp_path, check_code=2)
    assert result.stderr.strip() == "error: give a FORMULA or --global, not both"
    run(["explain", "Li3Xx", "--out", "never", *model], tmp_path, tmp_path, check_code=2)
    assert not (tmp_path / "never").exists() and not (tmp_path / "scan.csv").exists()
    result = run(["explain", "NaCl", "--out", "e", *model], tmp_path, tmp_path)
    assert "note: NaCl is outside what the model knows" in result.stderr


def test_explain_global_writes_the_picture_and_names_lab_batches_it_cannot_find(small_model, tmp_path):
    import shutil

    # A model that names a lab batch this $MLSSE_HOME does not hold (copied from another home).
    copied = tmp_path / "copied"
    shutil.copytree(small_model, copied)
    metadata = json.loads((copied / "metadata.json").read_text())
    metadata["batches"] = ["0001-0123456789ab"]
    (copied / "metadata.json").write_text(json.dumps(metadata))
    result = run(["explain", "--global", "--target", "ea", "--model", str(copied), "--out", "g"], tmp_path,
                 tmp_path / "home")
    assert ("note: the model was trained on lab batch(es) 0001-0123456789ab, which this $MLSSE_HOME does not "
            "hold; explaining on the rows it does") in result.stderr
    importance = pd.read_csv(tmp_path / "g" / "shap_global_ea.csv")
    assert len(importance) and {p.name for p in (tmp_path / "g").iterdir()} == {
        "shap_global_ea.csv", "shap_beeswarm_ea.png", "shap_bar_ea.png"}


def test_explain_global_reads_external_and_is_cached_with_the_model(small_model, public_slice, tmp_path):
    home = tmp_path / "home"
    first = run(["explain", "--global", "--model", str(small_model), "--external", str(public_slice), "--out", "a",
                 "--quiet"], tmp_path, home)
    assert "computed before" not in first.stderr
    (cached,) = (home / "cache" / "explain").glob("*.npz")
    # The second run reads the cache: no data directory is needed, and the picture is the same.
    second = run(["explain", "--global", "--model", str(small_model), "--external", str(tmp_path / "nowhere"),
                  "--out", "b", "--quiet"], tmp_path, home)
    assert f"computed before ({cached})" in second.stderr
    assert (tmp_path / "a" / "shap_global_sigma.csv").read_text() == (tmp_path / "b" / "shap_global_sigma.csv"
                                                                       ).read_text()
    cached.write_bytes(b"damaged")  # a damaged cache is computed again, not trusted
    third = run(["explain", "--global", "--model", str(small_model), "--external", str(public_slice), "--out", "c",
                 "--quiet"], tmp_path, home)
    assert "computed before" not in third.stderr
    assert (tmp_path / "c" / "shap_global_sigma.csv").read_text() == (tmp_path / "a" / "shap_global_sigma.csv"
                                                                       ).read_text()
    refused = run(["explain", "Li3N", "--external", str(public_slice), "--model", str(small_model)], tmp_path, home,
                  check_code=2)
    assert "--external is read by --global" in refused.stderr


def test_unparsable_formula_on_the_command_line(small_model, tmp_path):
    result = run(["predict", "Li2Xx", "--model", str(small_model)], tmp_path, tmp_path, check_code=2)
    assert result.stderr.strip() == "error: Li2Xx: unknown element 'Xx' in 'Li2Xx'"


@pytest.mark.parametrize("formula, message", [
    ("LiCl.2H2O", "a '.' in 'LiCl.2H2O' that is no decimal point: write decimals with a digit before the point "
                  "(Li0.5) and a hydrate with a middle dot (LiCl·2H2O)"),
    ("Li3InCl6.2H2O", "a '.' in 'Li3InCl6.2H2O' that is no decimal point: write decimals with a digit before the "
                      "point (Li0.5) and a hydrate with a middle dot (LiCl·2H2O)"),
    ("Li1e400Cl", "formula 'Li1e400Cl' has an amount that is not a number up to 10000 atoms per formula unit"),
    ("Li1e300Cl", "formula 'Li1e300Cl' has an amount that is not a number up to 10000 atoms per formula unit"),
])
def test_a_hydrate_dot_or_an_absurd_amount_is_refused_in_one_line(small_model, tmp_path, formula, message):
    result = run(["predict", formula, "--model", str(small_model)], tmp_path, tmp_path, check_code=2)
    assert result.stderr.strip() == f"error: {formula}: {message}"


def test_long_or_non_printing_formulas_are_echoed_cut_and_escaped(small_model, tmp_path):
    result = run(["predict", "Li3\x01\x02YCl6", "--model", str(small_model)], tmp_path, tmp_path, check_code=2)
    assert "\x01" not in result.stderr and "Li3\\x01\\x02YCl6" in result.stderr
    result = run(["predict", "Qq" * 5000, "--model", str(small_model)], tmp_path, tmp_path, check_code=2)
    assert len(result.stderr) < 400 and "…" in result.stderr


def test_the_api_refuses_a_dict_or_a_list_of_numbers(small_model):
    import mlsse
    from mlsse.errors import DataError

    with pytest.raises(DataError, match="a dict is not a query"):
        mlsse.predict({"Li3YCl6": 80}, model=small_model)
    with pytest.raises(DataError, match="a dict is not a query"):
        mlsse.predict({"composition": ["Li3YCl6"]}, model=small_model)
    with pytest.raises(DataError, match="not float"):
        mlsse.predict([1.5], model=small_model)
    one_row_with_a_bad_amount = mlsse.predict(["Li3N", "Li1e300Cl"], model=small_model)
    assert one_row_with_a_bad_amount["log10_sigma"].isna().tolist() == [False, True]


def test_data_build_writes_table_card_and_problems(tmp_path, external_dir):
    result = run(["data", "build", "--out", "built"], tmp_path, tmp_path)
    assert "curated data:" in result.stdout
    table = pd.read_csv(tmp_path / "built" / "curated.csv")
    assert set(table["source"]) == {"seed", "obelix", "liverpool", "laskowski"}
    assert table["reference"].notna().all() and table["value_origin"].notna().all()
    # One spelling per structural family across sources (OBELiX "argyrodites", seed "argyrodite", ...).
    families = set(table["family"].dropna())
    assert {"argyrodite", "perovskite", "anti-perovskite", "nasicon"} <= families
    assert not families & {"argyrodites", "perovskites", "antiperovskite", "NASICON", "Anti-Perovskite"}
    problems = pd.read_csv(tmp_path / "built" / "problems.csv")
    assert problems["line"].notna().all()


def test_data_build_with_missing_directory_fails_cleanly(tmp_path):
    result = run(["data", "build", "--external", "nowhere", "--out", "built"], tmp_path, tmp_path, check_code=2)
    assert result.stderr.strip() == "error: external data directory not found: nowhere (pass --external DIR or set " \
                                    "MLSSE_EXTERNAL_DIR)"
    assert not (tmp_path / "built").exists()


def test_evaluate_over_two_fold_seeds_prints_the_spread(small_model, tmp_path, external_dir):
    # A smaller slice of every public file than the small model's keeps the run short (the CIF archive is read as
    # it is): evaluate trains 2 × 5 folds × 8 runs of the model and of the random-forest baseline.
    from tests.conftest import write_public_slice

    external = write_public_slice(external_dir, tmp_path / "external", EVALUATE_SLICE_LINES)
    result = run(["evaluate", "--external", str(external), "--model", str(small_model), "--repeats", "2",
                  "--out", "ev"], tmp_path, tmp_path)
    assert "over fold seeds 0…1" in result.stdout and "mlsse < RF" in result.stdout
    assert re.search(r"[012]/2 seeds", result.stdout)
    assert "other papers' median" in result.stdout
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    runs = ["obelix_log10_sigma", "obelix_log10_sigma_full_training", "full_log10_sigma", "full_ea_eV"]
    # σ away from room temperature, from σ(25 °C) and Ea through Arrhenius, on held-out papers
    at_temperature = metrics.pop("full_log10_sigma_at_temperature/papers")
    # how well the held-out predictions order the members of each doping series, over both fold seeds
    within = {target: metrics.pop(f"within_series_{target}/papers") for target in ("log10_sigma", "ea_eV")}
    assert "within doping series" in result.stdout
    sigma = within["log10_sigma"]
    assert sigma["mlsse"]["series"] >= 3 and set(sigma) >= {"mlsse", "regressor_alone", "li_per_anion",
                                                            "paired_interval", "seed_series"}
    assert sigma["over_seeds"]["seeds"] == [0, 1] and len(sigma["over_seeds"]["mlsse"]["spearman"]) == 2
    assert -1 <= sigma["mlsse"]["spearman"] <= 1 and 0 <= sigma["mlsse"]["pairs_right"] <= 1
    assert 0 < sigma["mlsse"]["chance"] <= 1 / 3 and 0 < sigma["paired_interval"]["coverage"] <= 1
    assert any(name.startswith("Li2+2xZrCl6−xNx") for name in sigma["seed_series"])  # the seed paper held out
    from mlsse.models.evaluation import HELD_OUT

    assert set(metrics) == {f"{r}/{h}" for r in runs for h in HELD_OUT[r]}
    assert {"families"} <= set(HELD_OUT["full_log10_sigma"]) and "families" not in HELD_OUT["full_ea_eV"]
    # Discovery: the top of the ranking of σ, per fold seed, and the OBELiX rows asked with the composition alone
    for key, report in metrics.items():
        if "log10_sigma" not in key:
            assert "discovery" not in report["models"]["mlsse"] and "discovery_over_seeds" not in report
            continue
        fast = report["models"]["mlsse"]["discovery"]["1e-03"]
        assert 0 <= fast["top"]["2%"]["precision"] <= 1 and fast["n_positive"] > 0
        assert len(report["models"]["mlsse"]["discovery"]["decile_mean_error"]) == 10
        assert report["discovery_over_seeds"]["seeds"] == [0, 1]
        assert len(report["discovery_over_seeds"]["mlsse"]["top2pct_precision_1e-3"]) == 2
        assert ("composition_only" in report) == key.startswith("obelix")
    assert "discovery" in result.stdout
    assert at_temperature["n"] > 20 and 0 < at_temperature["coverage_80"] <= 1
    assert sum(band["n"] for band in at_temperature["bands_C"].values()) == at_temperature["n"]
    assert at_temperature["in_domain"]["n"] + at_temperature["out_of_domain"]["n"] == at_temperature["n"]
    assert "σ away from room temperature" in result.stdout and "out of domain: rows, MAE, coverage" in result.stdout
    for report in metrics.values():  # coverage and MAE per domain class; a class without rows has none
        m = report["models"]["mlsse"]
        assert 0 <= m["n_out_of_domain"] <= report["n"] and 0 <= m["coverage_80"] <= 1
        for part, n in (("in_domain", report["n"] - m["n_out_of_domain"]), ("out_of_domain", m["n_out_of_domain"])):
            assert (m[f"coverage_80_{part}"] is None) == (m[f"mae_{part}"] is None) == (n == 0)
        if 0 < m["n_out_of_domain"] < report["n"]:  # the two classes' hits make up the whole coverage
            hits = (m["coverage_80_in_domain"] * (report["n"] - m["n_out_of_domain"])
                    + m["coverage_80_out_of_domain"] * m["n_out_of_domain"])
            assert hits == pytest.approx(m["coverage_80"] * report["n"])
    assert min(m["models"]["mlsse"]["n_out_of_domain"] for m in metrics.values()) > 0
    assert len(list((tmp_path / "ev").glob("parity_*.png"))) == len(metrics)
    for report in metrics.values():
        mae = report["over_seeds"]["mae"]
        assert report["over_seeds"]["seeds"] == [0, 1] and set(mae) == {"mlsse", "median", "rf_elements_lattice"}
        # The report is fold seed 0's; seed 1 redraws the folds and so gives another MAE.
        assert mae["mlsse"][0] == report["models"]["mlsse"]["mae"] != mae["mlsse"][1]
        # Censored and measured rows apart: together they make the whole MAE back.
        n, n_censored, m = report["n"], report["n_censored"], report["models"]["rf_elements_lattice"]
        parts = m["mae_measured"] * (n - n_censored) + (m["mae_censored"] or 0.0) * n_censored
        assert parts == pytest.approx(m["mae"] * n)
    assert "P(<1e-10) ROC AUC" in result.stdout
    for key, report in metrics.items():
        if "log10_sigma" in key:  # how well the held-out P(σ < 1e-10 S/cm) forecast it; censored rows count
            below = report["below_detection"]
            assert below["n"] == report["n"] == sum(b["n"] for b in below["bins"])
            assert below["n_events"] >= report["n_censored"] and 0 <= below["brier"] <= 1
        else:
            assert "below_detection" not in report
    assert metrics["full_ea_eV/papers"]["n_censored"] == 0  # an Ea label is never censored
    assert metrics["full_log10_sigma/papers"]["n_censored"] > 0
    assert "censored rows" in result.stdout
    # The slice still holds materials that several papers measured.
    for name in ("full_log10_sigma/papers", "full_ea_eV/papers"):
        repeats = metrics[name]["repeat_measurements"]
        assert repeats["n"] > 0 and 0 <= repeats["n_same_value"] <= repeats["n"]
        assert np.isfinite(repeats["mae_other_papers"]) and np.isfinite(repeats["mae_mlsse"])
