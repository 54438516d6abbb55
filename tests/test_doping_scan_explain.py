"""Doping scans and SHAP explanations on a small trained model."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from mlsse.doping.scanning import scan
from mlsse.features import featurize_table
from mlsse.models.storage import load_model


def test_scan_ranks_every_candidate_and_gives_reasons(small_model):
    result = scan("Li2ZrCl6", "Zr", ["Y", "In", "Sc"], "0:0.3:0.1", temperature_c=80, model=small_model)
    assert len(result) == 3 * 4
    assert set(result["dopant"]) == {"Y", "In", "Sc"}
    y = result[(result["dopant"] == "Y") & (result["level"] == 0.3)].iloc[0]
    assert y["composition"] == "Li2.3Y0.3Zr0.7Cl6"
    assert sorted(result["rank"].unique())[0] == 1
    best = result.loc[result["delta_log10_sigma"].idxmax()]  # ranked by the change versus the host
    assert best["rank"] == 1 and best["dopant_rank"] == 1
    for _, group in result.groupby("dopant"):
        assert group.sort_values("rank_in_dopant")["delta_log10_sigma"].is_monotonic_decreasing
    assert (result["log10_sigma_at_T"] > result["log10_sigma"]).all()
    doped = result[result["level"] > 0]
    assert (doped["reasons_up"].ne("") | doped["reasons_down"].ne("")).all()
    host = result[result["level"] == 0]
    assert (host["reasons_up"] == "").all() and (host["reasons_down"] == "").all()
    # the change versus the host, with the paired interval of a difference within a series
    from mlsse.models.storage import load_model

    predictor = load_model(small_model)
    from mlsse.models.series import composition_distance

    distance = doped["composition"].map(lambda c: composition_distance(c, "Li2ZrCl6")).to_numpy()
    width = predictor.paired_half_width("log10_sigma", distance)
    assert (0 < width).all()
    assert (np.diff(width[np.argsort(distance)]) >= 0).all()  # wider for candidates farther from the host
    # the candidates the model cannot tell from the best: within the paired width at their distance from it
    top = result.loc[result["delta_log10_sigma"].idxmax()]
    from_top = result["composition"].map(lambda c: composition_distance(c, top["composition"])).to_numpy()
    expected = (top["delta_log10_sigma"] - result["delta_log10_sigma"]
                < predictor.paired_half_width("log10_sigma", from_top)) & (result.index != top.name)
    assert (result["tied_with_best"] == expected).all() and not top["tied_with_best"]
    assert (host["versus_host"] == "host").all() and (host["delta_log10_sigma"] == 0).all()
    relative = predictor.relative_log10_sigma(featurize_table(result[["composition"]]))  # regressor + ranker
    assert np.allclose(result["delta_log10_sigma"], relative - relative[result["level"].eq(0).to_numpy()][0])
    assert predictor.ranker is not None and predictor.metadata["ranking_weight"] > 0
    assert np.allclose(doped["delta_log10_sigma_hi"] - doped["delta_log10_sigma"], width)
    assert np.allclose(doped["delta_log10_sigma"] - doped["delta_log10_sigma_lo"], width)
    assert doped["p_beats_host"].between(0, 1).all() and host["p_beats_host"].isna().all()
    assert ((doped["p_beats_host"] > 0.5) == (doped["delta_log10_sigma"] > 0)).all()
    verdict = np.where(doped["delta_log10_sigma_lo"] > 0, "higher σ",
                       np.where(doped["delta_log10_sigma_hi"] < 0, "lower σ", "cannot tell"))
    assert (doped["versus_host"] == verdict).all()
    # the reasons cite what the candidate or the host holds, never the content of an element neither has
    import re

    from pymatgen.core import Composition

    for _, row in doped.iterrows():
        held = {el.symbol for el in Composition(row["composition"]).elements} | {"Li", "Zr", "Cl"}
        named = re.findall(r"\b([A-Z][a-z]?) (?:content|atoms per formula unit)", row["reasons_up"] + row["reasons_down"])
        assert set(named) <= held, (row["composition"], named)


def test_scan_with_composite_additive(small_model):
    result = scan("Li2.5Y0.5Zr0.5Cl6", "Zr", ["Hf"], [0.1], additive="BaTiO3", wt_pcts="0:20:5", model=small_model)
    assert sorted(result["additive_wt_pct"].unique()) == [0, 5, 10, 15, 20]
    assert len(result) == 2 * 5
    # more additive exchanges more of the host's atoms: the paired interval never narrows with wt%
    undoped = result[result["level"] == 0].sort_values("additive_wt_pct")
    half = (undoped["delta_log10_sigma_hi"] - undoped["delta_log10_sigma"]).to_numpy()
    assert half[0] == 0 and (half[1:] > 0).all() and (np.diff(half[1:]) >= 0).all()


def test_shap_attributions_sum_to_prediction_minus_base(small_model):
    from mlsse.explain.shap_values import grouped_contributions, shap_explanation

    predictor = load_model(small_model)
    features = featurize_table(pd.DataFrame({"composition": ["Li2.3ZrCl5.85N0.15", "Li6PS5Cl"]}))
    for target, model in (("sigma", predictor.sigma_model), ("ea", predictor.ea_model)):
        explanation = shap_explanation(predictor, features, target)
        # The Ea model reads the σ model's prediction after the features (model_input).
        prediction = model.predict(predictor.model_input(features, target))
        assert np.allclose(explanation.values.sum(axis=1), prediction - explanation.base_values, atol=1e-6)
        grouped = grouped_contributions(explanation, predictor.input_names(target), 0)
        assert grouped["contribution"].sum() == pytest.approx(explanation.values[0].sum(), abs=1e-6)
        assert "electronegativity" in set(grouped["group"])


def test_dope_and_explain_commands_write_their_files(small_model, tmp_path):
    from tests.test_cli import run

    result = run(["dope", "Li2ZrCl6", "--site", "Cl", "--dopants", "N,F", "--levels", "0:0.25:0.05",
                  "--output", "scan.csv", "--model", str(small_model)], tmp_path, tmp_path)
    assert "wrote scan.csv (12 candidates)" in result.stdout
    assert "Δ ±80 %" in result.stdout and "P>host" in result.stdout and "--wide adds" in result.stdout
    table = pd.read_csv(tmp_path / "scan.csv")
    # The table, the CSV and the plot show one quantity: the host's prediction moved by the ranking's change.
    host = table[table["versus_host"] == "host"].iloc[0]
    assert np.allclose(table["relative_log10_sigma"] - host["relative_log10_sigma"], table["delta_log10_sigma"])
    assert host["relative_log10_sigma"] == pytest.approx(host["log10_sigma"])
    best = table.sort_values("rank").iloc[0]
    half = (best["delta_log10_sigma_hi"] - best["delta_log10_sigma_lo"]) / 2
    assert f"{best['delta_log10_sigma']:+.2f} ±{half:.2f}" in result.stdout
    assert {"sigma_S_cm", "measured_log10_sigma", "measured_papers", "measured_references"} <= set(table.columns)
    wide = run(["dope", "Li2ZrCl6", "--site", "Cl", "--dopants", "N", "--levels", "0.1", "--output", "w.csv",
                "--wide", "--model", str(small_model)], tmp_path, tmp_path)
    assert "Li2.1ZrN0.05Cl5.95" not in wide.stdout and "Li2.2ZrN0.1Cl5.9" in wide.stdout
    for column in ("composition", "dopant", "level", "log10_sigma", "log10_sigma_lo", "log10_sigma_hi", "ea_eV",
                   "ea_lo", "ea_hi", "in_domain", "rank", "reasons_up", "reasons_down"):
        assert column in table.columns
    assert "Li2.3ZrN0.15Cl5.85" in set(table["composition"])  # no explicit 1s
    assert (tmp_path / "scan.png").stat().st_size > 10_000
    refused = run(["dope", "Li2ZrCl6", "--site", "Br", "--dopants", "N", "--model", str(small_model)], tmp_path,
                  tmp_path, check_code=2)
    assert refused.stderr.strip() == "error: site Br is not in host Li2ZrCl6"
    explained = run(["explain", "Li3N", "--out", "ex", "--model", str(small_model)], tmp_path, tmp_path).stdout
    explained = " ".join(explained.split())  # rich wraps the title
    # the contributions' unit and the base value they start from are printed with them
    assert re.search(r"Li3N: the model's log10 σ at 25 °C \(log10 S/cm\) = -?\d+\.\d{3} = base value -?\d+\.\d{3} "
                     r"\+ the contributions, summed per feature group", explained), explained
    assert "how far that group of features moves this prediction away from the base value" in explained
    assert (tmp_path / "ex" / "explain_Li3N_sigma.png").stat().st_size > 10_000
    assert pd.read_csv(tmp_path / "ex" / "explain_Li3N_sigma.csv").columns.tolist() == [
        "group", "contribution", "leading_feature", "leading_value"]


def test_a_scan_shows_the_measured_members_of_the_seed_n_doping_series(tmp_path):
    from mlsse.doping.plot import plot_scan

    # The shipped model: the Li2+2xZrCl6-xNx series (seed file 000, peak at x = 0.15) is in its training data.
    result = scan("Li2ZrCl6", "Cl", ["N"], "0:0.25:0.05")
    measured = result.dropna(subset=["measured_log10_sigma"]).set_index("level")["measured_log10_sigma"]
    assert len(measured) == 6 and measured.idxmax() == pytest.approx(0.15)
    assert result["measured_references"].eq("10.1039/d5eb00116a").all()  # the seed paper, by its DOI
    assert plot_scan(result, tmp_path / "scan.svg").read_bytes().count(b"<svg") == 1


def test_an_additive_series_alone_needs_no_dopant_and_names_its_candidates_with_their_share(small_model, tmp_path):
    from tests.test_cli import run

    result = run(["dope", "Li2.5Y0.5Zr0.5Cl6", "--additive", "BaTiO3", "--wt", "0:10:5", "--output", "c.csv",
                  "--model", str(small_model)], tmp_path, tmp_path)
    table = pd.read_csv(tmp_path / "c.csv")
    assert sorted(table["additive_wt_pct"]) == [0, 5, 10] and set(table["dopant"]) == {"undoped"}
    assert "Li2.5Y0.5Zr0.5Cl6 + BaTiO3: every wt%" in result.stdout and "wt%" in result.stdout
    said = " ".join(result.stdout.split("a measured composition its measurement)", 1)[1].split())
    assert "Li2.5Y0.5Zr0.5Cl6 + 5 wt% BaTiO3" in said or "Li2.5Y0.5Zr0.5Cl6 + 10 wt% BaTiO3" in said
    assert "Li2.5Y0.5Zr0.5Cl6," not in said  # the host is never named as a candidate
    refused = run(["dope", "Li2ZrCl6", "--output", "x.csv", "--model", str(small_model)], tmp_path, tmp_path,
                  check_code=2)
    assert refused.stderr.strip() == ("error: give --site and --dopants (or an --additive with --wt for a composite "
                                      "series alone)")
