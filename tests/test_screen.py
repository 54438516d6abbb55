"""Streamed prediction and doping screens: equal to the in-memory path, the same file on any engine, scores and
picks."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from tests.test_cli import run

HOSTS = {"Li3YCl6": {"Y": ["Sc", "In", "Zr"], "Cl": ["Br"]}, "Li6PS5Cl": {"P": ["Ge", "Si"], "S": ["Se"]}}


def varied_query(tmp_path):
    """A few hundred query rows of every kind: good, refused with a note, temperatures, structure, additives."""
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.cif import CifWriter

    CifWriter(Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.13), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
              ).write_file(tmp_path / "LiCl.cif")
    rng = np.random.default_rng(3)
    formulas = ["Li3N", "LiQq", "Li6PS5Cl", "Li2.3ZrCl5.85N0.15", "Li7La3Zr2O12", "NaCl", "Li3YCl6", "", "Li2O-",
                "Li2PuCl6", "LiCl", "Li3PS4", "Li10GeP2S12", "Li2.5Y0.5Zr0.5Cl6"]
    rows = []
    for i in range(240):
        rows.append({"composition": formulas[i % len(formulas)] if i % 3 else
                     f"Li{rng.uniform(2, 3):.3f}Y{rng.uniform(0.5, 1):.3f}Cl6",
                     "temperature_C": ["", "25", "60", "warm", "298.15", "300", "800", "-20"][i % 8],
                     "space_group_number": ["", "", "216", "F-43m", "225"][i % 5],
                     "a": ["", "9.8", "", "-1"][i % 4],
                     "cif": "LiCl.cif" if i % 17 == 0 else ("missing.cif" if i % 19 == 0 else ""),
                     "additive": ["", "", "BaTiO3", "Xx"][i % 4], "additive_wt_pct": ["", "5", "150", "2.5"][i % 4],
                     "id": i, "note": "kept"})
    path = tmp_path / "query.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_streamed_predict_equals_the_in_memory_prediction(small_model, tmp_path):
    from mlsse.api import predict
    from mlsse.io import read_table, write_csv_atomic

    query = varied_query(tmp_path)
    from mlsse.errors import MlsseWarning

    with pytest.warns(MlsseWarning, match="σ predicted at 300 °C"):
        expected = predict(read_table(query, required=["composition"]), model=small_model, cif_dir=tmp_path)
    write_csv_atomic(expected, tmp_path / "expected.csv")
    result = run(["predict", "--input", query, "--output", "streamed.csv", "--chunk-rows", "7", "--no-cache",
                  "--model", small_model], tmp_path, tmp_path)
    assert (tmp_path / "streamed.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()
    assert expected["log10_sigma"].notna().any() and expected["log10_sigma"].isna().any()
    predicted = int(expected["log10_sigma"].notna().sum())
    assert f"predicted {predicted} of 240 rows" in result.stdout
    # the kelvin-like warning names rows of the whole table, not of a chunk
    assert "σ predicted at 300 °C (query row(s) 6, 22, 38, 46, 62 …)" in result.stderr  # as in memory
    # Parquet holds the same values; the temperature is a number there
    run(["predict", "--input", query, "--output", "streamed.parquet", "--chunk-rows", "50", "--model", small_model],
        tmp_path, tmp_path)
    parquet = pd.read_parquet(tmp_path / "streamed.parquet")
    again = pd.read_csv(tmp_path / "expected.csv", keep_default_na=False, dtype=str)
    assert list(parquet.columns) == list(again.columns)
    np.testing.assert_array_equal(parquet["log10_sigma"].to_numpy(), expected["log10_sigma"].to_numpy(dtype=float))
    assert parquet["note"].tolist() == expected["note"].tolist()
    assert parquet["temperature_C"].tolist()[:3] == [25.0, 25.0, 60.0]
    # a query problem in a later chunk: one error line, and no output file
    pd.DataFrame({"composition": ["Li3N"] * 30, "temperature_C": [""] * 29 + ["60"]}).to_csv(tmp_path / "late.csv",
                                                                                      index=False)
    failed = run(["predict", "--input", "late.csv", "--output", "late-out.csv", "--temperature-c", "80",
                  "--chunk-rows", "10", "--model", small_model], tmp_path, tmp_path, check_code=2)
    assert failed.stderr.startswith("error: the temperature is given twice")
    assert not (tmp_path / "late-out.csv").exists()


def test_feature_cache_keeps_only_its_newest_rows(tmp_path):
    from mlsse.features.cache import FeatureCache

    cache = FeatureCache(tmp_path, max_rows=3)
    for i in range(5):
        cache.add({f"k{i}": np.full(2, float(i))}, ["a", "b"])
    assert sorted(cache.lookup([f"k{i}" for i in range(5)], ["a", "b"])) == ["k2", "k3", "k4"]
    cache.add({"k2": np.zeros(2)}, ["a", "b"])  # written again: now the newest
    cache.add({"k5": np.zeros(2)}, ["a", "b"])
    assert sorted(cache.lookup([f"k{i}" for i in range(6)], ["a", "b"])) == ["k2", "k4", "k5"]


def test_screen_scores_and_picks_diverse_candidates_with_reasons(small_model, tmp_path):
    from mlsse.doping.screening import screen
    from mlsse.doping.space import build_spec

    spec = build_spec({**HOSTS, "Li2ZrCl6": {"Zr": ["Y", "Cl"]}}, "0.05:0.5:0.05", ["li", "vacancy"])
    assert any("Cl on Zr" in reason for reason in spec.refused)  # an anion of the host on a cation site
    summary = screen(spec, tmp_path / "s.parquet", small_model, top=5, chunk_rows=37, workers=1)
    table = pd.read_parquet(tmp_path / "s.parquet")
    assert len(table) == summary.written <= spec.n_candidates
    assert summary.predicted == table["log10_sigma"].notna().sum()
    assert table.columns.tolist()[:7] == ["host", "site", "dopant", "dopant_species", "level", "compensation",
                                         "composition"]
    assert table.columns.tolist()[-3:] == ["ucb_log10_sigma", "p_beats_host", "pareto"]
    assert "Li2.5Y0.5Zr0.5Cl6" in set(table["composition"])  # the charge balance dope gives
    assert table["p_beats_host"].between(0, 1).all() and (table["ucb_log10_sigma"] > table["log10_sigma"]).all()
    # the Pareto flags: no flagged row is beaten on both σ and Ea by any row
    front = table[table["pareto"]]
    assert len(front) >= 1
    for _, row in front.iterrows():
        assert not ((table["log10_sigma"] >= row["log10_sigma"]) & (table["ea_eV"] <= row["ea_eV"])
                    & ((table["log10_sigma"] > row["log10_sigma"]) | (table["ea_eV"] < row["ea_eV"]))).any()
    top = summary.top
    assert top["pick"].tolist() == [1, 2, 3, 4, 5]
    pairs = list(zip(top["host"], top["dopant"]))
    assert len(set(pairs)) == 5 and set(top["host"]) == {"Li3YCl6", "Li6PS5Cl", "Li2ZrCl6"}
    # the first pick is the best in-domain candidate by the upper confidence bound; no out-of-domain pick
    assert top["in_domain"].all()
    assert top["ucb_log10_sigma"].iloc[0] == table.loc[table["in_domain"].fillna(False).astype(bool),
                                                       "ucb_log10_sigma"].max()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary survives
    assert (top["reasons_up"].ne("") | top["reasons_down"].ne("")).all()
    assert top["reasons_up"].str.contains(r"[+]\d\.\d\d").any()


def test_screen_gives_the_same_file_on_a_dask_cluster_and_locally(small_model, tmp_path):
    from distributed import Client, LocalCluster

    from mlsse.doping.screening import screen
    from mlsse.doping.space import build_spec

    spec = build_spec(HOSTS, "0.002:0.5:0.002", ["li"])
    assert spec.n_candidates > 1500
    local = screen(spec, tmp_path / "local.parquet", small_model, chunk_rows=400, workers=1)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        remote = screen(spec, tmp_path / "dask.parquet", small_model, chunk_rows=400, scheduler=client)
    assert (tmp_path / "local.parquet").read_bytes() == (tmp_path / "dask.parquet").read_bytes()
    assert local.written == remote.written == spec.n_candidates


def test_acquisition_scores():
    from mlsse.doping.acquisition import acquisition_scores, pareto_front
    from mlsse.doping.scanning import probability_beats_host

    # from the predicted change versus the host and its paired interval
    assert probability_beats_host(0.0, 1.0) == pytest.approx(0.5)
    assert probability_beats_host(1.0, 0.5) > 0.9 > 0.1 > probability_beats_host(-1.0, 0.5)
    assert probability_beats_host(0.5, 1.2815515655446004) == pytest.approx(0.6914624612740131)  # Φ(0.5)
    ucb, p = acquisition_scores([-3.0], [1.2815515655446004], [0.0], [1.0], kappa=2.0)
    assert ucb[0] == pytest.approx(-1.0) and p[0] == pytest.approx(0.5)
    # an out-of-domain interval's top is capped at a σ no Li conductor exceeds (1 S/cm)
    assert acquisition_scores([-2.0], [3.1], [0.0], [1.0], kappa=2.0)[0][0] == 0.0
    sigma, ea = [-3, -2, -2, -4, -1, np.nan], [0.3, 0.4, 0.5, 0.2, 0.6, 0.1]
    assert pareto_front(sigma, ea).tolist() == [True, True, False, True, True, False]


def test_screen_command_from_a_spec_file(small_model, tmp_path):
    (tmp_path / "space.toml").write_text('levels = "0.1:0.3:0.1"\ncompensation = ["li", "vacancy"]\n'
                                         '[[hosts]]\nformula = "Li2ZrCl6"\nsites = { Zr = ["Y", "In"], Cl = "N" }\n',
                                         encoding="utf-8")
    result = run(["screen", "--spec", "space.toml", "--output", "out.parquet", "--top", "3", "--workers", "1",
                  "--model", small_model], tmp_path, tmp_path)
    assert "screened 18 candidates" in result.stdout and "top 3 -> out-top.csv" in result.stdout
    top = pd.read_csv(tmp_path / "out-top.csv")
    assert top["pick"].tolist() == [1, 2, 3] and len(set(top["dopant"])) == 3
    assert {"reasons_up", "reasons_down", "p_beats_host", "pareto"} <= set(top.columns)
    refused = run(["screen", "Li2ZrCl6", "--sites", "Zr", "--dopants", "Y", "--output", "out.csv", "--model",
                   small_model], tmp_path, tmp_path, check_code=2)
    assert refused.stderr.strip() == "error: --output out.csv: give a .parquet file"
    refused = run(["screen", "--spec", "missing.toml", "--model", small_model], tmp_path, tmp_path, check_code=2)
    assert refused.stderr.strip() == "error: missing.toml: file not found"


def test_a_candidate_the_featurizer_refuses_gets_no_scores(small_model, monkeypatch):
    from mlsse.doping import screening
    from mlsse.doping.acquisition import host_predictions
    from mlsse.doping.space import build_spec, chunk_candidates
    from mlsse.workspace.registry import load_predictor

    spec = build_spec({"Li3InCl6": {"In": ["Y"]}}, "0.1:0.2:0.1")
    good = chunk_candidates(spec, 0, 10)
    bad = good.iloc[:1].assign(composition="Li3Qq0.2In0.8Cl6")  # what a worker cannot featurize
    monkeypatch.setattr(screening, "chunk_candidates", lambda *args: pd.concat([good, bad], ignore_index=True))
    hosts = host_predictions(load_predictor(small_model), spec.hosts)
    out = screening.predict_chunk(spec, 0, 10, small_model, hosts)
    assert out.loc[:len(good) - 1, ["log10_sigma", "ucb_log10_sigma", "p_beats_host"]].notna().all().all()
    last = out.iloc[-1]
    assert "Qq" in last["note"] and np.isnan(last["log10_sigma"])
    assert np.isnan(last["ucb_log10_sigma"]) and np.isnan(last["p_beats_host"])


def test_a_screen_refuses_a_kappa_that_is_not_a_number_and_clears_a_killed_runs_temporaries(small_model, tmp_path):
    from mlsse.doping.screening import screen
    from mlsse.doping.space import build_spec
    from mlsse.doping.substitution import DopingError

    spec = build_spec({"Li3YCl6": {"Y": ["Sc"]}}, "0.1:0.2:0.1", ["li"])
    with pytest.raises(DopingError, match=r"--kappa nan: give a finite number ≥ 0"):
        screen(spec, tmp_path / "s.parquet", small_model, kappa=float("nan"), workers=1)
    # what a kill -9 leaves: temporaries named by a process that no longer runs; a live process's are kept
    stale = tmp_path / ".s.parquet.999999999.abc.tmp"
    live = tmp_path / f".s.parquet.{os.getpid()}.abc.tmp"
    stale.write_bytes(b"x")
    live.write_bytes(b"x")
    screen(spec, tmp_path / "s.parquet", small_model, workers=1)
    assert not stale.exists() and live.exists()


def test_a_site_in_none_of_the_hosts_is_named(small_model, tmp_path):
    result = run(["screen", "Li3YCl6", "Li2ZrCl6", "--sites", "Q", "--dopants", "Sc", "--model", str(small_model),
                  "--quiet"], tmp_path, tmp_path, check_code=2)
    assert result.stderr.strip() == "error: no candidate to screen: site Q is in none of the hosts (Li3YCl6, Li2ZrCl6)"


def test_error_lines_escape_non_printing_characters_and_are_cut(small_model, tmp_path):
    (tmp_path / "bad.parquet").write_bytes(bytes(range(256)) * 8)
    result = run(["predict", "--input", "bad.parquet", "--output", "o.csv", "--model", str(small_model)], tmp_path,
                 tmp_path, check_code=2)
    line = result.stderr.strip()
    assert line.startswith("error: bad.parquet: ") and line.isprintable() and len(line) <= 510
    assert not (tmp_path / "o.csv").exists()
    (tmp_path / "bad.csv").write_bytes(bytes(range(256)) * 4)
    result = run(["predict", "--input", "bad.csv", "--output", "o.csv", "--model", str(small_model)], tmp_path,
                 tmp_path, check_code=2)
    assert result.stderr.strip() == "error: bad.csv: not UTF-8 text (byte 128); save the file as UTF-8 CSV"
    assert not (tmp_path / "o.csv").exists()
