"""Process and composite descriptors from the free-text and additive columns of a curated row."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from matminer.featurizers.base import BaseFeaturizer

from mlsse.data.schema import cell_text
from mlsse.features.composition import parsed_composition
from mlsse.features.elements import element_tables
from mlsse.features.featurizers import IMPLEMENTORS, WARD_2016
from mlsse.features.preset import MAGPIE_PROPERTIES
from mlsse.features.rows import per_distinct_row

_ROUTES: dict[str, re.Pattern] = {
    "route: ball milling": re.compile(
        r"ball[- ]?mill|mechanical(ly)?[- ]mill|mechano-?chemi|high[- ]energy mill|planetary mill|\bmill(ed|ing)\b",
        re.I),
    "route: solid-state reaction": re.compile(
        r"solid[- ]state|sinter|calcin|hot[- ]press|spark[- ]plasma|\bSPS\b|anneal|heat[- ]treat", re.I),
    "route: melt quench / glass": re.compile(r"melt[- ]?quench|quench|splat|twin[- ]roll|\bglass", re.I),
    "route: thin-film deposition": re.compile(
        r"sputter|pulsed[- ]laser|\bPLD\b|atomic[- ]layer|\bALD\b|vapou?r deposition|\b[CP]VD\b|thin[- ]film"
        r"|evaporat|e-beam", re.I),
    "route: wet chemistry": re.compile(
        r"sol[- ]gel|solution|wet[- ]chem|co-?precipitat|hydrothermal|solvothermal|pechini|liquid[- ]phase|citrate",
        re.I),
}
_AMORPHOUS = re.compile(r"amorphous|glass(?![- ]?ceramic)|vitreous", re.I)
_CRYSTALLINE = re.compile(r"crystalline|single[- ]crystal|polycrystal|glass[- ]?ceramic|\bsinter", re.I)
_THIN_FILM = re.compile(r"thin[- ]film|sputter|pulsed[- ]laser|\bPLD\b|\bALD\b|vapou?r deposition", re.I)
_BULK = re.compile(r"pellet|powder|single[- ]crystal|\bbulk\b|sinter|ceramic", re.I)
_GLASS_FAMILY = re.compile(r"glass", re.I)
PROCESS_LABELS: list[str] = (
    ["additive wt%", "has additive", "additive mean electronegativity (Pauling)"]
    + list(_ROUTES) + ["amorphous/glass", "thin film"]
)
#: The curated columns :class:`CompositeProcessFeaturizer` reads, in its argument order.
PROCESS_COLUMNS: list[str] = ["additive", "additive_wt_pct", "synthesis", "note", "family"]


def _number(value: Any) -> float:
    """A cell's number; NaN for a blank cell or a text that is not one (queries are checked before)."""
    text = cell_text(value)
    try:
        return float(text) if text else math.nan
    except ValueError:
        return math.nan


