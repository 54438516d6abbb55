"""The ranking member: a learning-to-rank booster that orders the members of a doping series.

A regressor fit on absolute values across papers spends itself on lab offsets, which are larger than most
differences within a series. A ranker is fit on the order of members *within* each series (qid = series), where
those offsets cancel, so it learns what a substitution does. Its scores have no unit; the σ model's relative
prediction within a series is the regressor's prediction plus :data:`RANKING_WEIGHT` times the ranker's score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

#: The ranker's XGBoost settings (fixed, not tuned): pairwise loss over the members of each series.
RANKER_PARAMS = {"objective": "rank:pairwise", "n_estimators": 300, "max_depth": 4, "learning_rate": 0.05,
                 "subsample": 0.8, "colsample_bytree": 0.5, "min_child_weight": 1.0}
#: How much of the ranker's score (log10 S/cm per unit score) is added to the regressor's prediction when members
#: of a series are compared.
RANKING_WEIGHT = 0.3


class SeriesRanker(BaseEstimator):
    """XGBoost learning-to-rank on the members of doping series (scikit-learn's estimator contract).

    Parameters
    ----------
    random_state : int, default 0
        Seed of the booster.
    n_jobs : int, default 2
        Threads XGBoost uses.

    Attributes
    ----------
    booster_ : xgboost.XGBRanker
        The fitted ranker.
    n_features_in_ : int
        Number of feature columns at ``fit``.
    """

    def __init__(self, random_state=0, n_jobs=2):
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y, series):
        """Fit on the members' features ``X``, their measured values ``y`` (higher ranks first) and the series each
        belongs to (``series``: one label per row); returns ``self``."""
        from xgboost import XGBRanker

        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        qid = pd.factorize(np.asarray(series))[0]
        order = np.argsort(qid, kind="stable")  # XGBoost wants each query's rows together
        self.booster_ = XGBRanker(**RANKER_PARAMS, random_state=self.random_state, n_jobs=self.n_jobs,
                                  tree_method="hist", missing=np.nan)
        self.booster_.fit(X[order], y[order], qid=qid[order])
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X) -> np.ndarray:
        """Return each row's ranking score (higher: better within its series; no unit)."""
        check_is_fitted(self)
        return self.booster_.predict(np.asarray(X, dtype=float))


def member_features(features: np.ndarray, series: pd.DataFrame) -> np.ndarray:
    """Return one feature row per series member: the median over the member's rows (``series["rows"]``, positions in
    ``features``), NaN where every row is NaN."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column stays NaN
        return np.vstack([np.nanmedian(features[positions], axis=0) for positions in series["rows"]])


def out_of_fold_ranking_scores(features: np.ndarray, series: pd.DataFrame, fold_of_group: dict,
                               random_state: int = 0) -> np.ndarray:
    """Return each series member's ranking score from a :class:`SeriesRanker` fit on the series of the other
    folds' papers (``fold_of_group``: each paper's fold), so no member is scored by a ranker that saw its paper."""
    X = member_features(features, series)
    folds = series["group"].map(fold_of_group).to_numpy()
    scores = np.full(len(series), np.nan)
    for fold in np.unique(folds):
        here = folds == fold
        ranker = SeriesRanker(random_state=random_state).fit(X[~here], series["measured"].to_numpy()[~here],
                                                             series["series"].to_numpy()[~here])
        scores[here] = ranker.predict(X[here])
    return scores
