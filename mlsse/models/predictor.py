"""The trained predictor: σ and Ea models sharing one feature list, applicability domain and intervals
(saved and loaded by :mod:`mlsse.models.storage`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlsse.data.schema import as_query_frame
from mlsse.features import featurize_table
from mlsse.features.names import absent_element, readable_name
from mlsse.features.preset import ELEMENT_FRACTION_LABELS
from mlsse.models.domain import ApplicabilityDomain
from mlsse.models.evidence import (
    AGREEING_SPREAD_LOG10,
    N_NEAREST,
    Z_80,
    MeasuredCompositions,
    anchored_log10_sigma,
    evidence_key,
)
from mlsse.models.recipe import ea_feature_names, with_predicted_log10_sigma
from mlsse.models.series import half_width_at
from mlsse.models.targets import CENSORED_LOG10_SIGMA, DETECTION_LIMIT_LOG10_SIGMA, Target
from mlsse.temperature import (
    ROOM_TEMPERATURE_C,
    log10_sigma_at,
    temperature_half_width_extra,
)

#: Prediction columns: log10 σ (S/cm) at the asked temperature with its 80 % interval, σ and its interval (S/cm),
#: Ea (eV) with its interval, the probability that σ at 25 °C is below the detection limit 1e-10 S/cm (what
#: papers report as "<1E-10"), the domain flag and a note.
PREDICTION_COLUMNS = ["log10_sigma", "log10_sigma_lo", "log10_sigma_hi", "sigma_S_cm", "sigma_lo_S_cm",
                      "sigma_hi_S_cm", "ea_eV", "ea_lo", "ea_hi", "p_sigma_below_detection", "in_domain", "note"]
#: The numeric prediction columns (NaN where a row is not predicted).
NUMERIC_PREDICTION_COLUMNS = PREDICTION_COLUMNS[:-2]
#: What the training data holds of each query: ``model_log10_sigma`` (the model's own log10 σ at 25 °C, S/cm,
#: before a measured composition is anchored to its measurements); the measurements of that very composition
#: (``measured_log10_sigma``, the median over papers at room temperature, log10 S/cm; ``measured_papers``;
#: ``measured_spread_log10``, the range of the papers' medians, decades; ``measured_references``, up to three);
#: and its :data:`~mlsse.models.evidence.N_NEAREST` nearest measured training compositions (``nearest_K``, its
#: ``_log10_sigma`` at room temperature, log10 S/cm, ``_reference`` and ``_distance``, the fraction of atoms
#: exchanged).
EVIDENCE_COLUMNS = ["model_log10_sigma", "measured_log10_sigma", "measured_papers", "measured_spread_log10",
                    "measured_references",
                    *[f"nearest_{k}{part}" for k in range(1, N_NEAREST + 1)
                      for part in ("", "_log10_sigma", "_reference", "_distance")]]
#: Every column a prediction table gets: :data:`PREDICTION_COLUMNS`, then :data:`EVIDENCE_COLUMNS`.
OUTPUT_COLUMNS = PREDICTION_COLUMNS + EVIDENCE_COLUMNS
#: The evidence columns that hold text; the others are numbers.
TEXT_EVIDENCE_COLUMNS = ["measured_references", *[f"nearest_{k}{part}" for k in range(1, N_NEAREST + 1)
                                                  for part in ("", "_reference")]]
#: The type of each typed output column in a file that keeps types (Parquet, :func:`mlsse.io.output_schema`).
OUTPUT_COLUMN_TYPES = {**{c: "float" for c in NUMERIC_PREDICTION_COLUMNS + EVIDENCE_COLUMNS},
                       **{c: "text" for c in TEXT_EVIDENCE_COLUMNS}, "in_domain": "bool"}


def empty_output(n: int, notes=None) -> pd.DataFrame:
    """Return an :data:`OUTPUT_COLUMNS` table of ``n`` rows not predicted (NaN, blank text), with ``notes``.

    Parameters
    ----------
    n : int
        Rows.
    notes : sequence of str, optional
        Each row's note; default blank.

    Returns
    -------
    pandas.DataFrame
        The table, RangeIndex.
    """
    out = pd.DataFrame({c: pd.Series([np.nan] * n, dtype=float) for c in NUMERIC_PREDICTION_COLUMNS})
    out["in_domain"] = pd.Series([pd.NA] * n, dtype="boolean")
    out["note"] = list(notes) if notes is not None else [""] * n
    for column in EVIDENCE_COLUMNS:
        out[column] = pd.Series([""] * n, dtype=object) if column in TEXT_EVIDENCE_COLUMNS else np.nan
    return out


@dataclass
class Predictor:
    """Fitted σ (log10 S/cm at 25 °C) and Ea (eV) regressors sharing one feature list and domain.

    Attributes
    ----------
    sigma_model : ConformalBoostedRegressor
        The log10 σ model (log10 S/cm at 25 °C); any model with ``predict``, ``contributions``,
        ``predict_with_probability_below`` and ``interval_half_width_`` will do.
    ea_model : ConformalBoostedRegressor
        The Ea model (eV).
    feature_names : list of str
        The feature columns both models read, in order (the Ea model may read one more: :meth:`input_names`).
    domain : ApplicabilityDomain
        The fitted applicability domain.
    domain_features : list of str
        The feature columns the domain reads, in order.
    metadata : dict
        Provenance, hyper-parameters and grouped-CV metrics (saved as ``metadata.json``).
    half_widths : dict or None
        Interval half-widths per target and domain class; None: each model's one width for all.
    measured : MeasuredCompositions or None
        The σ measured for each training composition; None when the model does not record it.
    """

    sigma_model: object          # ConformalBoostedRegressor-like: predict, contributions, interval_half_width_
    ea_model: object
    feature_names: list[str]
    domain: ApplicabilityDomain
    domain_features: list[str]
    metadata: dict = field(default_factory=dict)
    #: Interval half-widths per target and domain class, ``{"log10_sigma": {"in_domain": …, "out_of_domain": …},
    #: "ea_eV": {…}}`` (:func:`~mlsse.models.conformal.domain_half_widths`); None: each model's one width for all.
    half_widths: dict | None = None
    #: The σ measured for each training composition (None when the saved model does not record it).
    measured: MeasuredCompositions | None = None
    #: The ranking member (:class:`~mlsse.models.ranking.SeriesRanker`) that orders the members of a doping
    #: series, or None.
    ranker: object = None
    #: Whether the Ea model reads the σ model's log10 σ at 25 °C after the features
    #: (:data:`~mlsse.models.recipe.PREDICTED_LOG10_SIGMA`); False for models saved before it did.
    ea_reads_predicted_log10_sigma: bool = False

    def model(self, target="log10_sigma"):
        """Return the fitted regressor of a target.

        Parameters
        ----------
        target : Target or str, default "log10_sigma"
            A :class:`~mlsse.models.targets.Target` or its name.

        Returns
        -------
        ConformalBoostedRegressor
            The σ or the Ea model.

        Raises
        ------
        ValueError
            For an unknown target.
        """
        return self.sigma_model if Target.named(target) is Target.LOG10_SIGMA else self.ea_model

    def input_names(self, target="log10_sigma") -> list[str]:
        """Return the columns a target's model reads, in order: :attr:`feature_names`, and for an Ea model that
        reads it, the σ model's prediction (:data:`~mlsse.models.recipe.PREDICTED_LOG10_SIGMA`)."""
        if Target.named(target) is Target.EA and self.ea_reads_predicted_log10_sigma:
            return ea_feature_names(self.feature_names)
        return list(self.feature_names)

    def model_input(self, features: pd.DataFrame, target="log10_sigma", log10_sigma=None) -> np.ndarray:
        """Return the matrix a target's model reads (:meth:`input_names`) for a feature frame.

        Parameters
        ----------
        features : pandas.DataFrame
            Feature table whose columns include :attr:`feature_names`.
        target : Target or str, default "log10_sigma"
            A :class:`~mlsse.models.targets.Target` or its name.
        log10_sigma : array_like, optional
            The σ model's log10 σ at 25 °C for these rows (log10 S/cm) when already predicted, so that the σ
            members do not run twice for Ea.

        Returns
        -------
        numpy.ndarray
            One row per feature row.
        """
        X = features.reindex(columns=self.feature_names).to_numpy(dtype=float)
        if Target.named(target) is Target.EA and self.ea_reads_predicted_log10_sigma:
            return with_predicted_log10_sigma(X, self.sigma_model.predict(X) if log10_sigma is None else log10_sigma)
        return X

    def half_width(self, target, in_domain) -> np.ndarray:
        """Return the 80 % interval half-width of a target for each query, by its in-domain flag.

        Parameters
        ----------
        target : Target or str
            A :class:`~mlsse.models.targets.Target` or its name.
        in_domain : array_like of bool
            Each query's in-domain flag.

        Returns
        -------
        numpy.ndarray
            The half-widths, log10 S/cm or eV.

        Raises
        ------
        ValueError
            For an unknown target.
        """
        target = Target.named(target)
        in_domain = np.asarray(in_domain, dtype=bool)
        if self.half_widths is None:
            return np.full(len(in_domain), float(self.model(target).interval_half_width_))
        widths = self.half_widths[target.value]
        return np.where(in_domain, widths["in_domain"], widths["out_of_domain"])

    def relative_log10_sigma(self, features: pd.DataFrame, log10_sigma=None) -> np.ndarray:
        """Return the log10 σ (25 °C) by which members of one doping series compare with each other: the
        regressor's prediction plus ``metadata["ranking_weight"]`` times the ranking member's score (log10 S/cm;
        only differences between members mean something). Without a ranking member, the prediction itself.
        ``log10_sigma``: the regressor's 25 °C prediction for these rows when already made (:meth:`predict_features`
        without a temperature), so that the σ members do not run twice."""
        X = features.reindex(columns=self.feature_names).to_numpy(dtype=float)
        values = (self.sigma_model.predict(X) if log10_sigma is None
                  else np.asarray(log10_sigma, dtype=float))
        if self.ranker is not None:
            values = values + float(self.metadata.get("ranking_weight", 0.0)) * self.ranker.predict(X)
        return values

    def paired_half_width(self, target, distance) -> np.ndarray:
        """Return the 80 % interval half-width of a predicted difference of ``target`` between two members of one
        doping series, e.g. a candidate and its host (log10 S/cm or eV), for each composition distance between
        them (the fraction of atoms exchanged, :func:`~mlsse.models.series.composition_distance`): calibrated on
        held-out within-series differences, where a lab's offset cancels. A model saved without it uses its
        in-domain half-width."""
        target = Target.named(target)
        distance = np.atleast_1d(np.asarray(distance, dtype=float))
        widths = (self.metadata.get("paired_half_widths") or {}).get(target.value)
        if widths is None:
            return np.full(len(distance), float(self.half_width(target, [True])[0]))
        return half_width_at(widths, distance)

    # -- prediction -------------------------------------------------------------------------------------
    def predict(self, data, temperature_c=None, *, cache: bool = True, features: pd.DataFrame | None = None
                ) -> pd.DataFrame:
        """Predict log10 σ, σ, Ea, their 80 % intervals and the in-domain flag.

        Parameters
        ----------
        data : formula, pymatgen ``Composition``, a list of them, or a DataFrame
            A DataFrame has a ``composition`` column and may have curated structure and process columns
            (``space_group_number``, ``a``–``gamma``, ``cif``, ``additive``, ``additive_wt_pct``, ``synthesis``).
        temperature_c : None, float or array of float
            Where σ is wanted, °C: one value, one per row, or None for 25 °C.
        cache : bool, default True
            Use the on-disk feature caches (:func:`~mlsse.features.featurize_table`).
        features : pandas.DataFrame, optional
            ``data``'s features when already computed, with their ``error`` column
            (``featurize_table(data, errors="nan")``): two models compared on one table featurize it once.

        Returns
        -------
        pandas.DataFrame
            The :data:`OUTPUT_COLUMNS` (log10 σ in log10 S/cm, σ in S/cm, Ea in eV), one row per query, with
            ``data``'s index. A row whose composition or CIF cannot be featurized has empty predictions and the
            reason in ``note``. Queries are not checked further here: ``mlsse.predict`` checks them first.
        """
        frame = as_query_frame(data)
        if features is None:
            features = featurize_table(frame, errors="nan", cache=cache)
        problems = features["error"].to_numpy(dtype=object)
        features = features.drop(columns="error")
        ok = problems == ""
        temperature = (np.full(len(frame), np.nan) if temperature_c is None
                       else np.broadcast_to(np.asarray(temperature_c, dtype=float), (len(frame),)))
        out = empty_output(len(frame), problems)
        if ok.any():
            from pymatgen.core import Composition

            # A Composition is passed on as it is: the measured-value check reads it without parsing text again.
            compositions = [c if isinstance(c, Composition) else str(c) for c in frame["composition"][ok]]
            additives = frame["additive"][ok] if "additive" in frame else [None] * int(ok.sum())
            wt = frame["additive_wt_pct"][ok] if "additive_wt_pct" in frame else [None] * int(ok.sum())
            keys = [evidence_key(c, a, w) for c, a, w in zip(compositions, additives, wt)]
            predicted = self.predict_features(features[ok].reset_index(drop=True), temperature_c=temperature[ok],
                                              compositions=compositions, evidence_keys=keys)
            for column in PREDICTION_COLUMNS + EVIDENCE_COLUMNS[:5]:
                out.loc[ok, column] = predicted[column].to_numpy()
            if self.measured is not None:
                # Filled column by column: a .loc assignment per cell cost 13 s for 1,200 rows.
                rows = np.flatnonzero(ok)
                columns: dict[str, list] = {}
                for i, neighbours in zip(rows, self.measured.nearest(compositions)):
                    for k, (formula, value, _, references, distance) in enumerate(neighbours, start=1):
                        for suffix, cell in (("", formula), ("_log10_sigma", value), ("_reference", references),
                                             ("_distance", round(distance, 4))):
                            columns.setdefault(f"nearest_{k}{suffix}", []).append((i, cell))
                for column, cells in columns.items():
                    at, values = zip(*cells)
                    filled = out[column].to_numpy(copy=True)
                    filled[list(at)] = values
                    out[column] = filled
        out.index = frame.index
        return out

    def predict_features(self, features: pd.DataFrame, elements: list[set[str]] | None = None,
                         temperature_c=None, compositions=None, evidence_keys=None) -> pd.DataFrame:
        """Predict from a feature frame.

        Out-of-domain queries err more than in-domain ones, so they get their own, wider interval. σ at another
        temperature comes from σ at 25 °C and Ea through Arrhenius, its interval widened by the Ea interval.

        Parameters
        ----------
        features : pandas.DataFrame
            Feature table whose columns include ``feature_names``.
        elements : list of set of str, optional
            Each row's element symbols; default: read from the element-fraction columns.
        temperature_c : None, float or array_like, optional
            Where σ is wanted, °C: None (25 °C), a number, or one value per row (NaN: 25 °C).
        compositions : sequence of str or pymatgen.core.Composition, optional
            The rows' formulas; with them (and no ``evidence_keys``), a query whose composition was measured in
            training far from its prediction (outside the in-domain interval) is out of domain, and its note gives
            the measured value and the papers. A doping scan compares the model's predictions of its members, so
            it passes these.
        evidence_keys : sequence of str, optional
            The rows' :func:`~mlsse.models.evidence.evidence_key`; with them a composition measured in training is
            anchored to its measurements: log10 σ at 25 °C is their median over papers (σ at another temperature
            goes from there through Ea), its interval the measured one (the spread between papers, at least the
            model's ``measured`` half-width) and its note says so, and whether the papers disagree.

        Returns
        -------
        pandas.DataFrame
            The :data:`PREDICTION_COLUMNS` (log10 σ in log10 S/cm, σ in S/cm, Ea in eV) and the first five
            :data:`EVIDENCE_COLUMNS` (the measured ones blank without ``evidence_keys``), with ``features``' index.
        """
        if elements is None:
            elements = feature_elements(features)
        X = features.reindex(columns=self.feature_names).to_numpy(dtype=float)
        # One pass of the σ members and the censor classifier gives σ and the probability below detection.
        sigma_rt, p_below = self.sigma_model.predict_with_probability_below(X, DETECTION_LIMIT_LOG10_SIGMA)
        ea = self.ea_model.predict(self.model_input(features, "ea_eV", log10_sigma=sigma_rt))
        inside, reasons = self.domain.assess(features.reindex(columns=self.domain_features).to_numpy(dtype=float),
                                             elements)
        model_sigma = sigma_rt
        sigma_hw, ea_hw = self.half_width("log10_sigma", inside), self.half_width("ea_eV", inside)
        records = None
        if evidence_keys is not None and self.measured is not None:
            records = self.measured.records(evidence_keys)
            sigma_rt, known = anchored_log10_sigma(sigma_rt, records)
            censored = records["measured_censored"].eq(True).to_numpy()
            anchored = known & ~censored
            spread = records["measured_spread_log10"].to_numpy(dtype=float)
            measured_width = np.maximum(self.measured_half_width(), np.nan_to_num(spread) / 2.0)
            sigma_hw = np.where(anchored, measured_width, sigma_hw)
            from scipy.special import ndtr

            p_below = np.where(anchored, ndtr((DETECTION_LIMIT_LOG10_SIGMA - sigma_rt) / (measured_width / Z_80)),
                               np.where(censored, 1.0, p_below))
            for i in np.flatnonzero(anchored | censored):
                papers, references = int(records.at[i, "measured_papers"]), records.at[i, "measured_references"]
                if censored[i]:
                    note = (f"reported below {10 ** DETECTION_LIMIT_LOG10_SIGMA:.0e} S/cm at room temperature "
                            f"({references})")
                else:
                    note = (f"measured: {10 ** sigma_rt[i]:.2g} S/cm at room temperature, median of {papers} "
                            f"paper{'s' if papers > 1 else ''} ({references})")
                    if spread[i] > AGREEING_SPREAD_LOG10:
                        note += f"; the papers disagree by {spread[i]:.1f} decades"
                # Every element of a measured composition was seen in training, and it is its own nearest neighbour.
                inside[i], reasons[i] = True, note
        elif compositions is not None and self.measured is not None:
            contradicted = self.measured.disagreements(compositions, sigma_rt,
                                                       float(self.half_width("log10_sigma", [True])[0]),
                                                       DETECTION_LIMIT_LOG10_SIGMA, elements=elements)
            for i, note in enumerate(contradicted):
                if note:
                    inside[i] = False
                    reasons[i] = "; ".join(r for r in (reasons[i], note) if r)
            # Out-of-domain queries err more, so they get their own, wider interval.
            sigma_hw, ea_hw = self.half_width("log10_sigma", inside), self.half_width("ea_eV", inside)
        out = pd.DataFrame(index=features.index)
        if temperature_c is None:
            temperature = np.full(len(X), ROOM_TEMPERATURE_C)
        else:
            temperature = np.broadcast_to(np.asarray(temperature_c, dtype=float), (len(X),)).copy()
            temperature = np.where(np.isnan(temperature), ROOM_TEMPERATURE_C, temperature)
        log10_sigma = log10_sigma_at(sigma_rt, ea, temperature)
        extra = temperature_half_width_extra(ea_hw, temperature)
        low, high = log10_sigma - sigma_hw - extra, log10_sigma + sigma_hw + extra
        # Below detection is likely enough to lie inside the interval: its lower end reaches the censored label.
        floor = log10_sigma_at(np.full(len(X), CENSORED_LOG10_SIGMA), ea, temperature) - extra
        low = np.where(p_below >= (1.0 - self.sigma_model.coverage) / 2.0, np.minimum(low, floor), low)
        if records is not None:  # reported only below detection: at most the detection limit
            high = np.where(censored, log10_sigma_at(np.full(len(X), DETECTION_LIMIT_LOG10_SIGMA), ea, temperature)
                            + extra, high)
        out["log10_sigma"] = log10_sigma
        out["log10_sigma_lo"] = low
        out["log10_sigma_hi"] = high
        out["sigma_S_cm"] = 10.0 ** log10_sigma
        out["sigma_lo_S_cm"] = 10.0 ** low
        out["sigma_hi_S_cm"] = 10.0 ** high
        out["ea_eV"] = ea
        out["ea_lo"] = np.maximum(ea - ea_hw, 0.0)  # an activation energy is positive (wide out-of-domain widths)
        out["ea_hi"] = ea + ea_hw
        # From the same mixture as the σ prediction, so a σ₂₅ predicted below the limit reads as likelier than not.
        out["p_sigma_below_detection"] = p_below
        out["in_domain"] = inside
        out["note"] = reasons
        out["model_log10_sigma"] = model_sigma
        for column in EVIDENCE_COLUMNS[1:5]:
            out[column] = (records[column].to_numpy() if records is not None
                           else ("" if column == "measured_references" else np.nan))
        return out

    def measured_half_width(self) -> float:
        """Return the 80 % half-width of log10 σ (S/cm) for a composition measured in training: calibrated on how
        far one paper's measurement is from the other papers' median; a model saved without it uses its in-domain
        half-width."""
        widths = (self.half_widths or {}).get("log10_sigma", {})
        return float(widths.get("measured", self.half_width("log10_sigma", [True])[0]))

    def explain(self, data, target="log10_sigma") -> pd.DataFrame:
        """Return the SHAP contributions (XGBoost's exact TreeSHAP) of each feature to each query's prediction.

        Parameters
        ----------
        data : formula, pymatgen ``Composition``, a list of them, or a DataFrame
            As :meth:`predict`.
        target : Target or str, default "log10_sigma"
            A :class:`~mlsse.models.targets.Target` or its name.

        Returns
        -------
        pandas.DataFrame
            One column per feature, then ``bias``, in the target's unit
            (:attr:`~mlsse.models.targets.Target.unit`); each row sums to the prediction at 25 °C. ``data``'s
            index.

        Raises
        ------
        DataError
            If a composition cannot be featurized (a CIF that cannot be read only leaves its structure features
            NaN).
        ValueError
            For an unknown target.
        """
        frame = as_query_frame(data)
        return self.explain_features(featurize_table(frame), target).set_axis(frame.index)

    def explain_features(self, features: pd.DataFrame, target="log10_sigma") -> pd.DataFrame:
        """Return :meth:`explain`'s contributions for a feature frame.

        Parameters
        ----------
        features : pandas.DataFrame
            Feature table whose columns include ``feature_names``.
        target : Target or str, default "log10_sigma"
            A :class:`~mlsse.models.targets.Target` or its name.

        Returns
        -------
        pandas.DataFrame
            One column per input of the target's model (:meth:`input_names`), then ``bias``, in the target's unit,
            with ``features``' index.
        """
        values = self.model(target).contributions(self.model_input(features, target))
        return pd.DataFrame(values, columns=[*self.input_names(target), "bias"], index=features.index)

    def top_contributions(self, formulas, k: int = 3, target="log10_sigma", *,
                          features: pd.DataFrame | None = None) -> list[list[tuple[str, float, float]]]:
        """Return, for each formula, the features with the largest |SHAP contribution| to a target.

        The contents of elements the composition does not have ("O atoms per formula unit = 0": it is a chloride)
        are one reason, ``"O, Se content"`` with value 0 and the summed contribution of every absent element, placed
        after what the composition has (which is largest first).

        Parameters
        ----------
        formulas : iterable of str, or pandas.DataFrame
            The formulas, or a query frame with a ``composition`` column (and ``additive``,
            ``additive_wt_pct`` for composites).
        k : int, default 3
            Reasons per formula.
        target : Target or str, default "log10_sigma"
            A :class:`~mlsse.models.targets.Target` or its name.
        features : pandas.DataFrame, optional
            The formulas' features when already computed (:class:`mlsse.query.RowPredictions`), one row each.

        Returns
        -------
        list of list of (str, float, float)
            Per formula, ``(readable name, the formula's feature value, contribution)``; the value says why, e.g.
            a space group that is unknown (NaN). Contributions are in the target's unit.
        """
        if features is None:
            query = formulas if isinstance(formulas, pd.DataFrame) else pd.DataFrame({"composition": list(formulas)})
            features = featurize_table(query)
        names = self.input_names(target)
        X = self.model_input(features, target)  # once: for Ea it runs the σ members
        contributions = pd.DataFrame(self.model(target).contributions(X)[:, :-1], columns=names, index=features.index)
        features = pd.DataFrame(X, columns=names, index=features.index)
        ranked = []
        for (_, row), (_, values) in zip(contributions.iterrows(), features.iterrows()):
            present: list[tuple[str, float, float]] = []
            absent: dict[str, float] = {}
            for name in names:
                element = absent_element(name, values[name])
                if element is not None:
                    absent[element] = absent.get(element, 0.0) + float(row[name])
                else:
                    present.append((readable_name(name), float(values[name]), float(row[name])))
            # The absent elements make one reason, "it has no O or S": their summed contribution (SHAP values
            # add), named by the three that weigh most.
            named = sorted((e for e in absent if abs(absent[e]) > 1e-9), key=lambda e: -abs(absent[e]))
            absence = ((f"{', '.join(named[:3])}{' …' if len(named) > 3 else ''} content", 0.0,
                        float(sum(absent.values()))) if named else None)
            top = sorted(present + ([absence] if absence else []), key=lambda reason: -abs(reason[2]))[:k]
            ranked.append([r for r in top if r is not absence] + [r for r in top if r is absence])
        return ranked


def feature_elements(features: pd.DataFrame) -> list[set[str]]:
    """Return each row's element symbols, read from the element-fraction columns of a feature frame.

    Parameters
    ----------
    features : pandas.DataFrame
        Feature table.

    Returns
    -------
    list of set of str
        Per row, the elements with a positive fraction.
    """
    present = features.reindex(columns=ELEMENT_FRACTION_LABELS).fillna(0.0).to_numpy() > 0
    symbols = np.array(ELEMENT_FRACTION_LABELS)
    return [set(symbols[row]) for row in present]
