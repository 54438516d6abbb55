"""Training, saving, loading and predicting: determinism, monotone-in-T, bad rows, the model card."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from mlsse.api import predict
from mlsse.errors import ModelError
from mlsse.models.predictor import OUTPUT_COLUMNS
from mlsse.models.storage import load_model

QUERIES = ["Li2.3ZrCl5.85N0.15", "Li6PS5Cl", "Li7La3Zr2O12", "Li3N", "Li2.5Y0.5Zr0.5Cl6"]


def test_same_data_and_seed_give_identical_models(small_model, tmp_path, public_slice):
    from tests.conftest import train_small_model

    again = train_small_model(tmp_path / "again", public_slice)
    # boosters, forest, censor classifier, Ea booster
    files = ["sigma-0.ubj.gz", "sigma-1.ubj.gz", "sigma-2.ubj.gz", "sigma-censored.ubj.gz", "ea-0.ubj.gz"]
    assert all((again / f).read_bytes() == (small_model / f).read_bytes() for f in files)
    a = predict(QUERIES, model=small_model)
    b = predict(QUERIES, model=again)
    pd.testing.assert_frame_equal(a, b)


def test_prediction_columns_and_intervals(small_model):
    out = predict(QUERIES, model=small_model)
    # the temperature used is recorded when the query has no temperature_C column
    assert list(out.columns) == ["composition", "temperature_C", *OUTPUT_COLUMNS]
    assert (out["temperature_C"] == 25.0).all() and out["log10_sigma"].notna().all()
    # At 25 °C the probability of σ below 1e-10 S/cm comes from the mixture whose mean is the prediction.
    p = out["p_sigma_below_detection"]
    assert p.between(0, 1).all()
    assert (out["log10_sigma_lo"] < out["log10_sigma"]).all() and (out["log10_sigma"] < out["log10_sigma_hi"]).all()
    assert (out["ea_lo"] < out["ea_eV"]).all() and (out["ea_eV"] < out["ea_hi"]).all()
    assert np.allclose(out["sigma_S_cm"], 10 ** out["log10_sigma"])
    assert out["in_domain"].all()


def test_a_material_reported_below_detection_is_predicted_censored(small_model):
    # The wiring from training labels to the output column, on training materials (the held-out effect is in
    # the README's measured MAE): SrLiTa2O6F (space group 227) is "<1E-10 S/cm" in two papers; Li6PS5Cl conducts
    # at ~1e-3.
    out = predict(pd.DataFrame({"composition": ["SrLiTa2O6F", "Li6PS5Cl"], "space_group_number": [227, ""]}),
                  model=small_model)
    assert out.loc[0, "p_sigma_below_detection"] == 1.0 and out.loc[1, "p_sigma_below_detection"] < 0.01
    # what was measured is what is said: the censored label, an interval no higher than the detection limit
    assert out.loc[0, "log10_sigma"] == -15.0 and out.loc[0, "log10_sigma_hi"] == pytest.approx(-10.0)
    assert out.loc[0, "note"].startswith("reported below 1e-10 S/cm at room temperature")
    assert out.loc[1, "log10_sigma"] > -5.0


def test_sigma_rises_with_temperature(small_model):
    temperatures = [-20, 0, 25, 60, 100, 200, 400]
    frame = pd.DataFrame({"composition": [q for q in QUERIES for _ in temperatures],
                          "temperature_C": temperatures * len(QUERIES)})
    out = predict(frame, model=small_model)
    for _, group in out.groupby("composition"):
        assert np.all(np.diff(group["log10_sigma"].to_numpy()) > 0)
        assert group["ea_eV"].nunique() == 1  # Ea does not depend on the query temperature
    rt = out[out["temperature_C"] == 25]["log10_sigma"].to_numpy()
    assert np.allclose(rt, predict(QUERIES, model=small_model)["log10_sigma"])


def test_bad_rows_get_a_note_and_the_rest_are_predicted(small_model):
    frame = pd.DataFrame({"composition": ["Li3N", "LiXx2", "Li2O-", "Li6PS5Cl", "Li3YCl6", "Li3N"],
                          "temperature_C": ["25", "25", "25", "800", "60", "warm"],
                          "sample": ["a", "b", "c", "d", "e", "f"]})
    out = predict(frame, model=small_model)
    assert out["sample"].tolist() == ["a", "b", "c", "d", "e", "f"]
    assert out["log10_sigma"].notna().tolist() == [True, False, False, False, True, False]
    assert out.loc[5, "note"] == "temperature_C 'warm' is not a number"
    assert out.loc[1, "note"] == "unknown element 'Xx' in 'LiXx2'"
    assert out.loc[2, "note"].startswith("cannot parse formula 'Li2O-'")
    assert out.loc[3, "note"] == "temperature 800 °C outside -100–600 °C (kelvin? give °C)"


def test_bad_structure_cells_and_cifs_are_noted_and_a_relative_cif_is_found_beside_the_csv(small_model, tmp_path):
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.cif import CifWriter

    (tmp_path / "cifs").mkdir()
    CifWriter(Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.13), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
              ).write_file(tmp_path / "cifs" / "LiCl.cif")
    (tmp_path / "bad.cif").write_text("data_nothing\n")
    frame = pd.DataFrame({"composition": ["Li6PS5Cl"] * 6 + ["LiCl"] * 3,
                          "space_group_number": ["-5", "F-43m", "216.5", "216", "216", "216", "", "", ""],
                          "a": ["", "", "", "-1", "9.8", "9.8", "", "", ""],
                          "alpha": ["", "", "", "", "200", "90", "", "", ""],
                          "cif": [""] * 6 + ["cifs/LiCl.cif", "bad.cif", "missing.cif"]})
    out = predict(frame, model=small_model, cif_dir=tmp_path)
    assert out["note"].tolist()[:5] + out["note"].tolist()[7:] == [
        "space-group number -5 is not an integer from 1 to 230", "space_group_number 'F-43m' is not a number",
        "space-group number 216.5 is not an integer from 1 to 230", "a = -1 Å is outside 0–1000 Å",
        "alpha = 200° is outside 0–180°",
        f"cif '{tmp_path / 'bad.cif'}': not a readable CIF (Invalid CIF file with no structures!)",
        "cif 'missing.cif': file not found"]
    assert out["log10_sigma"].notna().tolist() == [False] * 5 + [True, True, False, False]
    composites = predict(pd.DataFrame({"composition": ["Li3N"] * 4, "additive": ["Xx", "BaTiO3", "BaTiO3", "BaTiO3"],
                                       "additive_wt_pct": ["5", "150", "abc", ""]}), model=small_model)
    assert composites["note"].tolist()[:3] == ["additive: unknown element 'Xx' in 'Xx'",
                                               "additive wt% 150 outside [0, 100)",
                                               "additive_wt_pct 'abc' is not a number"]
    assert composites["log10_sigma"].notna().tolist() == [False, False, False, True]  # wt% unknown: still a composite
    # the CIF was read: its structure features change the prediction from the composition-only one
    assert out.loc[6, "ea_eV"] != predict(["LiCl"], model=small_model).loc[0, "ea_eV"]


def test_kelvin_temperatures_are_refused_and_kelvin_like_ones_warned(small_model):
    from mlsse.errors import DataError, MlsseWarning

    frame = pd.DataFrame({"composition": ["Li3N"] * 6,
                          "temperature_C": ["298.15", "373.15", "inf", "300", "287", "NaN"]})
    with pytest.warns(MlsseWarning, match=r"σ predicted at 300 °C \(query row\(s\) 4\); if that is kelvin, it is "
                                          r"26.85 °C: give °C"):
        out = predict(frame, model=small_model)
    assert out["note"].tolist()[:3] == ["temperature 298.15 °C is kelvin (298.15 K = 25 °C): give °C",
                                        "temperature 373.15 °C is kelvin (373.15 K = 100 °C): give °C",
                                        "temperature inf °C is not a finite number"]
    # 300 °C is a real measuring temperature: predicted; an 'NaN' cell is an empty one (25 °C)
    assert out["log10_sigma"].notna().tolist() == [False, False, False, True, True, True]
    assert out["temperature_C"].tolist()[3:] == ["300", "287", 25.0]
    with pytest.raises(DataError, match="temperature nan °C is not a finite number"):
        predict("Li3N", temperature_c=float("nan"), model=small_model)


def test_query_level_problems_raise_and_inputs_are_kept(small_model):
    from pymatgen.core import Composition

    from mlsse.errors import DataError, MlsseWarning

    frame = pd.DataFrame({"composition": ["Li3N"], "sigma_S_cm": [1e-3], "note": ["measured"]})
    with pytest.warns(MlsseWarning, match="'sigma_S_cm' → 'sigma_S_cm_input', 'note' → 'note_input'"):
        out = predict(frame, model=small_model)
    assert out.loc[0, "sigma_S_cm_input"] == 1e-3 and out.loc[0, "note_input"] == "measured"
    assert out.loc[0, "sigma_S_cm"] == pytest.approx(10 ** out.loc[0, "log10_sigma"])
    problems = [
        (pd.DataFrame([["Li3N", "LiCl"]], columns=["composition", "composition"]), {},
         "column\\(s\\) 'composition' appear more than once"),
        (pd.DataFrame({"composition": ["Li3N"], "temperature_C": [60]}), {"temperature_c": 80},
         "the temperature is given twice"),
        (["Li3N", "LiCl"], {"temperature_c": [25, 50, 75]}, "temperature_c has 3 values for 2 rows"),
        (pd.DataFrame({"composition": ["Li3N"], "temperature_c": [60]}), {},
         "column 'temperature_c' is not read: name it 'temperature_C', in °C"),
    ]
    for data, kwargs, message in problems:
        with pytest.raises(DataError, match=message):
            predict(data, model=small_model, **kwargs)
    # a Composition is one query, not an iterable of elements; a Series keeps its index
    assert len(predict(Composition("Li3PS4"), model=small_model)) == 1
    # Compositions are written back as formulas with their amounts as given, not pymatgen's "Li3 P1 S4"
    written = predict([Composition("Li3PS4"), Composition("Li2.3ZrCl5.85N0.15"),
                       Composition({"Li+": 3, "N3-": 1})], model=small_model)
    assert written["composition"].tolist() == ["Li3PS4", "Li2.3ZrCl5.85N0.15", "Li3N"]  # species as elements
    assert written["log10_sigma"].notna().all()
    assert predict(pd.Series(["Li3N", "LiCl"], index=[5, 7]), model=small_model).index.tolist() == [5, 7]
    per_row = predict(["Li3N", "Li3N"], temperature_c=[25, 80], model=small_model)
    assert per_row["temperature_C"].tolist() == [25, 80]
    assert per_row.loc[1, "log10_sigma"] > per_row.loc[0, "log10_sigma"]
    # a Series of temperatures goes by index; an empty temperature_C column is filled with the temperature used
    by_index = predict(pd.Series(["Li3N", "Li3N"], index=[1, 0]), temperature_c=pd.Series([25, 80], index=[0, 1]),
                       model=small_model)
    assert by_index["temperature_C"].tolist() == [80, 25]
    filled = predict(pd.DataFrame({"composition": ["Li3N"], "temperature_C": [""]}), temperature_c=80,
                     model=small_model)
    assert filled.loc[0, "temperature_C"] == 80 and filled.loc[0, "log10_sigma"] == by_index.loc[1, "log10_sigma"]
    # a column that only looks like one mlsse reads is kept with a warning; single letters are not taken for a–c
    with pytest.warns(MlsseWarning, match="column 'CIF' is not read; name it 'cif'"):
        kept = predict(pd.DataFrame({"composition": ["Li3N"], "CIF": ["x"], "C": [1]}), model=small_model)
    assert kept.loc[0, "CIF"] == "x" and kept.loc[0, "C"] == 1


def test_a_composition_without_li_is_out_of_domain(small_model):
    out = predict(["NaCl", "Li3N"], model=small_model)
    assert out["in_domain"].tolist() == [False, True]
    assert out.loc[0, "note"] == "no Li: the model knows Li-ion conductors only"


def test_a_prediction_contradicting_the_measured_value_of_the_same_composition_is_out_of_domain(small_model):
    from mlsse.chemistry import composition_key
    from mlsse.features import featurize_table
    from mlsse.models.domain import composition_elements
    from mlsse.models.evidence import MeasuredCompositions

    predictor = load_model(small_model)
    # the model records the room-temperature σ measured for each training composition (the seed's LZC-N0.15)
    measured = predictor.measured.values[composition_key("Li2.3ZrCl5.85N0.15")]
    assert measured[0] == pytest.approx(np.log10(1.5e-3)) and measured[1] is False
    queries = ["Li3N", "Li6PS5Cl", "Li3PS4", "Li2.3ZrCl5.85N0.15"]
    features = featurize_table(pd.DataFrame({"composition": queries}))
    elements = [composition_elements(q) for q in queries]
    plain = predictor.predict_features(features, elements)
    width = predictor.half_width("log10_sigma", [True])[0]
    li3n, argyrodite = plain["log10_sigma"].iloc[:2]
    predictor.measured = MeasuredCompositions({
        composition_key("Li3N"): [li3n - width - 0.5, False, "10.1000/far"],            # 0.5 beyond the interval
        composition_key("Li6PS5Cl"): [argyrodite + width - 0.1, False, "10.1000/near"],  # inside it
        composition_key("Li3PS4"): [-15.0, True, "10.1000/censored"]})                  # "<1E-10" in training
    checked = predictor.predict_features(features, elements, compositions=queries)
    assert checked["in_domain"].tolist() == [False, True, plain.loc[2, "log10_sigma"] <= -10 + width, True]
    assert checked.loc[0, "note"] == (f"measured {10 ** (li3n - width - 0.5):.2g} S/cm at room temperature "
                                      f"(10.1000/far), {width + 0.5:.1f} decades below the prediction")
    if not checked.loc[2, "in_domain"]:
        assert checked.loc[2, "note"].startswith("reported below 1e-10 S/cm at room temperature (10.1000/censored)")
    # out of domain, the wider interval
    assert checked.loc[0, "log10_sigma_hi"] - checked.loc[0, "log10_sigma"] == pytest.approx(
        predictor.half_width("log10_sigma", [False])[0])


def test_out_of_domain_element_is_flagged(small_model):
    out = predict(["Li2PuCl6"], model=small_model)
    assert not out.loc[0, "in_domain"]
    assert "Pu" in out.loc[0, "note"]


def test_model_card_and_metadata(small_model):
    metadata = json.loads((small_model / "metadata.json").read_text())
    for key in ("data_sha256", "seed", "library_versions", "featurizer_version", "metrics", "feature_names"):
        assert key in metadata
    assert metadata["metrics"]["log10_sigma"]["mae"] < metadata["metrics"]["log10_sigma"]["median_baseline_mae"]
    card = (small_model / "MODEL_CARD.md").read_text()
    assert "Paper-grouped cross-validation" in card and metadata["data_sha256"][:16] in card
    # metadata.json keeps its keys sorted; the card made again from it is the same card
    from mlsse.models.card import model_card

    assert model_card(metadata) == card


def test_incompatible_or_incomplete_model_is_refused(small_model, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(small_model, copy)
    metadata = json.loads((copy / "metadata.json").read_text())
    metadata["featurizer_version"] = "mlsse-1999.01"
    (copy / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelError, match="trained on features 'mlsse-1999.01'"):
        load_model(copy)
    metadata["format"] = "mlsse-model/0"
    (copy / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelError, match="has format 'mlsse-model/0'"):
        load_model(copy)
    shutil.copy(small_model / "metadata.json", copy / "metadata.json")
    (copy / "sigma-2.ubj.gz").unlink()  # the forest
    with pytest.raises(ModelError, match="incomplete: sigma-2.ubj.gz missing"):
        load_model(copy)
    with pytest.raises(ModelError, match="metadata.json missing"):
        load_model(tmp_path / "nowhere")
    # damaged files: one line naming the model, not a KeyError or an XGBoost trace
    shutil.copytree(small_model, copy, dirs_exist_ok=True)
    (copy / "sigma-0.ubj.gz").write_bytes(__import__("gzip").compress(b"garbage"))
    with pytest.raises(ModelError, match=r"model at .*copy is damaged: sigma-0.ubj.gz cannot be read "
                                         r"\(XGBoostError: [^\n]*\); retrain it"):
        load_model(copy)
    flipped = bytearray((small_model / "sigma-0.ubj.gz").read_bytes())
    middle = slice(len(flipped) // 2, len(flipped) // 2 + 400)
    flipped[middle] = bytes(b ^ 0x5A for b in flipped[middle])
    (copy / "sigma-0.ubj.gz").write_bytes(bytes(flipped))
    with pytest.raises(ModelError, match=r"is damaged: sigma-0.ubj.gz cannot be read "
                                         r"\((error|BadGzipFile|EOFError|XGBoostError)"):
        load_model(copy)
    shutil.copy(small_model / "sigma-0.ubj.gz", copy / "sigma-0.ubj.gz")
    del metadata["ea_params"]
    metadata["format"] = json.loads((small_model / "metadata.json").read_text())["format"]
    metadata["featurizer_version"] = json.loads((small_model / "metadata.json").read_text())["featurizer_version"]
    (copy / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelError, match=r"is damaged: metadata.json has a missing or wrong field "
                                         r"\(KeyError: 'ea_params'\)"):
        load_model(copy)
    (copy / "metadata.json").write_text("{bad")
    with pytest.raises(ModelError, match=r"is damaged: metadata.json cannot be read \(JSONDecodeError"):
        load_model(copy)
    (copy / "metadata.json").write_text("[1, 2]")
    with pytest.raises(ModelError, match=r"is damaged: metadata.json holds a list, not an object"):
        load_model(copy)
    (copy / "metadata.json").write_text((small_model / "metadata.json").read_text())
    (copy / "ea-0.ubj.gz").unlink()
    (copy / "ea-0.ubj.gz").symlink_to(small_model / "sigma-0.ubj.gz")
    with pytest.raises(ModelError, match=r"is damaged: ea-0.ubj.gz is a symlink \(to "):
        load_model(copy)


def test_the_predictor_predicts_and_explains_compositions_and_refuses_unknown_targets(small_model):
    from pymatgen.core import Composition

    from mlsse.models.targets import Target

    predictor = load_model(small_model)
    out = predictor.predict(["Li3N", Composition("Li6PS5Cl"), "LiXx"], temperature_c=[25, 80, 25])
    through_api = predict(pd.DataFrame({"composition": ["Li3N", "Li6PS5Cl"], "temperature_C": [25, 80]}),
                          model=small_model)
    pd.testing.assert_frame_equal(out.iloc[:2], through_api[OUTPUT_COLUMNS], check_dtype=False)
    assert np.isnan(out.loc[2, "log10_sigma"]) and "unknown element 'Xx'" in out.loc[2, "note"]
    # SHAP explains the model's own prediction: Li6PS5Cl, measured in training, is answered with its measurements
    for target, column in ((Target.LOG10_SIGMA, "model_log10_sigma"), ("ea", "ea_eV")):
        explained = predictor.explain(["Li3N", "Li6PS5Cl"], target)
        assert explained.columns[-1] == "bias"
        assert np.allclose(explained.sum(axis=1), predictor.predict(["Li3N", "Li6PS5Cl"])[column], atol=1e-5)
    with pytest.raises(ValueError, match="unknown target 'conductivity': choose 'log10_sigma'"):
        predictor.explain(["Li3N"], "conductivity")
    assert Target.named("sigma") is Target.LOG10_SIGMA and Target.named("ea_eV").unit == "eV"


def test_shap_contributions_sum_to_the_prediction(small_model):
    from mlsse.features import featurize_table

    predictor = load_model(small_model)
    features = featurize_table(pd.DataFrame({"composition": QUERIES}))
    contributions = predictor.explain_features(features)
    X = features.reindex(columns=predictor.feature_names).to_numpy(dtype=float)
    assert np.allclose(contributions.sum(axis=1), predictor.sigma_model.predict(X), atol=1e-5)


def test_composition_far_from_training_is_flagged_and_gets_the_wider_interval(small_model):
    # Li2.35ZrCl5.825N0.175: between two measured members of the seed series, not measured itself
    out = predict(["Li40O", "Li2.35ZrCl5.825N0.175"], model=small_model)
    assert out["in_domain"].tolist() == [False, True]
    assert out.loc[0, "note"].startswith("far from training data (nearest-neighbour distance")
    # Split-conformal per domain class: out of domain, the interval is the one calibrated on rows that were
    # out of domain when their paper was held out.
    metadata = json.loads((small_model / "metadata.json").read_text())
    widths = metadata["interval_half_widths"]
    for target, hi in (("log10_sigma", "log10_sigma_hi"), ("ea_eV", "ea_hi")):
        assert widths[target]["out_of_domain"] >= widths[target]["in_domain"] > 0
        expected = [widths[target]["out_of_domain"], widths[target]["in_domain"]]
        assert np.allclose(out[hi] - out[target], expected)
    assert np.allclose(out["log10_sigma"] - out["log10_sigma_lo"], out["log10_sigma_hi"] - out["log10_sigma"])
    assert np.allclose(out["ea_eV"] - out["ea_lo"], expected)
    # the lower Ea bound stops at 0: an activation energy is positive however wide the interval
    from mlsse.features import featurize_table
    from mlsse.models.domain import composition_elements

    predictor = load_model(small_model)
    predictor.half_widths = {**predictor.half_widths, "ea_eV": {"in_domain": 0.1, "out_of_domain": 5.0}}
    queries = pd.DataFrame({"composition": ["Li40O", "Li2.3ZrCl5.85N0.15"]})
    wide = predictor.predict_features(featurize_table(queries), [composition_elements(c) for c in queries["composition"]])
    assert wide["ea_lo"].tolist()[0] == 0.0 and wide["ea_hi"].iloc[0] == pytest.approx(wide["ea_eV"].iloc[0] + 5.0)
    assert wide["ea_lo"].iloc[1] == pytest.approx(wide["ea_eV"].iloc[1] - 0.1)
    for target in ("log10_sigma", "ea_eV"):
        m = metadata["metrics"][target]
        assert 0 < m["n_out_of_domain"] < m["n"] and m["mae_out_of_domain"] > m["mae_in_domain"]
        assert 0.7 <= m["coverage_in_domain"] <= 0.9 and 0.6 <= m["coverage_out_of_domain"] <= 1.0


def test_python_api_is_exposed_lazily(small_model):
    import mlsse

    out = mlsse.predict("Li3N", temperature_c=100, model=small_model)
    assert len(out) == 1 and out.loc[0, "log10_sigma"] > predict("Li3N", model=small_model).loc[0, "log10_sigma"]


def test_shipped_default_model_loads_is_small_and_has_its_card():
    from mlsse.paths import SHIPPED_MODELS_DIR

    shipped = SHIPPED_MODELS_DIR / "default"
    assert sum(p.stat().st_size for p in shipped.iterdir()) < 5e6
    predictor = load_model(shipped)
    assert len(predictor.sigma_model.boosters_) == 3 and len(predictor.ea_model.boosters_) == 1
    assert [filled for _, filled in predictor.sigma_model.members()] == [False, False, True]  # the forest last
    card = (shipped / "MODEL_CARD.md").read_text()
    assert predictor.metadata["data_sha256"][:16] in card and "mean of 2 XGBoost boosters" in card
    assert "and 1 random forest(s) on element amounts" in card
    assert predictor.sigma_model.censor_classifier_ is not None and predictor.ea_model.censor_classifier_ is None
    assert "probability p of a censored σ" in card
    row = predict(["Li2.3ZrCl5.85N0.15"], model=shipped).iloc[0]
    assert row["log10_sigma_lo"] < row["log10_sigma"] < row["log10_sigma_hi"] and 0.05 < row["ea_eV"] < 2.0
