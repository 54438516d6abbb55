"""Retraining on lab data: every bad input refused with its message and nothing written; a good batch
appended with a new model version; rollback; a killed retrain changes nothing; a second retrain is refused."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlsse.data.lab import ValidationError, validate_lab_file
from mlsse.workspace.store import BusyError, read_state, store_lock

QUICK = {"n_estimators": 40}
GOOD = "composition,sigma_S_cm,temperature_C,ea_eV,reference\n" \
       "Li2.3ZrCl5.85N0.15,1.6e-3,25,0.25,lab notebook 7\n" \
       "Li2.2ZrCl5.9N0.1,1.2e-3,25,,lab notebook 7\n" \
       "Li3.1Y0.9Zr0.1Cl6,9.0e-4,30,0.31,lab notebook 8\n"


@pytest.fixture
def shipped(small_model, public_slice, tmp_path, monkeypatch):
    """Make the small model play the shipped read-only base model, and its slice of the public data the public
    data (retrains here, and in the subprocess a test starts, read it through ``MLSSE_EXTERNAL_DIR``)."""
    import mlsse.workspace.registry as registry

    base = tmp_path / "shipped"
    shutil.copytree(small_model, base / "default")
    monkeypatch.setattr(registry, "SHIPPED_MODELS_DIR", base)
    monkeypatch.setenv("MLSSE_EXTERNAL_DIR", str(public_slice))
    return base


def snapshot(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()
            and "cache" not in p.parts}


def write(tmp_path, text, name="lab.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("text, expected", [
    ("formula,sigma_S_cm\nLi3N,1e-3\n", "line 1, column ... missing column 'composition'"),
    ("composition,temperature_C\nLi3N,25\n", "line 1: missing column 'sigma_S_cm' or 'log10_sigma'"),
    ("composition,sigma_S_cm\nLi3Qq,1e-3\n", "line 2, column 'composition': unknown element 'Qq' in 'Li3Qq'"),
    ("composition,sigma_S_cm\nLi3N(,1e-3\n", "line 2, column 'composition': cannot parse formula 'Li3N('"),
    ("composition,sigma_S_cm\nNaCl,1e-3\n", "line 2, column 'composition': 'NaCl' contains no Li"),
    ("composition,sigma_S_cm\nLi3N,-1e-3\n", "line 2, column 'sigma_S_cm': conductivity -0.001 S/cm outside 0 < σ ≤ 1 S/cm"),
    ("composition,sigma_S_cm\nLi3N,5\n", "line 2, column 'sigma_S_cm': conductivity 5 S/cm outside 0 < σ ≤ 1 S/cm"),
    ("composition,sigma_S_cm,ea_eV\nLi3N,1e-3,3.1\n", "line 2, column 'ea_eV': Ea 3.1 eV outside 0–2.5 eV"),
    ("composition,sigma_S_cm\nLi3N,high\n", "line 2, column 'sigma_S_cm': 'high' is not a number"),
    ("composition,sigma_S_cm,temperature_C\nLi3N,1e-3,298\nLi3P,1e-4,300\n",
     "line 1, column 'temperature_C': every temperature is above 200 °C (e.g. 298): this looks like kelvin"),
    ("composition,sigma_S_cm\nLi3N,1e-3\nLi3N,1e-3\n", "line 3: duplicate of line 2"),
    ("composition,sigma_S_cm,temperature_C\nLi3N,1e-3,25\nLi3N,2e-3,298.15\n",
     "line 3, column 'temperature_C': temperature 298.15 °C is kelvin (298.15 K = 25 °C): give °C"),
    ("composition,sigma_S_cm,temperature_K\nLi3N,1e-3,298\n",
     "line 1: column 'temperature_K' is not read: name it 'temperature_C', in °C"),
    ("composition,sigma_S_cm,Ea_eV\nLi3N,1e-3,0.3\n", "line 1: column 'Ea_eV' is not read: name it 'ea_eV'"),
    ("composition,sigma_S_cm\n", "line 2: no data rows"),
    ("composition,sigma_S_cm,temperature_C\nLi3N,1e-3,-500\n",
     "line 2, column 'temperature_C': temperature -500 °C outside -273.15–600 °C"),
    ("composition,sigma_S_cm,log10_sigma\nLi3N,1e-3,-6\n",
     "line 2, column 'log10_sigma': sigma_S_cm 0.001 and log10_sigma -6 disagree; give one"),
    ("composition,sigma_S_cm,cif\nLi3N,1e-3,missing.cif\n", "missing.cif': file not found"),
    ("composition,sigma_S_cm,additive,additive_wt_pct\nLi3N,1e-3,BaTiO3,150\n",
     "line 2, column 'additive_wt_pct': additive wt% 150 outside [0, 100)"),
    ("composition,sigma_S_cm,additive,additive_wt_pct\nLi3N,1e-3,Xx2O,5\n",
     "line 2, column 'additive': additive: unknown element 'Xx' in 'Xx2O'"),
    ("composition,sigma_S_cm,T\nLi3N,1e-3,80\n", "line 1: column 'T' is not read: name it 'temperature_C', in °C"),
    ("composition,sigma_S_cm,Ea (eV)\nLi3N,1e-3,0.3\n", "line 1: column 'Ea (eV)' is not read: name it 'ea_eV'"),
    ("composition,sigma_S_cm,additive\nLi3N,1e-3,BaTiO3\n",
     "line 2, column 'additive': an additive needs its wt%, and a wt% needs its additive"),
    ("composition,sigma_S_cm,space_group_number\nLi3N,1e-3,231\n",
     "line 2, column 'space_group_number': space-group number 231 is not an integer from 1 to 230"),
    ("composition,sigma_S_cm,a,gamma\nLi3N,1e-3,3.6,190\n", "line 2, column 'gamma': gamma = 190° is outside 0–180°"),
    ("composition,sigma_S_cm\nLi3N,1e-3,5\n", "line 2: the row has a value beyond the header's 2 columns"),
    ("composition,sigma_S_cm,composition\nLi3N,1e-3,Li3P\n", "line 1: column(s) 'composition' appear more than once"),
    ("composition,sigma_S_cm,ea_eV\nLi3N,nan,0.3\n",
     "line 2, column 'sigma_S_cm': 'nan' is not a number: leave the cell empty if it was not measured"),
    ("composition,sigma_S_cm,temperature_C\nLi3N,1e-3,NaN\n",
     "line 2, column 'temperature_C': 'nan' is not a number: leave the cell empty if it was not measured"),
    ("composition,sigma_S_cm\nLi3N,inf\n", "line 2, column 'sigma_S_cm': 'inf' is not a finite number"),
    ("composition,sigma_S_cm,temperature_C\nLi3N,1e-3,25\nLi3P,1e-4,1000\n",
     "line 3, column 'temperature_C': temperature 1000 °C outside -273.15–600 °C"),
    ("composition,sigma_S_cm\nLiCl.2H2O,1e-3\n",
     "line 2, column 'composition': a '.' in 'LiCl.2H2O' that is no decimal point: write decimals with a digit "
     "before the point (Li0.5) and a hydrate with a middle dot (LiCl·2H2O)"),
    ("composition,log10_sigma\nLi3N,-3\n", None),
    ("composition,log10_sigma,temperature_C,ea_eV\nLi3N,-3,NA,n/a\n", None),  # NA-like cells are empty
    ("composition,sigma_S_cm,log10_sigma\nLi3N,1e-3,-3.02\n", None),  # rounding is not a disagreement
])
def test_bad_input_matrix(tmp_path, text, expected):
    path = write(tmp_path, text)
    if expected is None:
        batch = validate_lab_file(path)
        assert batch.rows.loc[0, "sigma_S_cm"] == pytest.approx(1e-3)
        assert batch.rows.loc[0, "temperature_C"] == 25.0 and np.isnan(batch.rows.loc[0, "ea_eV"])
        return
    with pytest.raises(ValidationError) as info:
        validate_lab_file(path)
    messages = [str(p) for p in info.value.problems]
    needle = expected.replace("line 1, column ... ", "line 1: ")
    assert any(needle in m for m in messages), messages
    assert all(m.startswith(str(path)) for m in messages)


def test_a_lab_file_keeps_its_additive_stores_cifs_absolute_and_names_unread_columns(tmp_path, monkeypatch):
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.cif import CifWriter

    (tmp_path / "lab").mkdir()
    CifWriter(Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.13), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
              ).write_file(tmp_path / "lab" / "LiCl.cif")
    path = write(tmp_path / "lab", "composition,sigma_S_cm,cif,additive,additive_wt_pct,sample_id\n"
                                  "LiCl,1e-7,LiCl.cif,BaTiO3,5,s-17\n")
    monkeypatch.chdir(tmp_path)  # the CIF is found beside the lab file, not in the working directory
    batch = validate_lab_file(path)
    row = batch.rows.iloc[0]
    assert row["cif"] == str((tmp_path / "lab" / "LiCl.cif").resolve())
    assert (row["additive"], row["additive_wt_pct"]) == ("BaTiO3", 5.0)
    assert batch.warnings == ["column(s) 'sample_id' not read"]
    (tmp_path / "lab" / "bad.cif").write_text("data_nothing\n")
    with pytest.raises(ValidationError, match=r"line 2, column 'cif': cif 'bad.cif': not a readable CIF \("):
        validate_lab_file(write(tmp_path / "lab", "composition,sigma_S_cm,cif\nLiCl,1e-7,bad.cif\n", "b.csv"))


def test_a_formula_that_cannot_be_charge_balanced_is_refused_unless_marked_as_meant(shipped, tmp_path,
                                                                                      isolated_home):
    from mlsse.workspace.retraining import retrain

    typo = write(tmp_path, "composition,sigma_S_cm\nLi3YCl6,1e-4\nLi3YCl,1e-3\n", "typo.csv")
    before = snapshot(isolated_home)
    with pytest.raises(ValidationError) as info:
        retrain(typo, base_params=QUICK)
    assert [str(p) for p in info.value.problems] == [
        f"{typo}, line 3, column 'composition': 'Li3YCl' is not charge balanced (with the oxidation states known "
        "for its elements, Li +1, Y +3, Cl -1, its net charge is at least 1 e per atom): a typo? If it is meant, "
        "put yes in an allow_unbalanced column or pass --allow-unbalanced"]
    assert snapshot(isolated_home) == before
    # a nominal composition as papers print it passes; the mark or the flag lets a meant formula through
    assert len(validate_lab_file(write(tmp_path, "composition,sigma_S_cm\nLi0.33La0.5TiO3,1e-5\n", "n.csv")).rows)
    marked = validate_lab_file(write(tmp_path, "composition,sigma_S_cm,allow_unbalanced\nLi3YCl6,1e-4,\n"
                                               "Li3YCl,1e-3,yes\n", "marked.csv"))
    assert "charge balance not checked (allow_unbalanced)" in marked.rows.loc[1, "note"]
    assert len(validate_lab_file(typo, allow_unbalanced=True).rows) == 2


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(tmp_path, "composition,sigma_S_cm,ea_eV\nLi3Qq,1e-3,0.3\nLi3N,-1,0.3\nLi3P,1e-4,9\n")
    with pytest.raises(ValidationError) as info:
        validate_lab_file(path)
    assert [p.line for p in info.value.problems] == [2, 3, 4]
    assert str(info.value).splitlines()[0] == f"{path}: 3 problem(s); nothing was written"


def test_wrong_encoding_is_refused(tmp_path):
    path = write(tmp_path, "composition,sigma_S_cm,note\nLi3N,1e-3,synthèse à 500 °C\n", encoding="latin-1")
    with pytest.raises(ValidationError, match="not UTF-8"):
        validate_lab_file(path)


def test_exact_duplicate_of_existing_data_is_refused(tmp_path):
    existing = pd.DataFrame({"composition": ["Li3N1"], "sigma_S_cm": [1e-3], "ea_eV": [float("nan")],
                             "temperature_C": [25.0]})
    path = write(tmp_path, "composition,sigma_S_cm\nLi6N2,1e-3\n")
    with pytest.raises(ValidationError, match="exact duplicate of a row already in the data"):
        validate_lab_file(path, existing=existing)


def test_refused_batch_leaves_the_store_byte_identical(shipped, tmp_path, isolated_home):
    from mlsse.workspace.retraining import retrain

    retrain(write(tmp_path, GOOD), name="first", base_params=QUICK)
    before = snapshot(isolated_home)
    with pytest.raises(ValidationError):
        retrain(write(tmp_path, "composition,sigma_S_cm\nLi3N,-1\n", "bad.csv"), base_params=QUICK)
    assert snapshot(isolated_home) == before


def test_good_batch_adds_a_version_and_rollback_restores_predictions(shipped, tmp_path, isolated_home):
    from mlsse.api import predict
    from mlsse.workspace.registry import (
        active_model_name,
        list_models,
        rollback_model,
        use_model,
    )
    from mlsse.workspace.retraining import retrain

    queries = ["Li2.3ZrCl5.85N0.15", "Li3YCl6", "Li6PS5Cl"]
    before = predict(queries)
    report = retrain(write(tmp_path, GOOD), name="lab-1", base_params=QUICK)
    assert report.rows_added == 3 and active_model_name() == "lab-1"
    # the new model starts from the active model's hyper-parameters (here with QUICK's fewer trees on top)
    from mlsse.models.tuning import DEFAULT_PARAMS

    old_params = json.loads((shipped / "default" / "metadata.json").read_text())["params"]
    new_params = json.loads((isolated_home / "models" / "lab-1" / "metadata.json").read_text())["params"]
    for target in ("log10_sigma", "ea_eV"):
        assert {k: new_params[target][k] for k in DEFAULT_PARAMS} == {**{k: old_params[target][k] for k in
                                                                          DEFAULT_PARAMS}, **QUICK}
    # how far the public compositions' predictions moved is measured and reported
    for target in ("log10_sigma", "ea_eV"):
        shift = report.public_shift[target]
        assert shift["n"] > 100 and 0 <= shift["median_abs"] <= shift["max_abs"] and shift["max_composition"]
    # each new row is compared at its measured temperature (the third is at 30 °C)
    from mlsse.api import predict as predict_with

    rows = report.new_row_predictions
    assert rows["temperature_C"].tolist() == [25.0, 25.0, 30.0]
    at_30 = predict_with(pd.DataFrame({"composition": ["Li3.1Y0.9Zr0.1Cl6"], "temperature_C": [30]}),
                         model=shipped / "default")
    assert rows.loc[2, "before_log10_sigma"] == pytest.approx(at_30.loc[0, "log10_sigma"])
    state = read_state()
    assert state["batches"][0]["sha256"] == __import__("hashlib").sha256(GOOD.encode()).hexdigest()
    batch = pd.read_csv(isolated_home / "store" / "batches" / state["batches"][0]["file"])
    assert (batch["source"] == "user").all() and batch["source_file"].eq("lab.csv").all()
    assert batch["batch"].eq(state["batches"][0]["id"]).all()  # a column of its own, not text in the note
    assert not batch["note"].str.contains("batch").any()
    assert set(report.comparison) == {"log10_sigma", "ea_eV"}
    assert set(report.comparison["log10_sigma"]) == {"old", "new"}
    assert report.new_row_predictions["before_log10_sigma"].notna().all()
    assert [m["name"] for m in list_models()] == ["default", "lab-1"]
    after = predict(queries)
    assert not after["log10_sigma"].equals(before["log10_sigma"])
    assert rollback_model() == "default"
    pd.testing.assert_frame_equal(predict(queries), before)
    use_model("lab-1")
    pd.testing.assert_frame_equal(predict(queries), after)
    # earlier data is kept: a second batch keeps the first one
    retrain(write(tmp_path, "composition,sigma_S_cm\nLi3InCl6,1.2e-3\n", "lab2.csv"), name="lab-2", base_params=QUICK)
    assert [b["source_file"] for b in read_state()["batches"]] == ["lab.csv", "lab2.csv"]
    _stored_files_are_checked_before_they_are_trusted(tmp_path, isolated_home, queries)


def _stored_files_are_checked_before_they_are_trusted(tmp_path, home, queries):
    """What is stored is checked on use: a damaged inactive version, an edited batch, an edited model."""
    from mlsse.api import predict
    from mlsse.errors import MlsseError, ModelError
    from mlsse.workspace.registry import use_model
    from mlsse.workspace.retraining import retrain
    from tests.test_cli import run

    # A damaged version that is not active neither stops predictions nor lists as fine.
    with open(home / "models" / "lab-1" / "sigma-0.ubj.gz", "r+b") as booster:
        booster.truncate(1000)
    active = predict(queries)
    listed = run(["models", "list"], tmp_path, home).stdout
    row = next(line for line in listed.splitlines() if "lab-1" in line)
    assert "DAMAGED: sigma-0.ubj.gz cannot be read" in row, listed
    with pytest.raises(ModelError, match=r"model version 'lab-1' is damaged: sigma-0.ubj.gz cannot be read"):
        use_model("lab-1")
    assert read_state()["active"] == "lab-2"
    # An edited batch (1.6e-3 -> 1.6e-1) is refused, naming the file; nothing trains on it, the store stays.
    state = read_state()
    batch = home / "store" / "batches" / state["batches"][0]["file"]
    text = batch.read_text(encoding="utf-8")
    edited = re.sub(r",(0\.0016|1\.6e-0?3),", ",0.16,", text, count=1)
    assert edited != text, text[:300]
    batch.write_text(edited, encoding="utf-8")
    state_file = home / "state.json"
    state_bytes = state_file.read_bytes()
    with pytest.raises(MlsseError, match=rf"batch {state['batches'][0]['id']}: .* was changed after it was "
                                         r"committed"):
        retrain(write(tmp_path, "composition,sigma_S_cm\nLi3ScCl6,3e-3\n", "lab3.csv"), name="lab-3",
                base_params=QUICK)
    assert state_file.read_bytes() == state_bytes
    assert not (home / "models" / "lab-3").exists()
    # An edited model is refused by name; the shipped one still predicts.
    metadata = home / "models" / "lab-2" / "metadata.json"
    metadata.write_text(metadata.read_text(encoding="utf-8") + " ", encoding="utf-8")
    from mlsse.workspace import registry

    registry._load.cache_clear()
    with pytest.raises(ModelError, match=r"model version 'lab-2': .*metadata.json was changed after"):
        predict(queries)
    use_model("default")
    assert predict(queries)["log10_sigma"].notna().all() and len(active) == len(queries)


def test_unsafe_version_names_unknown_files_and_a_damaged_state_are_refused(shipped, tmp_path, isolated_home):
    from mlsse.errors import DataError, ModelError
    from mlsse.workspace.registry import use_model
    from mlsse.workspace.retraining import retrain

    # a version name is a directory under $MLSSE_HOME/models, which a retrain replaces: never a path
    for name in ("..", "../x", "/tmp/x", ".hidden", "default", "a/b"):
        with pytest.raises(ModelError, match="is not allowed"):
            retrain(write(tmp_path, GOOD), name=name, base_params=QUICK)
    with pytest.raises(ValidationError, match="missing.csv: file not found"):
        retrain(tmp_path / "missing.csv", base_params=QUICK)
    assert not (isolated_home / "models").exists()
    # a directory under models/ that is no version (e.g. from mlsse train --out) is kept, not replaced
    (isolated_home / "models" / "mine").mkdir(parents=True)
    (isolated_home / "models" / "mine" / "metadata.json").write_text("{}")
    from mlsse.errors import MlsseError

    with pytest.raises(MlsseError, match="models/mine exists but is no model version; choose another --name"):
        retrain(write(tmp_path, GOOD), name="mine", base_params=QUICK)
    assert [p.name for p in (isolated_home / "models" / "mine").iterdir()] == ["metadata.json"]
    assert read_state()["batches"] == []
    shutil.rmtree(isolated_home / "models")
    (isolated_home / "state.json").write_text(json.dumps(
        {"batches": [], "models": [{"name": "gone", "dir": "gone"}], "active": None, "history": []}))
    with pytest.raises(ModelError, match="model version 'gone' has no files"):
        use_model("gone")
    (isolated_home / "state.json").write_text("{bad")
    with pytest.raises(DataError, match=r"state.json: damaged \(Expecting"):
        use_model("default")


def test_the_state_changes_only_through_the_store_functions_and_only_when_written(tmp_path, isolated_home):
    from mlsse.errors import MlsseError, ModelError
    from mlsse.io import file_sha256
    from mlsse.workspace.store import activate, register_batch, register_model, roll_back, write_state

    state = read_state()
    batch = write(tmp_path, "composition\nLi3N\n", "0001-abc.csv")
    entry = register_batch(state, batch, batch_id="0001-abc", source_file="lab.csv", sha256="f" * 64,
                           date="2026-01-02", rows=1)
    assert entry == {"id": "0001-abc", "file": "0001-abc.csv", "source_file": "lab.csv", "sha256": "f" * 64,
                     "file_sha256": file_sha256(batch), "date": "2026-01-02", "rows": 1}
    with pytest.raises(MlsseError, match="batch 0001-abc exists already"):
        register_batch(state, batch, batch_id="0001-abc", source_file="lab.csv", sha256="f" * 64, date="", rows=1)
    version = tmp_path / "v1"
    (version / "sub").mkdir(parents=True)
    (version / "metadata.json").write_text("{}")
    entry = register_model(state, version, name="v1", created="2026-01-02", batches=["0001-abc"],
                           metrics={"log10_sigma": {"mae": 1.0}})
    assert entry == {"name": "v1", "dir": "v1", "created": "2026-01-02", "batches": ["0001-abc"],
                     "metrics": {"log10_sigma": {"mae": 1.0}},
                     "files_sha256": {"metadata.json": file_sha256(version / "metadata.json")}}
    for taken in ("v1", "default"):
        with pytest.raises(MlsseError, match=f"model version '{taken}' exists already"):
            register_model(state, version, name=taken, created="", batches=[], metrics={})
    assert activate(state, "v1") == "default" and (state["active"], state["history"]) == ("v1", ["default"])
    assert activate(state, "v1") == "v1" and state["history"] == ["default"]  # already active: no history entry
    assert read_state() == {"batches": [], "models": [], "active": None, "history": []}  # nothing until written
    write_state(state)
    assert read_state() == state and [b["id"] for b in state["batches"]] == ["0001-abc"]
    assert roll_back(state) == "default" and (state["active"], state["history"]) == ("default", [])
    with pytest.raises(ModelError, match="nothing to roll back to"):
        roll_back(state)


def test_a_batch_merged_into_the_cached_table_and_features_equals_a_rebuild(public_slice, tmp_path, isolated_home):
    from mlsse.data.build import build_curated, load_curated, merge_curated, table_sha256
    from mlsse.models.recipe import feature_matrix, target_rows
    from mlsse.models.targets import ea_training_rows, sigma_training_rows
    from mlsse.workspace.training import training_table

    fresh = load_curated(external_dir=public_slice)  # built from the sources and cached
    cached = load_curated(external_dir=public_slice)  # read back from the cache
    pd.testing.assert_frame_equal(cached, fresh)
    first = validate_lab_file(write(tmp_path, GOOD), existing=cached).rows.assign(batch="0001-abc")
    # a committed batch comes back from its file as text; with the batch being added, both kinds are merged
    committed = pd.read_csv(write(tmp_path, first.to_csv(index=False), "committed.csv"), dtype=str,
                            keep_default_na=False).assign(censored=lambda f: f["censored"].eq("True"))
    # named to sort before the first batch's lab.csv, so the merge has to put it in its place
    second = validate_lab_file(write(tmp_path, "composition,sigma_S_cm,temperature_C,ea_eV,additive,additive_wt_pct\n"
                                               "Li6PS5Cl,2.1e-3,25,0.28,,\nLi6PS5Cl,6.0e-3,60,,,\n"
                                               "Li3InCl6,1.4e-3,25,0.33,LiCl,5\n", "early.csv"),
                               existing=cached).rows.assign(batch="0002-def")
    extra = pd.concat([committed, second], ignore_index=True)
    merged, order = merge_curated(cached, extra)
    rebuilt = build_curated(external_dir=public_slice, extra=extra).table
    pd.testing.assert_frame_equal(merged, rebuilt)
    assert table_sha256(merged) == table_sha256(rebuilt)
    assert merged["source"].eq("user").sum() == len(extra) and not np.array_equal(order, np.arange(len(order)))
    pd.testing.assert_frame_equal(training_table([], extra=extra, external_dir=public_slice), rebuilt)
    # the features: the table's rows in merged order are its features in that order, and each target's rows take
    # from the merged table's features exactly what featurizing them apart (as training did) gives
    features = feature_matrix(merged)
    pd.testing.assert_frame_equal(
        pd.concat([feature_matrix(cached), feature_matrix(extra)], ignore_index=True).iloc[order]
        .reset_index(drop=True), features)
    parts = target_rows(merged, features)
    for target, rows_of in (("log10_sigma", sigma_training_rows), ("ea_eV", ea_training_rows)):
        pd.testing.assert_frame_equal(parts[target].rows, rows_of(rebuilt))
        pd.testing.assert_frame_equal(parts[target].features, feature_matrix(rows_of(rebuilt)))
    # a lab row with a public row's composition and DOI is a duplicate candidate: only a rebuild de-duplicates it
    public = cached[cached["reference"].str.startswith("10.") & cached["sigma_S_cm"].gt(0)].iloc[0]
    twin = write(tmp_path, "composition,sigma_S_cm,temperature_C,reference\n"
                           f"{public['composition']},{public['sigma_S_cm'] * 1.5:g},{public['temperature_C']:g},"
                           f"{public['reference']}\n", "twin.csv")
    twin_rows = validate_lab_file(twin).rows.assign(batch="0003-aaa")
    assert merge_curated(cached, twin_rows) is None
    pd.testing.assert_frame_equal(training_table([], extra=twin_rows, external_dir=public_slice),
                                  build_curated(external_dir=public_slice, extra=twin_rows).table)


def test_a_second_retrain_at_once_is_refused(isolated_home):
    with store_lock():
        with pytest.raises(BusyError, match="another mlsse retrain is running"):
            with store_lock():
                pass


def test_killed_retrain_leaves_data_and_model_as_they_were(shipped, tmp_path, isolated_home):
    from mlsse.api import predict

    before_predictions = predict(["Li2.3ZrCl5.85N0.15"])
    before = snapshot(isolated_home)
    lab = write(tmp_path, GOOD)
    code = ("import mlsse.workspace.registry as r, pathlib; r.SHIPPED_MODELS_DIR = pathlib.Path(%r); "
            "from mlsse.workspace.retraining import retrain; retrain(%r, name='killed', base_params={'n_estimators': 40})"
            % (str(shipped), str(lab)))
    process = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "MLSSE_HOME": str(isolated_home)})
    # wait until the retrain has started writing (its staging directory exists), then kill it hard
    deadline = time.time() + 120
    while not (isolated_home / "staging").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    after = {k: v for k, v in snapshot(isolated_home).items() if not k.startswith(("staging", "store", "models"))
             and not k.endswith(".lock")}
    assert after == {k: v for k, v in before.items() if not k.endswith(".lock")}
    assert read_state()["batches"] == [] and read_state()["active"] is None
    pd.testing.assert_frame_equal(predict(["Li2.3ZrCl5.85N0.15"]), before_predictions)
