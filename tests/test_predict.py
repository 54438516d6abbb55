"""Training, saving, loading and predicting: determinism, monotone-in-T, bad rows, the model card."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from mlsse.errors import ModelError
from mlsse.models.predict import predict
from mlsse.models.predictor import OUTPUT_COLUMNS, Predictor

QUERIES = ["Li2.3ZrCl5.85N0.15", "Li6PS5Cl", "Li7La3Zr2O12", "Li3N", "Li2.5Y0.5Zr0.5Cl6"]


def test_same_data_and_seed_give_identical_models(small_model, tmp_path):
    from mlsse.models.workflow import train_and_save

    again = train_and_save(out=tmp_path / "again", seed=0, trials=0, storage=None, base_params={"n_estimators": 60})
    # boosters, forest, censor classifier, Ea booster
    files = ["sigma-0.ubj.gz", "sigma-1.ubj.gz", "sigma-2.ubj.gz", "sigma-censored.ubj.gz", "ea-0.ubj.gz"]
    assert all((again / f).read_bytes() == (small_model / f).read_bytes() for f in files)
    a = predict(QUERIES, model=small_model)
    b = predict(QUERIES, model=again)
    pd.testing.assert_frame_equal(a, b)


def test_prediction_columns_and_intervals(small_model):
    out = predict(QUERIES, model=small_model)
    assert list(out.columns) == ["composition", *OUTPUT_COLUMNS]
    assert out["log10_sigma"].notna().all()
    # At 25 °C a material likelier censored than not is predicted at the censored label, the others above it.
    assert out["p_sigma_below_detection"].between(0, 1).all()
    likely_censored = out["p_sigma_below_detection"] >= 0.5
    assert (out["log10_sigma"][likely_censored] == -15.0).all() and (out["log10_sigma"][~likely_censored] > -15.0).all()
    assert (out["log10_sigma_lo"] < out["log10_sigma"]).all() and (out["log10_sigma"] < out["log10_sigma_hi"]).all()
    assert (out["ea_lo"] < out["ea_eV"]).all() and (out["ea_eV"] < out["ea_hi"]).all()
    assert np.allclose(out["sigma_S_cm"], 10 ** out["log10_sigma"])
    assert out["in_domain"].all()


def test_a_material_reported_below_detection_is_predicted_censored(small_model):
    # The wiring from training labels to the output column, on training materials (the held-out effect is in
    # the README's measured MAE): SrLiTa2O6F is "<1E-10 S/cm" in two OBELiX papers; Li6PS5Cl conducts at ~1e-3.
    out = predict(["SrLiTa2O6F", "Li6PS5Cl"], model=small_model)
    assert out.loc[0, "p_sigma_below_detection"] > 0.5 > 0.01 > out.loc[1, "p_sigma_below_detection"]
    assert out.loc[0, "log10_sigma"] == -15.0 and out.loc[1, "log10_sigma"] > -5.0


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


def test_incompatible_or_incomplete_model_is_refused(small_model, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(small_model, copy)
    metadata = json.loads((copy / "metadata.json").read_text())
    metadata["featurizer_version"] = "mlsse-1999.01"
    (copy / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelError, match="trained on features 'mlsse-1999.01'"):
        Predictor.load(copy)
    metadata["format"] = "mlsse-model/0"
    (copy / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelError, match="has format 'mlsse-model/0'"):
        Predictor.load(copy)
    shutil.copy(small_model / "metadata.json", copy / "metadata.json")
    (copy / "sigma-2.ubj.gz").unlink()  # the forest
    with pytest.raises(ModelError, match="incomplete: sigma-2.ubj.gz missing"):
        Predictor.load(copy)
    with pytest.raises(ModelError, match="metadata.json missing"):
        Predictor.load(tmp_path / "nowhere")


def test_shap_contributions_sum_to_the_prediction(small_model):
    from mlsse.features import featurize_table

    predictor = Predictor.load(small_model)
    features = featurize_table(pd.DataFrame({"composition": QUERIES}))
    contributions = predictor.contributions(features)
    X = features.reindex(columns=predictor.feature_names).to_numpy(dtype=float)
    assert np.allclose(contributions.sum(axis=1), predictor.sigma_model.predict(X), atol=1e-5)


def test_composition_far_from_training_is_flagged(small_model):
    out = predict(["Li40O", "Li2.3ZrCl5.85N0.15"], model=small_model)
    assert out["in_domain"].tolist() == [False, True]
    assert out.loc[0, "note"].startswith("far from training data (nearest-neighbour distance")


def test_python_api_is_exposed_lazily(small_model):
    import mlsse

    out = mlsse.predict("Li3N", temperature_c=100, model=small_model)
    assert len(out) == 1 and out.loc[0, "log10_sigma"] > predict("Li3N", model=small_model).loc[0, "log10_sigma"]


def test_shipped_default_model_loads_is_small_and_has_its_card():
    from mlsse.paths import SHIPPED_MODELS_DIR

    shipped = SHIPPED_MODELS_DIR / "default"
    assert sum(p.stat().st_size for p in shipped.iterdir()) < 5e6
    predictor = Predictor.load(shipped)
    assert len(predictor.sigma_model.boosters_) == 3 and len(predictor.ea_model.boosters_) == 1
    assert [filled for _, filled in predictor.sigma_model.members()] == [False, False, True]  # the forest last
    card = (shipped / "MODEL_CARD.md").read_text()
    assert predictor.metadata["data_sha256"][:16] in card and "mean of 2 XGBoost boosters" in card
    assert "and 1 random forest(s) on element amounts" in card
    assert predictor.sigma_model.censor_classifier_ is not None and predictor.ea_model.censor_classifier_ is None
    assert "probability p of a censored σ" in card
    row = predict(["Li2.3ZrCl5.85N0.15"], model=shipped).iloc[0]
    assert row["log10_sigma_lo"] < row["log10_sigma"] < row["log10_sigma_hi"] and 0.05 < row["ea_eV"] < 2.0
