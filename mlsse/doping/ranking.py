"""Ranking a list of candidates a chemist already has, per group, as a doping scan ranks its candidates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlsse.data.schema import as_query_frame
from mlsse.doping.scanning import probability_beats_host
from mlsse.doping.substitution import DopingError
from mlsse.models.series import atom_fractions, fraction_distance
from mlsse.query import predict_query
from mlsse.workspace.registry import load_predictor

#: Columns :func:`rank` adds after the prediction columns, in order.
RANK_COLUMNS = ["group", "reference", "rank_score", "rank", "delta_log10_sigma", "delta_log10_sigma_lo",
                "delta_log10_sigma_hi", "delta_ea_eV", "delta_ea_lo", "delta_ea_hi", "p_beats_reference",
                "versus_reference", "tied_with_best"]


def rank(data, group: str | None = None, reference: str | None = None, model=None) -> pd.DataFrame:
    """Rank candidates within each group by predicted σ, as ``mlsse dope`` ranks a scan, against a reference.

    The order is the σ model's own log10 σ at 25 °C plus the ranking member's say (the learning-to-rank member
    trained on the order of doping series), so only differences within a group mean something; the change
    versus the group's reference gets the paired 80 % interval of a difference within a doping series (narrower
    for candidates close to the reference, since a lab's offset cancels).

    Parameters
    ----------
    data : pandas.DataFrame, list of str or str
        The candidates: a ``composition`` column and any columns ``mlsse.predict`` reads (``additive``,
        ``additive_wt_pct``, structure, ``temperature_C``); other columns are kept.
    group : str, optional
        Column whose values split the candidates into groups ranked apart (default: one group of all rows).
    reference : str, optional
        A column of ``data`` marking each group's reference row (true, yes, 1 or x), or a formula to compare
        every group with. Default: each group's first row that can be predicted.
    model : str or pathlib.Path, optional
        Model directory; default the active model.

    Returns
    -------
    pandas.DataFrame
        ``data``'s columns and the prediction columns of ``mlsse.predict`` (absolute σ, Ea, intervals,
        measured evidence), then :data:`RANK_COLUMNS`: ``group``; ``reference`` (its composition);
        ``rank_score`` (log10 S/cm at 25 °C; only differences within a group mean something); ``rank`` (1 =
        best in its group); ``delta_log10_sigma`` (``rank_score`` minus the reference's) with its paired 80 %
        interval; ``delta_ea_eV`` (eV) with its interval; ``p_beats_reference``; ``versus_reference``
        (``higher σ``, ``lower σ``, ``cannot tell`` or ``reference``); ``tied_with_best`` (the model cannot
        tell the row from its group's best). Rows that cannot be predicted keep empty scores and their ``note``.
        Sorted by group (in order of first appearance) and rank.

    Raises
    ------
    DopingError
        If ``group`` names no column, the reference column marks not exactly one row in a group, or a reference
        formula cannot be predicted.
    DataError
        For a query ``mlsse.predict`` refuses.
    """
    query = as_query_frame(data).reset_index(drop=True)
    if group is not None and group not in query.columns:
        raise DopingError(f"--group {group!r} names no column; found {list(query.columns)}", field="group")
    groups = np.array([str(g) for g in (query[group] if group is not None else ["all"] * len(query))], dtype=object)
    reference_column = reference if reference is not None and reference in query.columns else None
    reference_formula = reference if reference is not None and reference_column is None else None
    extra = None
    if reference_formula is not None:
        extra = len(query)
        query = pd.concat([query, pd.DataFrame({"composition": [reference_formula]})], ignore_index=True)
    predictor = load_predictor(model)
    predicted = predict_query(predictor, query)
    out, features = predicted.table, predicted.features
    if reference_formula is not None and np.isnan(out.at[extra, "log10_sigma"]):
        raise DopingError(f"--reference {reference_formula!r}: {out.at[extra, 'note']}", field="reference")
    members = query.reindex(columns=["composition", "additive", "additive_wt_pct"])
    # A row predict refused (a bad temperature, space group or CIF) has no score even if its formula featurizes.
    ok = features["error"].eq("").to_numpy() & out["log10_sigma"].notna().to_numpy()
    score = np.full(len(query), np.nan)
    if ok.any():
        score[ok] = predictor.relative_log10_sigma(features.drop(columns="error")[ok],
                                                   out["model_log10_sigma"].to_numpy(dtype=float)[ok])
    ok &= np.isfinite(score)
    fractions = [atom_fractions(c, a if isinstance(a, str) else "", 0.0 if pd.isna(w) else float(w))
                 if good else None for c, a, w, good in zip(members["composition"], members["additive"].fillna(""),
                                                            members["additive_wt_pct"], ok)]
    ranked = pd.DataFrame(index=query.index, columns=RANK_COLUMNS, dtype=object)
    n = len(groups)
    for name in dict.fromkeys(groups):
        rows = np.flatnonzero(groups == name)
        if extra is None and reference_column is None:
            # The default reference is the group's first row that has a prediction; a group with none is not ranked.
            if not ok[rows].any():
                ranked.loc[rows, ["group", "reference", "versus_reference", "tied_with_best"]] = [name, "", "", False]
                continue
            ref = int(rows[np.flatnonzero(ok[rows])[0]])
        else:
            ref = extra if extra is not None else _reference_row(query, rows, reference_column, name)
        if not ok[ref]:
            raise DopingError(f"the reference {query.at[ref, 'composition']!r} of group {name!r} cannot be "
                              f"predicted: {out.at[ref, 'note']}", field="reference")
        distance = np.array([fraction_distance(fractions[i], fractions[ref]) if ok[i] else np.nan for i in rows])
        sigma_width = predictor.paired_half_width("log10_sigma", np.nan_to_num(distance))
        ea_width = predictor.paired_half_width("ea_eV", np.nan_to_num(distance))
        delta = score[rows] - score[ref]
        delta_ea = out["ea_eV"].to_numpy(dtype=float)[rows] - out.at[ref, "ea_eV"]
        is_ref = (rows == ref) | (distance == 0)  # the reference itself, or a row of the same composition
        order = pd.Series(score[rows]).rank(ascending=False, method="min").to_numpy()
        best = rows[np.nanargmax(np.where(ok[rows], score[rows], -np.inf))] if ok[rows].any() else None
        best_width = (predictor.paired_half_width("log10_sigma", [fraction_distance(fractions[i], fractions[best])
                                                                  if ok[i] else 0.0 for i in rows])
                      if best is not None else np.zeros(len(rows)))
        with np.errstate(invalid="ignore"):
            tied = (score[best] - score[rows] < best_width) & (rows != best) if best is not None else rows < 0
        ranked.loc[rows, "group"] = name
        ranked.loc[rows, "reference"] = query.at[ref, "composition"]
        ranked.loc[rows, "rank_score"] = score[rows]
        ranked.loc[rows, "rank"] = order
        ranked.loc[rows, "delta_log10_sigma"] = np.where(is_ref, 0.0, delta)
        ranked.loc[rows, "delta_log10_sigma_lo"] = np.where(is_ref, 0.0, delta - sigma_width)
        ranked.loc[rows, "delta_log10_sigma_hi"] = np.where(is_ref, 0.0, delta + sigma_width)
        ranked.loc[rows, "delta_ea_eV"] = np.where(is_ref, 0.0, delta_ea)
        ranked.loc[rows, "delta_ea_lo"] = np.where(is_ref, 0.0, delta_ea - ea_width)
        ranked.loc[rows, "delta_ea_hi"] = np.where(is_ref, 0.0, delta_ea + ea_width)
        ranked.loc[rows, "p_beats_reference"] = np.where(is_ref, np.nan, probability_beats_host(delta, sigma_width))
        verdict = np.where(delta - sigma_width > 0, "higher σ", np.where(delta + sigma_width < 0, "lower σ",
                                                                        "cannot tell"))
        ranked.loc[rows, "versus_reference"] = np.where(is_ref & ok[rows], "reference",
                                                        np.where(ok[rows], verdict, ""))
        ranked.loc[rows, "tied_with_best"] = np.where(ok[rows], tied, False)
    result = pd.concat([out, ranked], axis=1).iloc[:n] if extra is not None else pd.concat([out, ranked], axis=1)
    for column in RANK_COLUMNS:
        if column not in ("group", "reference", "versus_reference"):
            result[column] = pd.to_numeric(result[column], errors="coerce")
    result["rank"] = result["rank"].astype("Int64")
    result["tied_with_best"] = result["tied_with_best"].fillna(False).astype(bool)
    first_seen = {name: i for i, name in enumerate(dict.fromkeys(groups))}
    order = np.lexsort((result["rank"].fillna(n + 1).to_numpy(dtype=float),
                        result["group"].map(first_seen).to_numpy(dtype=float)))
    return result.iloc[order]


def _reference_row(query: pd.DataFrame, rows: np.ndarray, column: str | None, group: str) -> int:
    """The reference row of one group: the row its reference column marks, or the group's first row."""
    if column is None:
        return int(rows[0])
    marked = query[column].iloc[rows].astype(str).str.strip().str.lower().isin(["true", "yes", "1", "x", "1.0"])
    if marked.sum() != 1:
        raise DopingError(f"--reference column {column!r} marks {int(marked.sum())} rows of group {group!r}: "
                          "mark exactly one (true, yes, 1 or x)", field="reference")
    return int(rows[np.flatnonzero(marked.to_numpy())[0]])
