"""Applicability domain: is a query composition like what the model was trained on?"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_is_fitted

from mlsse.chemistry import parse_composition
from mlsse.features import featurize_compositions
from mlsse.features.preset import ELEMENT_AMOUNT_LABELS, ELEMENT_FRACTION_LABELS


class ApplicabilityDomain(BaseEstimator):
    """Flags queries outside the training data (the applicability domain).

    A query is out of domain when it contains an element absent from every training composition, or when its
    nearest training neighbour (Euclidean distance on robust-scaled features, NaN → training median) is farther
    than the ``percentile``-th percentile of the distinct training points' own nearest-neighbour distances.
    Give it features every query has (composition features), so that a query without a structure is not
    far from everything merely for lacking one.

    Parameters
    ----------
    percentile : float, default 95.0
        Percentile of the training points' nearest-neighbour distances that is the distance threshold.

    Attributes
    ----------
    center_ : numpy.ndarray
        Per feature, the training median (0 where all NaN); NaN features are set to it.
    scale_ : numpy.ndarray
        Per feature, the training interquartile range (1 where it is 0 or NaN).
    train_points_ : numpy.ndarray
        The distinct scaled training points (rounded to 4 decimals).
    elements_ : list of str
        Element symbols of the training compositions, sorted.
    threshold_ : float
        Distance (scaled feature units) beyond which a query is out of domain; 0 with fewer than two distinct
        training points or no features.
    """

    def __init__(self, percentile: float = 95.0):
        self.percentile = percentile

    def fit(self, X, elements):
        """Learn the scaling, the training points, the distance threshold and the known elements.

        Parameters
        ----------
        X : array_like, shape (n_rows, n_features)
            Training features; NaN allowed.
        elements : sequence of set of str
            Each training row's element symbols.

        Returns
        -------
        ApplicabilityDomain
            ``self``.
        """
        X = np.asarray(X, dtype=float)
        self.center_ = np.nanmedian(X, axis=0)
        self.center_ = np.where(np.isnan(self.center_), 0.0, self.center_)
        q75, q25 = np.nanpercentile(X, 75, axis=0), np.nanpercentile(X, 25, axis=0)
        scale = np.where(np.isnan(q75 - q25) | (q75 - q25 <= 0), 1.0, q75 - q25)
        self.scale_ = scale
        # Repeated measurements of one material would make every nearest-neighbour distance 0 and the
        # threshold meaningless: the distances are taken between distinct training points.
        self.train_points_ = np.unique(np.round(self._scaled(X), 4).astype(np.float32), axis=0)
        self.elements_ = sorted({el for row in elements for el in row})
        if X.shape[1] == 0 or len(self.train_points_) < 2:  # no descriptors (or one point): only elements count
            self.threshold_ = 0.0
            return self
        # Distance of each training point to its nearest *other* point (column 0 is the point itself).
        distances, _ = NearestNeighbors(n_neighbors=2).fit(self.train_points_).kneighbors(self.train_points_)
        self.threshold_ = float(np.percentile(distances[:, 1], self.percentile))
        return self

    def _scaled(self, X):
        X = np.where(np.isnan(X), self.center_, X)
        return (X - self.center_) / self.scale_

    def nearest_distance(self, X) -> np.ndarray:
        """Return each query's distance to its nearest training point.

        Parameters
        ----------
        X : array_like, shape (n_rows, n_features)
            Query features; NaN allowed.

        Returns
        -------
        numpy.ndarray
            Euclidean distance in scaled feature units; zeros when the domain has no features or fewer than
            two distinct training points.
        """
        check_is_fitted(self)
        if self.train_points_.shape[1] == 0 or len(self.train_points_) < 2:
            return np.zeros(len(X))
        # Fitted once per set of training points: a streamed query asks again for every chunk.
        if getattr(self, "_index_points", None) is not self.train_points_:
            self._index = NearestNeighbors(n_neighbors=1).fit(self.train_points_)
            self._index_points = self.train_points_
        distances, _ = self._index.kneighbors(self._scaled(np.asarray(X, dtype=float)).astype(np.float32))
        return distances[:, 0]

    def assess(self, X, elements) -> tuple[np.ndarray, list[str]]:
        """Flag each query as in or out of the domain, with the reason.

        A composition without Li is out of domain: every training material is a Li-ion conductor.

        Parameters
        ----------
        X : array_like, shape (n_rows, n_features)
            Query features; NaN allowed.
        elements : sequence of set of str
            Each query's element symbols.

        Returns
        -------
        in_domain : numpy.ndarray of bool
            Per query.
        reasons : list of str
            Per query, why it is out of domain (no Li, unknown elements, or too far); ``""`` when in domain.
        """
        distance = self.nearest_distance(X)
        known = set(self.elements_)
        inside, reasons = [], []
        for d, row in zip(distance, elements):
            unknown = sorted(set(row) - known)
            if "Li" not in row:
                inside.append(False)
                reasons.append("no Li: the model knows Li-ion conductors only")
            elif unknown:
                inside.append(False)
                reasons.append(f"element(s) {', '.join(unknown)} absent from training data")
            elif d > self.threshold_:
                inside.append(False)
                reasons.append(f"far from training data (nearest-neighbour distance {d:.2f} > {self.threshold_:.2f})")
            else:
                inside.append(True)
                reasons.append("")
        return np.array(inside, dtype=bool), reasons

    def to_dict(self) -> dict:
        """Return the fitted state as JSON-serialisable data (no pickles in saved models).

        Returns
        -------
        dict
            ``percentile``, ``center``, ``scale``, ``threshold``, ``elements`` and ``train_points``, for
            :meth:`from_dict`.
        """
        check_is_fitted(self)
        return {"percentile": self.percentile, "center": self.center_.tolist(), "scale": self.scale_.tolist(),
                "threshold": self.threshold_, "elements": self.elements_,
                "train_points": np.round(self.train_points_, 4).tolist()}

    @classmethod
    def from_dict(cls, state: dict) -> "ApplicabilityDomain":
        """Rebuild a fitted domain from :meth:`to_dict` output.

        Parameters
        ----------
        state : dict
            What :meth:`to_dict` returned.

        Returns
        -------
        ApplicabilityDomain
            The fitted domain.
        """
        domain = cls(percentile=state["percentile"])
        domain.center_ = np.asarray(state["center"], dtype=float)
        domain.scale_ = np.asarray(state["scale"], dtype=float)
        domain.threshold_ = float(state["threshold"])
        domain.elements_ = list(state["elements"])
        domain.train_points_ = np.asarray(state["train_points"], dtype=np.float32)
        return domain


def out_of_fold_in_domain(X, elements, groups, folds, pool_X, pool_elements, pool_groups,
                          percentile: float = 95.0) -> np.ndarray:
    """Return, per row of ``X``, whether it is in the domain of what trains without it.

    For each fold, an :class:`ApplicabilityDomain` is fitted on the ``pool_*`` rows of every paper not in the
    fold and assesses the fold's rows. These are the flags a held-out paper's rows would get, so the residuals of
    each class can calibrate that class's interval.

    Parameters
    ----------
    X : array_like, shape (n_rows, n_features)
        Features of the rows to flag.
    elements : sequence of set of str
        Their element symbols.
    groups : array_like
        Their papers.
    folds : iterable of (array_like, array_like)
        ``(train, test)`` index arrays over the rows of ``X``; only ``test`` is used.
    pool_X, pool_elements, pool_groups
        Features, element symbols and papers of the rows a domain may be fitted on.
    percentile : float, default 95.0
        As :class:`ApplicabilityDomain`.

    Returns
    -------
    numpy.ndarray of bool
        The flag per row (False for a row in no fold).
    """
    X, groups, pool_X, pool_groups = (np.asarray(a) for a in (X, groups, pool_X, pool_groups))
    inside = np.zeros(len(X), dtype=bool)
    for _, test in folds:
        keep = ~np.isin(pool_groups, groups[test])
        domain = ApplicabilityDomain(percentile).fit(pool_X[keep], [pool_elements[i] for i in np.flatnonzero(keep)])
        inside[test] = domain.assess(X[test], [elements[i] for i in test])[0]
    return inside


#: Features the applicability domain measures distance on (the σ model's most important composition ones).
N_DOMAIN_FEATURES = 20


def domain_feature_names(sigma_model, feature_names: list[str]) -> list[str]:
    """Return the composition descriptors the σ model leans on most: the applicability domain's space.

    Every query has them, with or without a structure. Element fractions and amounts are left out: they are
    sparse, and unknown elements are flagged apart.

    Parameters
    ----------
    sigma_model : ConformalBoostedRegressor
        The fitted σ model.
    feature_names : list of str
        Its feature columns, in order.

    Returns
    -------
    list of str
        At most :data:`N_DOMAIN_FEATURES` names, by decreasing feature importance.
    """
    # Element fractions and amounts are sparse, and unknown elements are flagged apart.
    composition_columns = (set(featurize_compositions(["Li3N"]).columns) - set(ELEMENT_FRACTION_LABELS)
                           - set(ELEMENT_AMOUNT_LABELS))
    ranked = [feature_names[i] for i in np.argsort(-sigma_model.feature_importances_, kind="stable")
              if feature_names[i] in composition_columns]
    return ranked[:N_DOMAIN_FEATURES]


def composition_elements(formula: str) -> set[str]:
    """Return the element symbols of a formula.

    Parameters
    ----------
    formula : str
        The formula.

    Returns
    -------
    set of str
        Its element symbols.

    Raises
    ------
    ValueError
        If the formula cannot be parsed (:func:`mlsse.chemistry.parse_composition`).
    """
    return {el.symbol for el in parse_composition(formula).elements}
