"""Which curated rows train which model, with what label and which group (paper)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from mlsse.data.schema import ROOM_TEMPERATURE_C

#: log10 σ given to censored ("<1E-10") rows, OBELiX's convention. The public benchmarks score censored
#: entries at 1e-15, so the σ model predicts this value for a likely-censored material: a classifier learns
#: which rows carry it (``ConformalBoostedRegressor(censored_value=...)``) and the regressors never see them.
CENSORED_LOG10_SIGMA = -15.0
#: log10 σ (S/cm) of the detection limit those censored entries are reported below ("<1E-10").
DETECTION_LIMIT_LOG10_SIGMA = -10.0
#: Arrhenius-fit Ea labels are used only from fits at least this good.
MIN_ARRHENIUS_R2 = 0.9
#: Physically plausible Ea labels, eV.
EA_RANGE_EV = (0.05, 2.0)


_DOI = re.compile(r"10\.\d{4,9}/[^\s;,]+")
#: Supporting-information DOIs (``10.1021/acs.chemmater.7b05139.s006``) name a file of the paper they extend.
_SUPPORTING_INFO_SUFFIX = re.compile(r"\.s\d{3}$")


def reference_keys(reference: str) -> list[str]:
    """Return the paper keys a reference names: its DOIs (lower case, without a supporting-information
    ``.sNNN`` suffix), else the seed file for rows transcribed from ``../shared/seeds/`` (``003_x.txt Table 2``
    → ``003_x.txt``), else the whole reference in lower case."""
    reference = str(reference).strip()
    dois = [_SUPPORTING_INFO_SUFFIX.sub("", doi.lower().rstrip(".")) for doi in _DOI.findall(reference)]
    if dois:
        return list(dict.fromkeys(dois))
    first_word = reference.split(" ", 1)[0]
    if first_word.endswith(".txt"):
        return [first_word]
    return [reference.lower() or "unknown"]


def paper_group_map(references) -> dict[str, str]:
    """Map each reference to its paper group, so one paper never lands on both sides of a split.

    References that share any key (:func:`reference_keys`) are one group, also through chains (``A; B`` joins
    ``A`` and ``B``); the group is named by its alphabetically first key, so the same references always give the
    same names. Build the map over every table whose rows meet in one split.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    unique = sorted(set(map(str, references)))
    keys_of = {reference: reference_keys(reference) for reference in unique}
    keys = sorted({key for ks in keys_of.values() for key in ks})
    index = {key: i for i, key in enumerate(keys)}
    # Each reference links its first key to the others; a component is a set of keys naming one paper.
    edges = [(index[ks[0]], index[k]) for ks in keys_of.values() for k in ks]
    rows, cols = zip(*edges) if edges else ((), ())
    _, label = connected_components(coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(len(keys),) * 2),
                                    directed=False)
    name = {}
    for key, component in zip(keys, label):
        name.setdefault(component, key)  # keys are sorted, so the first seen is the smallest
    return {reference: name[label[index[ks[0]]]] for reference, ks in keys_of.items()}


def sigma_training_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows labelling room-temperature log10 σ (15–35 °C): measured σ > 0, censored rows at 1e-15.

    Adds ``target`` (log10 S/cm) and ``group`` (paper, grouped over the whole ``table``) columns.
    """
    lo, hi = ROOM_TEMPERATURE_C
    rows = table[table["sigma_S_cm"].gt(0) & table["temperature_C"].between(lo, hi)].copy()
    rows["target"] = np.where(rows["censored"], CENSORED_LOG10_SIGMA, np.log10(rows["sigma_S_cm"]))
    rows["group"] = rows["reference"].astype(str).map(paper_group_map(table["reference"]))
    return rows.reset_index(drop=True)


def sigma_temperature_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows with a measured σ away from room temperature (outside 15–35 °C): they test σ(T), which the models
    predict from σ at 25 °C and Ea, and train nothing.

    Adds ``target`` (log10 S/cm at the row's ``temperature_C``) and ``group`` (paper) columns.
    """
    lo, hi = ROOM_TEMPERATURE_C
    temperature = table["temperature_C"]
    rows = table[table["sigma_S_cm"].gt(0) & ~table["censored"].astype(bool) & temperature.notna()
                 & ~temperature.between(lo, hi)].copy()
    rows["target"] = np.log10(rows["sigma_S_cm"].astype(float))
    rows["group"] = rows["reference"].astype(str).map(paper_group_map(table["reference"]))
    return rows.reset_index(drop=True)


def ea_training_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows labelling Ea (eV): reported values and Arrhenius fits with R² ≥ 0.9, within 0.05–2 eV.

    Adds ``target`` (eV) and ``group`` (paper, grouped over the whole ``table``) columns.
    """
    lo, hi = EA_RANGE_EV
    good_fit = table["value_origin"].ne("arrhenius-fit") | table["arrhenius_r2"].ge(MIN_ARRHENIUS_R2)
    rows = table[table["ea_eV"].between(lo, hi) & good_fit].copy()
    rows["target"] = rows["ea_eV"].astype(float)
    rows["group"] = rows["reference"].astype(str).map(paper_group_map(table["reference"]))
    return rows.reset_index(drop=True)
