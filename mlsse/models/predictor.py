"""The trained predictor: σ and Ea models sharing one feature list, applicability domain and intervals
(saved and loaded by :mod:`mlsse.models.storage`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlsse.models.domain import ApplicabilityDomain, MeasuredCompositions
from mlsse.models.targets import DETECTION_LIMIT_LOG10_SIGMA
from mlsse.temperature import (
    ROOM_TEMPERATURE_C,
    log10_sigma_at,
    temperature_half_width_extra,
)

#: Prediction columns: log10 σ (S/cm) at the asked temperature with its 80 % interval, σ (S/cm), Ea (eV) with its
#: interval, the probability that σ at 25 °C is below the detection limit 1e-10 S/cm (what papers report as
#: "<1E-10"), the domain flag and a note.
OUTPUT_COLUMNS = ["log10_sigma", "log10_sigma_lo", "log10_sigma_hi", "sigma_S_cm", "ea_eV", "ea_lo", "ea_hi",
                  "p_sigma_below_detection", "in_domain", "note"]


@dataclass
class Predictor:
    """Fitted σ (log10 S/cm at 25 °C) and Ea (eV) regressors sharing one feature list and domain."""

    sigma_model: object          # ConformalBoostedRegressor-like: predict, contributions, interval_half_width_
    ea_model: object
    feature_names: list[str]
    domain: ApplicabilityDomain
    domain_features: list[str]
    metadata: dict = field(default_factory=dict)
    #: Interval half-widths per target and domain class, ``{"log10_sigma": {"in_domain": …, "out_of_domain": …},
    #: "ea_eV": {…}}`` (:func:`~mlsse.models.conformal.domain_half_widths`); None: each model's one width for all.
    half_widths: dict | None = None
    #: The σ measured for each training composition (None for models saved before it was recorded).
    measured: MeasuredCompositions | None = None

    def half_width(self, target: str, in_domain) -> np.ndarray:
        """Return the 80 % interval half-width of ``target`` ("log10_sigma" or "ea_eV") for each query, by its
        in-domain flag (log10 S/cm or eV)."""
        in_domain = np.asarray(in_domain, dtype=bool)
        if self.half_widths is None:
            model = self.sigma_model if target == "log10_sigma" else self.ea_model
            return np.full(len(in_domain), float(model.interval_half_width_))
        widths = self.half_widths[target]
        return np.where(in_domain, widths["in_domain"], widths["out_of_domain"])

    # -- prediction -------------------------------------------------------------------------------------
    def predict_features(self, features: pd.DataFrame, elements: list[set[str]],
                         temperature_c=None, compositions=None) -> pd.DataFrame:
        """Predict from a feature frame (columns ⊇ ``feature_names``); returns the ``OUTPUT_COLUMNS`` frame.

        ``temperature_c``: None (σ at 25 °C), a number, or one value per row (°C). ``compositions``: the rows'
        formulas; with them, a query whose composition was measured in training far from its prediction (outside
        the in-domain interval) is out of domain, and its note gives the measured value and the papers.
        """
        X = features.reindex(columns=self.feature_names).to_numpy(dtype=float)
        sigma_rt = self.sigma_model.predict(X)
        ea = self.ea_model.predict(X)
        inside, reasons = self.domain.assess(features.reindex(columns=self.domain_features).to_numpy(dtype=float),
                                             elements)
        if compositions is not None and self.measured is not None:
            contradicted = self.measured.disagreements(compositions, sigma_rt,
                                                       float(self.half_width("log10_sigma", [True])[0]),
                                                       DETECTION_LIMIT_LOG10_SIGMA)
            for i, note in enumerate(contradicted):
                if note:
                    inside[i] = False
                    reasons[i] = "; ".join(r for r in (reasons[i], note) if r)
        # Out-of-domain queries err about twice as much, so they get their own, wider interval.
        sigma_hw, ea_hw = self.half_width("log10_sigma", inside), self.half_width("ea_eV", inside)
        out = pd.DataFrame(index=features.index)
        if temperature_c is None:
            temperature = np.full(len(X), ROOM_TEMPERATURE_C)
        else:
            temperature = np.broadcast_to(np.asarray(temperature_c, dtype=float), (len(X),)).copy()
            temperature = np.where(np.isnan(temperature), ROOM_TEMPERATURE_C, temperature)
        log10_sigma = log10_sigma_at(sigma_rt, ea, temperature)
        extra = temperature_half_width_extra(ea_hw, temperature)
        out["log10_sigma"] = log10_sigma
        out["log10_sigma_lo"] = log10_sigma - sigma_hw - extra
        out["log10_sigma_hi"] = log10_sigma + sigma_hw + extra
        out["sigma_S_cm"] = 10.0 ** log10_sigma
        out["ea_eV"] = ea
        out["ea_lo"] = np.maximum(ea - ea_hw, 0.0)  # an activation energy is positive (wide out-of-domain widths)
        out["ea_hi"] = ea + ea_hw
        # From the same mixture as the σ prediction, so a σ₂₅ predicted below the limit reads as likelier than not.
        out["p_sigma_below_detection"] = self.sigma_model.predict_probability_below(X, DETECTION_LIMIT_LOG10_SIGMA)
        out["in_domain"] = inside
        out["note"] = reasons
        return out

    def contributions(self, features: pd.DataFrame, target: str = "log10_sigma") -> pd.DataFrame:
        """Return per-row SHAP contributions (XGBoost's exact TreeSHAP) to ``target`` with a ``bias`` column;
        each row sums to the prediction."""
        model = self.sigma_model if target == "log10_sigma" else self.ea_model
        values = model.contributions(features.reindex(columns=self.feature_names).to_numpy(dtype=float))
        return pd.DataFrame(values, columns=[*self.feature_names, "bias"], index=features.index)

    def top_contributions(self, formulas, k: int = 3,
                          target: str = "log10_sigma") -> list[list[tuple[str, float, float]]]:
        """For each formula, the ``k`` features with the largest |SHAP contribution| to ``target``, as
        ``(readable name, the formula's feature value, contribution)``; the value says why, e.g. an O content
        of 0 can push σ up."""
        from mlsse.features import featurize_table
        from mlsse.features.names import readable_name

        features = featurize_table(pd.DataFrame({"composition": list(formulas)})).reindex(columns=self.feature_names)
        contributions = self.contributions(features, target).drop(columns="bias")
        ranked = []
        for (_, row), (_, values) in zip(contributions.iterrows(), features.iterrows()):
            order = row.abs().sort_values(ascending=False, kind="stable").index[:k]
            ranked.append([(readable_name(name), float(values[name]), float(row[name])) for name in order])
        return ranked