class CompositeProcessFeaturizer(BaseFeaturizer):
    """Process and composite descriptors from the free-text and additive columns of a curated row.

    Reads (arguments in this order, i.e. ``featurize_dataframe(df, PROCESS_COLUMNS)``):

    - ``additive`` (a formula such as ``BaTiO3``) and ``additive_wt_pct``: ``additive wt%`` as given;
      ``has additive`` = 1 if wt% > 0 (or an additive is named without wt%), 0 if wt% = 0, NaN if neither is given;
      ``additive mean electronegativity (Pauling)`` = fraction-weighted Magpie electronegativity of the additive's
      formula when it is present (NaN if absent or not a formula).
    - ``synthesis``: the five ``route: ...`` flags, each 1/0 by keyword (ball/mechanical milling; solid-state,
      sintering, calcination, hot pressing, annealing; melt quench or glass; sputtering, PLD, ALD, vapour
      deposition, thin film; sol-gel, solution, co-precipitation, hydrothermal). All NaN when ``synthesis`` is
      empty, except that a ``family`` naming a glass sets the glass route to 1.
    - ``synthesis`` + ``note`` + ``family`` (the seed table's structure description is the first part of ``note``):
      ``amorphous/glass`` = 1 when the text says amorphous/glass/vitreous, 0 when it says crystalline, single
      crystal, polycrystalline, glass-ceramic or sintered, 0.5 when it says both (partly amorphous), NaN when
      neither; ``thin film`` = 1 for thin film/sputtering/PLD/ALD/vapour deposition, 0 for pellet/powder/single
      crystal/bulk/sintered/ceramic, NaN otherwise.

    Keyword rules are coarse and documented here on purpose; unknown stays NaN (XGBoost routes NaN itself).
    The featurizer has no parameters.
    """

    def __init__(self):
        pass

    def featurize(self, additive: Any = "", additive_wt_pct: Any = math.nan, synthesis: Any = "", note: Any = "",
                  family: Any = "") -> list[float]:
        """Return the process features of one row (see the class documentation).

        Parameters
        ----------
        additive : str, optional
            The additive's formula.
        additive_wt_pct : float or str, optional
            Its share, wt%.
        synthesis : str, optional
            Free text on how the material was made.
        note : str, optional
            Free text (the seed table's structure description comes first).
        family : str, optional
            The structural family.

        Returns
        -------
        list of float
            The features, in :data:`PROCESS_LABELS` order.
        """
        additive, synthesis, note, family = (cell_text(additive), cell_text(synthesis), cell_text(note),
                                             cell_text(family))
        wt = _number(additive_wt_pct)
        if not math.isnan(wt):
            has = 1.0 if wt > 0 else 0.0
        else:
            has = 1.0 if additive else math.nan
        electronegativity = _additive_electronegativity(additive) if has == 1.0 else math.nan
        glass_family = bool(_GLASS_FAMILY.search(family)) and not re.search(r"ceramic", family, re.I)
        routes = []
        for name, pattern in _ROUTES.items():
            if synthesis:
                flag = 1.0 if pattern.search(synthesis) else 0.0
            else:
                flag = math.nan
            if name == "route: melt quench / glass" and _GLASS_FAMILY.search(family):
                flag = 1.0
            routes.append(flag)
        text = " ; ".join(t for t in (synthesis, note, family) if t)
        amorphous, crystalline = bool(_AMORPHOUS.search(text)), bool(_CRYSTALLINE.search(text))
        if glass_family:
            amorphous = True
        amorphous_flag = 0.5 if amorphous and crystalline else 1.0 if amorphous else 0.0 if crystalline else math.nan
        film = 1.0 if _THIN_FILM.search(text) else 0.0 if _BULK.search(text) else math.nan
        return [wt, has, electronegativity, *routes, amorphous_flag, film]

    def feature_labels(self) -> list[str]:
        """Return the feature labels, in order."""
        return list(PROCESS_LABELS)

    def citations(self) -> list[str]:
        """Return the BibTeX entry of the Magpie electronegativities (Ward et al. 2016)."""
        return [WARD_2016]

    def implementors(self) -> list[str]:
        """Return who implemented this featurizer."""
        return list(IMPLEMENTORS)


@lru_cache(maxsize=1024)
def _additive_electronegativity(additive: str) -> float:
    try:
        entry = parsed_composition(additive)
    except ValueError:
        return math.nan
    values = element_tables().magpie[entry.zs, MAGPIE_PROPERTIES.index("Electronegativity")]
    return float(np.average(values, weights=entry.amounts))


def featurize_process_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the process block for every row of a frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with the curated :data:`PROCESS_COLUMNS`; missing columns count as empty.

    Returns
    -------
    pandas.DataFrame
        One row per row of ``frame`` (RangeIndex), columns :data:`PROCESS_LABELS`.
    """
    columns = [frame[c].tolist() if c in frame.columns else [""] * len(frame) for c in PROCESS_COLUMNS]
    values = per_distinct_row(CompositeProcessFeaturizer().featurize, columns, len(PROCESS_LABELS))
    return pd.DataFrame(values, columns=PROCESS_LABELS)


__all__ = ["CompositeProcessFeaturizer", "PROCESS_COLUMNS", "PROCESS_LABELS", "featurize_process_frame"]
