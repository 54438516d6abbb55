"""What the training data holds of a query: the measurements of its very composition and its nearest measured
neighbours, and the measured value a prediction of a known composition is anchored to."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlsse.chemistry import composition_key
from mlsse.data.references import reference_label
from mlsse.models.conformal import conformal_quantile
from mlsse.models.metrics import repeat_measurement_deviation

#: Measurements of one composition agree when their papers' medians lie within this many decades of each other.
AGREEING_SPREAD_LOG10 = 1.0
#: How many training compositions are named as the nearest to a query.
N_NEAREST = 3
#: The standard normal's 90 % quantile: an 80 % interval's half-width over it is a normal spread.
Z_80 = 1.2815515655446004


def evidence_key(composition, additive=None, additive_wt_pct=None) -> str:
    """Return the key a composition is measured under: equal up to scaling, a composite's additive and wt% after it.

    Parameters
    ----------
    composition : str or pymatgen.core.Composition
        The formula.
    additive : str, optional
        A composite's additive formula (blank or NaN: none).
    additive_wt_pct : float, optional
        Its weight per cent.

    Returns
    -------
    str
        :func:`mlsse.chemistry.composition_key`, with ``" + <wt> wt% <additive>"`` for a composite.

    Raises
    ------
    ValueError
        If the formula cannot be parsed.
    """
    key = composition_key(composition)
    if isinstance(additive, str) and additive.strip():
        wt = pd.to_numeric(additive_wt_pct, errors="coerce")
        key += f" + {float(wt):g} wt% {additive.strip()}" if not pd.isna(wt) else f" + {additive.strip()}"
    return key


class MeasuredCompositions:
    """The room-temperature log10 σ measured for each training composition, and its nearest neighbours.

    Parameters
    ----------
    values : dict, optional
        As the attribute; default empty.

    Attributes
    ----------
    values : dict
        An :func:`evidence_key` → ``[log10 σ, censored, references, papers, spread, formula]``: the median over
        papers of each paper's median (log10 S/cm), whether every paper reported it only as below detection
        ("<1E-10"), up to three of the papers ("; "-separated), how many papers measured it, the range of the
        papers' medians (decades) and a formula as written in the data. Records of an older model hold only the
        first three entries.
    """

    def __init__(self, values: dict | None = None):
        self.values = dict(values or {})

    @classmethod
    def from_rows(cls, compositions, log10_sigma, censored, papers, additives=None,
                  additive_wt_pct=None, keys=None) -> "MeasuredCompositions":
        """Summarise training rows per composition (and composite additive).

        Parameters
        ----------
        compositions : sequence of str
            Formulas.
        log10_sigma : array_like
            Their log10 σ labels, log10 S/cm.
        censored : array_like of bool
            Whether each label is censored.
        papers : sequence
            Each row's paper.
        additives, additive_wt_pct : sequence, optional
            Each row's composite additive and its wt%.
        keys : sequence of str, optional
            Each row's :func:`evidence_key` when already computed (then ``additives`` are not read).

        Returns
        -------
        MeasuredCompositions
            The summary.
        """
        n = len(compositions)
        additives = [None] * n if additives is None else list(additives)
        additive_wt_pct = [None] * n if additive_wt_pct is None else list(additive_wt_pct)
        if keys is None:
            keys = [evidence_key(c, a, w) for c, a, w in zip(compositions, additives, additive_wt_pct)]
        frame = pd.DataFrame({"key": list(keys),
                              "formula": [str(c) for c in compositions],
                              "value": np.asarray(log10_sigma, dtype=float),
                              "censored": np.asarray(censored, dtype=bool), "paper": [str(p) for p in papers]})
        per_paper = frame.groupby(["key", "paper"], sort=True).agg(
            value=("value", "median"), censored=("censored", "all"), formula=("formula", "first")).reset_index()
        values = {}
        for key, group in per_paper.groupby("key", sort=True):
            papers_of = group["paper"].tolist()
            measured = group.loc[~group["censored"], "value"]
            # A material measured by some papers and reported below detection by others: the measurements count.
            value = float(measured.median()) if len(measured) else float(group["value"].median())
            spread = float(measured.max() - measured.min()) if len(measured) else 0.0
            values[key] = [value, bool(group["censored"].all()),
                           "; ".join(papers_of[:3]) + (f" and {len(papers_of) - 3} more" if len(papers_of) > 3 else ""),
                           int(len(group)), spread, str(group["formula"].iloc[0])]
        return cls(values)

    def _element_sets(self) -> set[frozenset]:
        """The element sets of the measured compositions (their keys parsed once, by pymatgen)."""
        if getattr(self, "_sets_of", None) is not self.values:
            from pymatgen.core import Composition

            # A composite's key carries its additive after " + ": the host's formula is before it.
            self._sets = {frozenset(el.symbol for el in Composition(key.split(" + ")[0]).elements)
                          for key in self.values}
            self._sets_of = self.values
        return self._sets

    def disagreements(self, compositions, predicted_log10_sigma, tolerance: float,
                      detection_limit: float, elements=None) -> list[str]:
        """Return, per query, why its predicted log10 σ at 25 °C contradicts what was measured for it.

        Parameters
        ----------
        compositions : sequence of str or pymatgen.core.Composition
            The queries' formulas.
        predicted_log10_sigma : array_like
            Their predicted log10 σ at 25 °C, log10 S/cm.
        tolerance : float
            Largest difference that is no contradiction, log10 S/cm.
        detection_limit : float
            log10 σ (S/cm) below which censored materials were reported.
        elements : sequence of set of str, optional
            Each query's element symbols; with them a query whose elements no measured composition has is passed
            over without computing its key (a large screen is mostly such queries).

        Returns
        -------
        list of str
            Per query, the measured value, the papers and the gap when the prediction is farther than
            ``tolerance`` from the measured value (or above ``detection_limit`` + ``tolerance`` for a material
            reported only below detection); ``""`` when it is not, or the composition was never measured.
        """
        notes = []
        element_sets = self._element_sets() if elements is not None and len(compositions) > 64 else None
        for i, (formula, predicted) in enumerate(zip(compositions, np.asarray(predicted_log10_sigma, dtype=float))):
            if element_sets is not None and frozenset(elements[i]) not in element_sets:
                notes.append("")
                continue
            try:
                measured = self.values.get(composition_key(formula))
            except ValueError:
                measured = None
            if measured is None or np.isnan(predicted):
                notes.append("")
                continue
            value, censored, papers = measured[0], measured[1], reference_label(measured[2])
            if censored:
                notes.append(f"reported below {10 ** detection_limit:.0e} S/cm at room temperature ({papers}), "
                             f"predicted {10 ** predicted:.2g} S/cm" if predicted > detection_limit + tolerance
                             else "")
            elif abs(predicted - value) > tolerance:
                direction = "below" if value < predicted else "above"
                notes.append(f"measured {10 ** value:.2g} S/cm at room temperature ({papers}), "
                             f"{abs(predicted - value):.1f} decades {direction} the prediction")
            else:
                notes.append("")
        return notes

    def records(self, keys) -> pd.DataFrame:
        """Return the record of each key (a row of NaN / None for a key never measured).

        Parameters
        ----------
        keys : sequence of str or None
            :func:`evidence_key` of each query (None: cannot be looked up).

        Returns
        -------
        pandas.DataFrame
            ``measured_log10_sigma`` (log10 S/cm), ``measured_censored``, ``measured_papers``,
            ``measured_spread_log10`` (decades), ``measured_references``
            (:func:`~mlsse.data.references.reference_label`: a seed file named by its paper's DOI), one row per key.
        """
        rows = []
        for key in keys:
            record = self.values.get(key) if key is not None else None
            if record is None:
                rows.append((math.nan, None, 0, math.nan, ""))
                continue
            papers = int(record[3]) if len(record) > 3 else 1
            spread = float(record[4]) if len(record) > 4 else math.nan
            rows.append((float(record[0]), bool(record[1]), papers, spread, reference_label(record[2])))
        return pd.DataFrame(rows, columns=["measured_log10_sigma", "measured_censored", "measured_papers",
                                           "measured_spread_log10", "measured_references"])

    def _neighbour_index(self):
        """Atomic-fraction vectors of the measured plain compositions (composites left out), built once."""
        if getattr(self, "_index_of", None) is not self.values:
            from pymatgen.core import Composition

            keys = [k for k in self.values if " + " not in k]
            fractions = [Composition(k).fractional_composition.get_el_amt_dict() for k in keys]
            symbols = sorted({s for f in fractions for s in f})
            column = {s: i for i, s in enumerate(symbols)}
            matrix = np.zeros((len(keys), len(symbols)))
            for i, f in enumerate(fractions):
                for s, x in f.items():
                    matrix[i, column[s]] = x
            self._index, self._index_of = (keys, column, matrix), self.values
        return self._index

    def nearest(self, compositions, k: int = N_NEAREST) -> list[list[tuple[str, float, bool, str, float]]]:
        """Return, per query, the ``k`` nearest measured training compositions other than itself.

        The distance is the fraction of atoms two compositions differ by (half the L1 distance of their atomic
        fractions, :func:`~mlsse.models.series.composition_distance`).

        Parameters
        ----------
        compositions : sequence of str or pymatgen.core.Composition
            The queries (a composite is compared by its host composition).
        k : int, default :data:`N_NEAREST`
            Neighbours per query.

        Returns
        -------
        list of list of (str, float, bool, str, float)
            Per query, nearest first: ``(formula, measured log10 σ, censored, references, distance)``; empty for a
            query that cannot be parsed or a model that records no composition.
        """
        from pymatgen.core import Composition

        keys, column, matrix = self._neighbour_index()
        out = []
        for composition in compositions:
            try:
                fractions = Composition(composition).fractional_composition.get_el_amt_dict()
            except (ValueError, TypeError):
                out.append([])
                continue
            if not keys:
                out.append([])
                continue
            query = np.zeros(matrix.shape[1])
            outside = 0.0
            for s, x in fractions.items():
                if s in column:
                    query[column[s]] = x
                else:
                    outside += x
            distance = (np.abs(matrix - query).sum(axis=1) + outside) / 2.0
            order = np.argsort(distance, kind="stable")
            picked = []
            for i in order:
                if distance[i] < 5e-4:
                    continue  # the query itself (keys hold 4 decimals): its measurements are reported apart
                record = self.values[keys[i]]
                formula = record[5] if len(record) > 5 else keys[i]
                picked.append((str(formula), float(record[0]), bool(record[1]), reference_label(record[2]),
                               float(distance[i])))
                if len(picked) == k:
                    break
            out.append(picked)
        return out


def anchored_log10_sigma(predicted, records: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return log10 σ (25 °C) anchored to what was measured, and which rows were anchored.

    A composition measured in training is predicted as the median of its papers' measurements: on papers held
    out, the other papers' median is closer to a measurement than the model (docs/benchmarks.md). A composition
    reported only below detection takes the censored label its papers were recorded with.

    Parameters
    ----------
    predicted : array_like
        The model's log10 σ at 25 °C, log10 S/cm.
    records : pandas.DataFrame
        :meth:`MeasuredCompositions.records` of the same rows.

    Returns
    -------
    log10_sigma : numpy.ndarray
        log10 S/cm.
    anchored : numpy.ndarray of bool
        Rows set to what was measured.
    """
    predicted = np.asarray(predicted, dtype=float)
    measured = records["measured_log10_sigma"].to_numpy(dtype=float)
    anchored = ~np.isnan(measured)
    return np.where(anchored, measured, predicted), anchored


def measured_half_width(compositions, groups, values, censored, coverage: float = 0.8) -> float | None:
    """Return the half-width of the interval of an anchored prediction: the conformal quantile, over training rows
    another paper also measured, of |row − the other papers' median| (log10 S/cm), as when the row's paper is
    held out. None with fewer than 30 such rows.

    Parameters
    ----------
    compositions : sequence of str
        :func:`evidence_key` of each training row.
    groups : sequence
        Each row's paper.
    values : array_like
        log10 σ labels, log10 S/cm.
    censored : array_like of bool
        Censored labels (left out).
    coverage : float, default 0.8
        The interval's coverage.

    Returns
    -------
    float or None
        The half-width, log10 S/cm.
    """
    keep = ~np.asarray(censored, dtype=bool)
    deviation = repeat_measurement_deviation(np.asarray(compositions)[keep], np.asarray(groups)[keep],
                                             np.asarray(values, dtype=float)[keep])
    deviation = deviation[~np.isnan(deviation)]
    return float(conformal_quantile(deviation, coverage)) if len(deviation) >= 30 else None
