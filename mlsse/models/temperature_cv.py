"""Paper-grouped cross-validation of σ away from room temperature (:func:`temperature_cross_validate`): σ(25 °C)
and Ea models carried through Arrhenius to each held-out row's temperature, as ``mlsse predict --temperature-c``
predicts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlsse.models.conformal import domain_half_widths
from mlsse.models.domain import ApplicabilityDomain, composition_elements, domain_feature_names
from mlsse.models.recipe import ea_feature_names, model_for, usable_feature_names, with_predicted_log10_sigma
from mlsse.models.splits import grouped_folds
from mlsse.temperature import log10_sigma_at, temperature_half_width_extra

#: Temperature bands (°C, upper bound included) σ(T) is reported in; room temperature (15–35 °C) is not one.
TEMPERATURE_BANDS_C = ((-np.inf, 15.0), (35.0, 100.0), (100.0, 200.0), (200.0, 400.0), (400.0, np.inf))


def _band_label(lo: float, hi: float) -> str:
    return f"below {hi:g}" if lo == -np.inf else f"above {lo:g}" if hi == np.inf else f"{lo:g} to {hi:g}"


def temperature_cross_validate(sigma_rows: pd.DataFrame, ea_rows: pd.DataFrame, temperature_rows: pd.DataFrame,
                               features: dict, params: dict | None = None, *, seed: int = 0,
                               n_splits: int = 5) -> dict:
    """Cross-validate σ away from room temperature by paper, as ``mlsse predict --temperature-c`` makes it.

    For each fold of papers, σ(25 °C) and Ea models train on the other papers, and each held-out row's σ at its
    temperature (log10 S/cm) is predicted through Arrhenius (:func:`~mlsse.temperature.log10_sigma_at`). The
    80 % interval is the saved model's: σ(25 °C) and Ea half-widths calibrated per domain class on the other
    folds' residuals of this same CV, the Ea one scaled by ``|1/T − 1/T_ref|/(k_B ln 10)``.

    Parameters
    ----------
    sigma_rows : pandas.DataFrame
        Room-temperature σ rows (:func:`~mlsse.models.targets.sigma_training_rows`).
    ea_rows : pandas.DataFrame
        Ea rows (:func:`~mlsse.models.targets.ea_training_rows`).
    temperature_rows : pandas.DataFrame
        σ rows away from room temperature (:func:`~mlsse.models.targets.sigma_temperature_rows`), with
        ``temperature_C`` in °C.
    features : dict of str to pandas.DataFrame
        ``"sigma"``, ``"ea"`` and ``"temperature"`` → the feature frames of the three row sets.
    params : dict, optional
        Per target (``"log10_sigma"``, ``"ea_eV"``), the models' hyper-parameters.
    seed : int, default 0
        Seed of the folds and the models.
    n_splits : int, default 5
        Number of folds.

    Returns
    -------
    dict
        ``groups``, ``held_out`` and, overall, per domain class (``in_domain``, ``out_of_domain``) and per
        :data:`TEMPERATURE_BANDS_C` band (``bands_C``): ``n``, ``mae``, ``mean_error`` (bias), ``coverage_80``
        and ``mean_half_width``, all in log10 S/cm.
    """
    params = params or {}
    parts = {"sigma": sigma_rows, "ea": ea_rows, "temperature": temperature_rows}
    names = sorted(set(usable_feature_names(features["sigma"])) | set(usable_feature_names(features["ea"])))
    X = {key: features[key].reindex(columns=names).to_numpy(dtype=float) for key in parts}
    y = {key: rows["target"].to_numpy(dtype=float) for key, rows in parts.items()}
    groups = {key: rows["group"].to_numpy() for key, rows in parts.items()}
    elements = {key: [composition_elements(c) for c in rows["composition"]] for key, rows in parts.items()}
    every_group = np.concatenate(list(groups.values()))
    prediction = {key: np.full(len(rows), np.nan) for key, rows in parts.items()}
    ea_at_temperature = np.full(len(temperature_rows), np.nan)
    in_domain = {key: np.zeros(len(rows), dtype=bool) for key, rows in parts.items()}
    fold = {key: np.full(len(rows), -1) for key, rows in parts.items()}
    for k, (_, test) in enumerate(grouped_folds(len(every_group), every_group, n_splits, seed)):
        held_out = {key: np.isin(groups[key], every_group[test]) for key in parts}
        sigma_model = model_for("log10_sigma", names, params.get("log10_sigma"), seed=seed).fit(
            X["sigma"][~held_out["sigma"]], y["sigma"][~held_out["sigma"]])
        # As in the saved model, the Ea model reads the σ model's log10 σ (the fold's, so it never saw the paper).
        ea_input = {key: with_predicted_log10_sigma(X[key], sigma_model.predict(X[key]))
                    for key in ("ea", "temperature")}
        ea_model = model_for("ea_eV", ea_feature_names(names), params.get("ea_eV"), seed=seed).fit(
            ea_input["ea"][~held_out["ea"]], y["ea"][~held_out["ea"]])
        columns = [names.index(n) for n in domain_feature_names(sigma_model, names)]
        domain = ApplicabilityDomain().fit(
            np.vstack([X[key][~held_out[key]][:, columns] for key in ("sigma", "ea")]),
            [e for key in ("sigma", "ea") for e, out in zip(elements[key], held_out[key]) if not out])
        for key in parts:
            test_rows = held_out[key]
            if not test_rows.any():
                continue
            fold[key][test_rows] = k
            if key == "ea":
                prediction[key][test_rows] = ea_model.predict(ea_input[key][test_rows])
            else:
                prediction[key][test_rows] = sigma_model.predict(X[key][test_rows])
            if key == "temperature":
                ea_at_temperature[test_rows] = ea_model.predict(ea_input[key][test_rows])
            in_domain[key][test_rows] = domain.assess(
                X[key][test_rows][:, columns], [e for e, out in zip(elements[key], test_rows) if out])[0]
    temperature = temperature_rows["temperature_C"].to_numpy(dtype=float)
    predicted = log10_sigma_at(prediction["temperature"], ea_at_temperature, temperature)
    half_width = np.full(len(temperature), np.nan)
    for k in np.unique(fold["temperature"]):
        widths = {key: domain_half_widths((y[key] - prediction[key])[(fold[key] != k) & (fold[key] >= 0)],
                                          in_domain[key][(fold[key] != k) & (fold[key] >= 0)])
                  for key in ("sigma", "ea")}
        here = fold["temperature"] == k
        flags = in_domain["temperature"][here]
        sigma_width, ea_width = (np.where(flags, widths[key]["in_domain"], widths[key]["out_of_domain"])
                                 for key in ("sigma", "ea"))
        half_width[here] = sigma_width + temperature_half_width_extra(ea_width, temperature[here])
    error = predicted - y["temperature"]
    hits = np.abs(error) <= half_width

    def summary(mask) -> dict:
        return {"n": int(mask.sum()), "mae": float(np.mean(np.abs(error[mask]))) if mask.any() else None,
                "mean_error": float(np.mean(error[mask])) if mask.any() else None,
                "coverage_80": float(hits[mask].mean()) if mask.any() else None,
                "mean_half_width": float(np.mean(half_width[mask])) if mask.any() else None}

    inside = in_domain["temperature"]
    return {"groups": int(len(np.unique(groups["temperature"]))), "held_out": "papers", **summary(hits | ~hits),
            "in_domain": summary(inside), "out_of_domain": summary(~inside),
            "bands_C": {_band_label(lo, hi): summary((temperature > lo) & (temperature <= hi))
                        for lo, hi in TEMPERATURE_BANDS_C}}
