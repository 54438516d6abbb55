"""Gradient-boosted regressor with conformal prediction intervals, following scikit-learn's contract."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from mlsse.models.conformal import conformal_quantile
from mlsse.models.ensemble import checked_view_columns, forest_columns, member_input, mixture_mean
from mlsse.models.splits import grouped_folds


class ConformalBoostedRegressor(RegressorMixin, BaseEstimator):
    """XGBoost regressor whose ``predict_interval`` gives split-conformal intervals from grouped-CV residuals.

    ``fit(X, y, groups)`` trains the members on all rows and, to calibrate the interval, again per fold of a
    grouped k-fold (groups = papers), so the residuals come from papers the fold models never saw. The interval
    half-width is the finite-sample conformal quantile of the absolute out-of-fold residuals at ``coverage``.

    The prediction is the mean of the members: one booster per view in ``views``, then one random forest per
    view in ``forest_views``. Two views of the same material (descriptors vs. the bare element fractions) make
    errors that partly cancel when averaged. A forest member runs in XGBoost's
    random-forest mode (:data:`FOREST_PARAMS`), so it is saved and SHAP-explained like the boosters; it reads
    missing values as −1, below every real lattice constant or amount, as the OBELiX paper's forest has them.

    With ``censored_value`` the model has two parts: the members regress on the measured rows alone, and a
    classifier (:data:`CENSOR_CLASSIFIER_PARAMS`) gives the probability p that a row is censored. The
    prediction is the mean of the mixture "``censored_value`` with probability p, else the members' mean"
    (:func:`~mlsse.models.ensemble.mixture_mean`), p·``censored_value`` + (1 − p)·mean: it moves with p in
    proportion, so a small change of p never makes the prediction jump to the censored label (the mixture's median
    did, by up to 5 decades for p going from 0.48 to 0.53). ``censored_scale``, the spread of the mixture's normal
    part, enters the probability below a threshold (:meth:`predict_probability_below`). A squared-error fit of the
    censored labels would instead pull the members themselves towards ``censored_value``.

    NaN features are allowed (XGBoost routes them in the boosters).

    Parameters
    ----------
    n_estimators, max_depth, learning_rate, subsample, colsample_bytree, min_child_weight, reg_lambda, reg_alpha
        The boosters' XGBoost hyper-parameters.
    objective : str, default "reg:absoluteerror"
        The boosters' XGBoost objective. Absolute error fits the median, which heavy-tailed errors in
        literature labels move less than the mean.
    views : list of list of int, optional
        Column indices of each booster's view; None: one booster on every column.
    forest_views : list of list of int, optional
        Column indices of each forest member's view; None: no forest.
    censored_value : float, optional
        The label of censored rows, in the target's units (e.g. log10 σ = −15 for conductivities reported only
        as below a detection limit, the OBELiX convention). Rows at or below it count as censored, so a σ
        measured under 1e-15 S/cm counts too. None: no censored part.
    censored_scale : float, default 1.2
        Standard deviation of the mixture's normal part, in the target's units.
    coverage : float, default 0.8
        Coverage the interval is calibrated for.
    n_splits : int, default 5
        Folds of the grouped k-fold that calibrates the interval.
    calibrate : bool, default True
        Calibrate the interval in ``fit``; False skips it (for tuning loops).
    random_state : int, default 0
        Seed of the members, the classifier and the folds.
    n_jobs : int, default 2
        Threads XGBoost uses.

    Attributes
    ----------
    view_columns_ : list of numpy.ndarray
        Column indices of each booster, frozen at ``fit``.
    forest_columns_ : list of numpy.ndarray
        Column indices of each forest member, frozen at ``fit``.
    boosters_ : list
        The fitted members (``XGBRegressor``, then ``XGBRFRegressor``), in :meth:`members` order.
    censor_classifier_ : xgboost.XGBClassifier or None
        The classifier of censored rows; None without ``censored_value`` or without a censored training row.
    feature_importances_ : numpy.ndarray
        Mean over the members of each member's XGBoost feature importances, per column of ``X``.
    oof_prediction_ : numpy.ndarray
        Out-of-fold prediction of each training row (only with ``calibrate``).
    interval_half_width_ : float
        Half-width of the ``coverage`` interval, in the target's units (only with ``calibrate``).
    n_features_in_ : int
        Number of columns of ``X`` at ``fit``.
    """

    def __init__(self, n_estimators=400, max_depth=5, learning_rate=0.05, subsample=0.8, colsample_bytree=0.6,
                 min_child_weight=2.0, reg_lambda=1.0, reg_alpha=0.001, objective="reg:absoluteerror", views=None,
                 forest_views=None, censored_value=None, censored_scale=1.2, coverage=0.8, n_splits=5, calibrate=True,
                 random_state=0, n_jobs=2):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.objective = objective
        self.views = views
        self.forest_views = forest_views
        self.censored_value = censored_value
        self.censored_scale = censored_scale
        self.coverage = coverage
        self.n_splits = n_splits
        self.calibrate = calibrate
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _booster(self):
        from xgboost import XGBRegressor

        return XGBRegressor(
            n_estimators=self.n_estimators, max_depth=self.max_depth, learning_rate=self.learning_rate,
            subsample=self.subsample, colsample_bytree=self.colsample_bytree,
            min_child_weight=self.min_child_weight, reg_lambda=self.reg_lambda, reg_alpha=self.reg_alpha,
            objective=self.objective, random_state=self.random_state, n_jobs=self.n_jobs, tree_method="hist",
            missing=np.nan,
        )

    def _forest(self):
        from xgboost import XGBRFRegressor

        return XGBRFRegressor(**FOREST_PARAMS, random_state=self.random_state, n_jobs=self.n_jobs,
                              tree_method="hist", missing=np.nan)

    def members(self) -> list[tuple[np.ndarray, bool]]:
        """Return what each fitted member reads, in ``boosters_`` order.

        Returns
        -------
        list of (numpy.ndarray, bool)
            ``(columns, fills NaN with −1)`` per member: the boosters of ``views``, then the forests of
            ``forest_views``.
        """
        check_is_fitted(self, ("view_columns_", "forest_columns_"))
        return [(c, False) for c in self.view_columns_] + [(c, True) for c in self.forest_columns_]

    def _censored(self, y) -> np.ndarray:
        return np.zeros(len(y), dtype=bool) if self.censored_value is None else y <= self.censored_value

    def _fit_members(self, X, y):
        """Return ``(members, censor classifier or None)`` fitted on ``X``, ``y``."""
        censored = self._censored(y)
        if censored.all():
            raise ValueError(f"every target is censored (≤ censored_value={self.censored_value}): "
                             "no measured row to regress on")
        members = [(self._forest() if filled else self._booster()).fit(member_input(X[~censored], columns, filled),
                                                                        y[~censored])
                   for columns, filled in self.members()]
        classifier = None
        if censored.any():
            from xgboost import XGBClassifier

            classifier = XGBClassifier(**CENSOR_CLASSIFIER_PARAMS, random_state=self.random_state,
                                       n_jobs=self.n_jobs, tree_method="hist", missing=np.nan)
            classifier.fit(X, censored.astype(int))
        return members, classifier

    def _predict_members(self, fitted, X):
        members, classifier = fitted
        mean = np.mean([b.predict(member_input(X, columns, filled))
                        for b, (columns, filled) in zip(members, self.members())], axis=0)
        if classifier is None:
            return mean
        return mixture_mean(mean, classifier.predict_proba(X)[:, 1], self.censored_value)

    def fit(self, X, y, groups=None, X_held_out=None, keep_fold_models=False):
        """Fit on all rows and, if ``calibrate``, calibrate the interval on grouped out-of-fold residuals.

        Parameters
        ----------
        X : array_like, shape (n_rows, n_features)
            Features; NaN allowed.
        y : array_like, shape (n_rows,)
            Targets.
        groups : array_like, shape (n_rows,), optional
            Group of each row (e.g. its paper) for the calibration folds; None: shuffled k-fold.
        X_held_out : array_like, shape (n_rows, n_features), optional
            The rows as a query from an unseen paper would present them, where that differs from ``X``: the
            calibration folds predict their held-out rows from it. The Ea model's last column is the σ model's
            prediction, which for a training row comes from a σ model that saw the row's paper; the held-out rows
            must get one from a σ model that did not, or the interval comes out too narrow. Default: ``X``.
        keep_fold_models : bool, default False
            Keep the calibration folds' models (``fold_models_``) for :meth:`predict_held_out`; they are not saved
            with the model.

        Returns
        -------
        ConformalBoostedRegressor
            ``self``.

        Raises
        ------
        ValueError
            If a view is empty or names a column outside ``X``, or every target is censored.
        """
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64, y_numeric=True)
        vars(self).pop("fold_models_", None)  # never the fold models of an earlier fit
        if keep_fold_models and (groups is None or not self.calibrate):
            raise ValueError("keep_fold_models needs groups and calibrate=True")
        X_held_out = X if X_held_out is None else check_array(X_held_out, ensure_all_finite="allow-nan",
                                                              dtype=np.float64)
        if X_held_out.shape != X.shape:
            raise ValueError(f"X_held_out has shape {X_held_out.shape}, X {X.shape}")
        # Frozen at fit, so a later set_params(views=...) cannot feed the boosters other columns.
        self.view_columns_ = checked_view_columns(self.views, X.shape[1])
        self.forest_columns_ = forest_columns(self.forest_views, X.shape[1])
        self.boosters_, self.censor_classifier_ = self._fit_members(X, y)
        importance = np.zeros(X.shape[1])
        for booster, (columns, _) in zip(self.boosters_, self.members()):
            importance[columns] += booster.feature_importances_ / len(self.boosters_)
        self.feature_importances_ = importance
        if self.calibrate:
            self.oof_prediction_ = np.full(len(y), np.nan)
            fold_models = []
            for train, test in grouped_folds(len(y), groups, self.n_splits, self.random_state):
                fold_members = self._fit_members(X[train], y[train])
                self.oof_prediction_[test] = self._predict_members(fold_members, X_held_out[test])
                if keep_fold_models and groups is not None:
                    fold_models.append((np.unique(np.asarray(groups)[test]), fold_members))
            if keep_fold_models:
                self.fold_models_ = fold_models
            self.interval_half_width_ = conformal_quantile(np.abs(y - self.oof_prediction_), self.coverage)
        return self

    def predict_held_out(self, X, groups) -> np.ndarray:
        """Return each row's prediction by a model that never saw the row's group.

        A row whose group (paper) a calibration fold held out is predicted by that fold's model. A row whose group
        is not among the training groups is predicted by the fitted model, which never saw the group either.
        Needs ``fit(..., groups, keep_fold_models=True)``.

        Parameters
        ----------
        X : array_like, shape (n_rows, n_features)
            Features; NaN allowed.
        groups : array_like, shape (n_rows,)
            Each row's group, as in ``fit``.

        Returns
        -------
        numpy.ndarray
            The predictions, in the target's unit.

        Raises
        ------
        ValueError
            If the fold models were not kept.
        """
        if not getattr(self, "fold_models_", None):
            raise ValueError("predict_held_out needs fit(X, y, groups, keep_fold_models=True)")
        X = np.asarray(X, dtype=float)
        groups = np.asarray(groups)
        prediction = self.predict(X)
        for held_out, members in self.fold_models_:
            rows = np.isin(groups, held_out)
            if rows.any():
                prediction[rows] = self._predict_members(members, X[rows])
        return prediction

    def predict(self, X):
        """Return the predicted target for each row of ``X``.

        Parameters
        ----------
        X : array_like, shape (n_rows, n_features)
            Features; NaN allowed.

        Returns
        -------
        numpy.ndarray
            The prediction per row, in the target's units: the members' mean, or with a censor classifier the
            mean of the mixture (:func:`~mlsse.models.ensemble.mixture_mean`).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return self._predict_members((self.boosters_, self.censor_classifier_), X)

    def predict_censored_probability(self, X) -> np.ndarray:
        """Return the probability that each row's target is censored (e.g. σ below a detection limit).

        Parameters
        ----------
        X : array_like, shape (n_rows, n_features)
            Features; NaN allowed.

        Returns
        -------
        numpy.ndarray
            The censor classifier's probability per row; zeros when the model has none (no
            ``censored_value``, or no censored row in training).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        if self.censor_classifier_ is None:
            return np.zeros(len(X))
        return self.censor_classifier_.predict_proba(X)[:, 1]

    def predict_probability_below(self, X, threshold: float) -> np.ndarray:
        """Return the probability that each row's target is below a threshold, under the predictive mixture.

        The mixture is the one whose mean :meth:`predict` returns: ``censored_value`` with probability p
        (counted if it is below ``threshold``), else normal around the members' mean with standard deviation
        ``censored_scale``.

        Parameters
        ----------
        X : array_like, shape (n_rows, n_features)
            Features; NaN allowed.
        threshold : float
            The threshold, in the target's units.

        Returns
        -------
        numpy.ndarray
            The probability per row.
        """
        return self.predict_with_probability_below(X, threshold)[1]

    def predict_with_probability_below(self, X, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Return :meth:`predict` and :meth:`predict_probability_below` together, running each member and the
        censor classifier once.

        Parameters
        ----------
        X, threshold
            As :meth:`predict_probability_below`.

        Returns
        -------
        prediction : numpy.ndarray
            As :meth:`predict`, in the target's units.
        probability_below : numpy.ndarray
            As :meth:`predict_probability_below`.
        """
        from scipy.special import ndtr

        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        mean = self._predict_members((self.boosters_, None), X)
        if self.censor_classifier_ is None:
            p, prediction = np.zeros(len(X)), mean
        else:
            p = self.censor_classifier_.predict_proba(X)[:, 1]
            prediction = mixture_mean(mean, p, self.censored_value)
        below = p if self.censored_value is not None and self.censored_value < threshold else 0.0
        return prediction, below + (1.0 - p) * ndtr((threshold - mean) / self.censored_scale)

    def contributions(self, X) -> np.ndarray:
        """Return exact TreeSHAP contributions of each feature to each row's prediction.

        With several members, each one's contributions are averaged like its prediction. With a censor
        classifier the prediction is (1 − p)·μ + p·c (see ``censored_value``), a product of the members' mean μ
        and the classifier's p; its value at both bases goes to the bias and the rest to the features
        (``_censored_contributions``), so features that make a censored σ likelier get negative contributions,
        each row still sums to the prediction and the bias is one number for all rows.

        Parameters
        ----------
        X : array_like, shape (n_rows, n_features)
            Features; NaN allowed.

        Returns
        -------
        numpy.ndarray, shape (n_rows, n_features + 1)
            Contributions in the target's units, the last column the bias; each row sums to the prediction.
        """
        from xgboost import DMatrix

        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        out = np.zeros((X.shape[0], X.shape[1] + 1))
        for booster, (columns, filled) in zip(self.boosters_, self.members()):
            values = booster.get_booster().predict(DMatrix(member_input(X, columns, filled), missing=np.nan),
                                                   pred_contribs=True)
            out[:, columns] += values[:, :-1] / len(self.boosters_)
            out[:, -1] += values[:, -1] / len(self.boosters_)
        if self.censor_classifier_ is not None:
            logit = self.censor_classifier_.get_booster().predict(DMatrix(X, missing=np.nan), pred_contribs=True)
            out = self._censored_contributions(out, logit, self.predict(X))
        return out

    def _censored_contributions(self, members, logit, prediction):
        """Return the contributions (rows × (features + 1)) to (1 − p)·μ + p·c from the members' (``members``,
        summing to μ, bias μ₀) and the classifier's TreeSHAP log-odds (``logit``, bias z₀).

        With q₀ = expit(z₀), Δμ = μ − μ₀ and Δq = p − q₀ the prediction is (1 − q₀)·μ₀ + q₀·c (the bias)
        + (1 − q₀)·Δμ + Δq·(c − μ₀) − Δq·Δμ. The product term is shared half and half between the two sides
        (their Shapley values): the members' contributions are scaled by 1 − q₀ − Δq/2 and Δq is spread by
        ``_probability_shares`` and scaled by c − μ₀ − Δμ/2. Each row still sums to the prediction.
        """
        from scipy.special import expit

        c = float(self.censored_value)
        mu0 = members[:, -1]
        delta_mu = members.sum(axis=1) - mu0
        q0 = expit(logit[:, -1])
        shares = self._probability_shares(logit)
        delta_q = shares.sum(axis=1)
        out = np.zeros_like(members)
        out[:, :-1] = (members[:, :-1] * (1.0 - q0 - delta_q / 2.0)[:, None]
                       + shares * (c - mu0 - delta_mu / 2.0)[:, None])
        # (1 − q₀)·μ₀ + q₀·c, plus the float32 rounding between the classifier's p and expit of its summed log-odds.
        out[:, -1] = prediction - out[:, :-1].sum(axis=1)
        return out

    @staticmethod
    def _probability_shares(logit):
        """Share p − expit(z₀) out among the features (rows × features), from their TreeSHAP log-odds φ.

        p = expit(z₀ + Σφ). The features pushing z up (φ > 0) and those pushing it down are two players: each gets
        its Shapley value, the mean of its effect on p added first and added second, shared within the player by
        φ. Signs agree within a player, so shares stay in [0, 1] even when the two sides nearly cancel (a plain
        φ/(z − z₀) share explodes there).
        """
        from scipy.special import expit

        phi, z0 = logit[:, :-1], logit[:, -1]
        up_parts, down_parts = np.clip(phi, 0.0, None), np.clip(phi, None, 0.0)
        up, down = up_parts.sum(axis=1), down_parts.sum(axis=1)
        g0, g_up, g_down, g_both = expit(z0), expit(z0 + up), expit(z0 + down), expit(z0 + up + down)
        effect_up = ((g_up - g0) + (g_both - g_down)) / 2.0
        effect_down = ((g_down - g0) + (g_both - g_up)) / 2.0
        out = effect_up[:, None] * np.divide(up_parts, up[:, None], out=np.zeros_like(phi), where=up[:, None] > 0)
        out += effect_down[:, None] * np.divide(down_parts, down[:, None], out=np.zeros_like(phi),
                                                where=down[:, None] < 0)
        return out

    def predict_interval(self, X):
        """Return the bounds of the interval that holds the target with the calibrated ``coverage``.

        Parameters
        ----------
        X : array_like, shape (n_rows, n_features)
            Features; NaN allowed.

        Returns
        -------
        low, high : numpy.ndarray
            Prediction ∓ ``interval_half_width_``, in the target's units.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model was fitted with ``calibrate=False`` (or not at all).
        """
        check_is_fitted(self, "interval_half_width_", msg="This %(name)s was fitted with calibrate=False, so it has "
                        "no interval; fit it with calibrate=True.")
        prediction = self.predict(X)
        return prediction - self.interval_half_width_, prediction + self.interval_half_width_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


#: The forest members' settings (see ``forest_views``): the OBELiX-paper style of deep trees, each on 63 % of the
#: rows (drawn without replacement, XGBoost has no bootstrap) with half the columns tried at each split; 100 trees
#: keep the saved file small.
FOREST_PARAMS = {"n_estimators": 100, "max_depth": 16, "min_child_weight": 1.0, "subsample": 0.632,
                 "colsample_bynode": 0.5, "reg_lambda": 1e-5}


#: The censor classifier's settings (see ``censored_value``), fixed rather than tuned: Optuna tunes the regressors
#: for the mixture's MAE.
CENSOR_CLASSIFIER_PARAMS = {"n_estimators": 300, "max_depth": 4, "learning_rate": 0.05, "subsample": 0.8,
                            "colsample_bytree": 0.5}
