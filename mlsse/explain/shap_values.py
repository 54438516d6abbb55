"""SHAP (exact TreeSHAP) attributions of predictions, grouped and named for chemists, with plots."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.features.names import feature_group, readable_name
from mlsse.io import atomic_path
from mlsse.models.targets import Target
from mlsse.paths import cache_dir
from mlsse.progress import SILENT

#: How each target is labelled in tables and plots.
LABELS = {Target.LOG10_SIGMA: "log10 σ at 25 °C", Target.EA: "Ea"}


def shap_explanation(predictor, features: pd.DataFrame, target="log10_sigma", progress=None,
                     chunk_rows: int = 100):
    """Return a ``shap.Explanation`` of a target's predictions for the rows of a feature table.

    Values are :meth:`~mlsse.models.predictor.Predictor.explain_features`' exact TreeSHAP attributions (XGBoost's
    own, the algorithm of SHAP's TreeExplainer) in the target's unit; each row sums, with its base value, to the
    prediction.

    Parameters
    ----------
    predictor : Predictor
        The model.
    features : pandas.DataFrame
        Feature table; its columns are reindexed to the model's.
    target : Target or str, default "log10_sigma"
        A :class:`~mlsse.models.targets.Target` or its name.
    progress : mlsse.progress.Progress, optional
        Receives one step per chunk.
    chunk_rows : int, default 100
        Rows explained at a time.

    Returns
    -------
    shap.Explanation
        ``values`` (log10 S/cm or eV), ``base_values``, ``data`` (the feature values) and readable
        ``feature_names``.
    """
    import shap

    X = features.reindex(columns=predictor.feature_names)
    starts = range(0, len(X), chunk_rows)
    chunks = [predictor.explain_features(X.iloc[start:start + chunk_rows], target)
              for start in (progress or SILENT).track(starts, "SHAP attributions")]
    contributions = (pd.concat(chunks) if chunks else predictor.explain_features(X, target)).to_numpy()
    values, base = contributions[:, :-1], contributions[:, -1]
    return shap.Explanation(values=values, base_values=base, data=predictor.model_input(X, target),
                            feature_names=[readable_name(n) for n in predictor.input_names(target)])


def grouped_contributions(explanation, raw_names: list[str], row: int = 0) -> pd.DataFrame:
    """Sum one row's SHAP values by feature group (:func:`~mlsse.features.names.feature_group`).

    Parameters
    ----------
    explanation : shap.Explanation
        From :func:`shap_explanation`.
    raw_names : list of str
        The model's input column names (``Predictor.input_names(target)``), which the groups are read from.
    row : int, default 0
        The row.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``contribution`` (the target's unit), ``leading_feature`` (largest |SHAP| in the group) and
        ``leading_value`` (its value), sorted by |contribution|.
    """
    names = list(raw_names)
    values, data = explanation.values[row], explanation.data[row]
    frame = pd.DataFrame({"feature": [readable_name(n) for n in names], "group": [feature_group(n) for n in names],
                          "shap": values, "value": data})
    frame["abs"] = frame["shap"].abs()
    lead = frame.sort_values("abs", ascending=False, kind="stable").groupby("group", sort=False).head(1)
    summed = frame.groupby("group", sort=False)["shap"].sum()
    out = lead.set_index("group")[["feature", "value"]].join(summed.rename("contribution"))
    out = out.reset_index().rename(columns={"feature": "leading_feature", "value": "leading_value"})
    order = out["contribution"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order, ["group", "contribution", "leading_feature", "leading_value"]].reset_index(drop=True)


def waterfall_png(explanation, row: int, path: str | Path, title: str, max_display: int = 12) -> Path:
    """Draw SHAP's waterfall plot of one prediction to a PNG file.

    Parameters
    ----------
    explanation : shap.Explanation
        From :func:`shap_explanation`.
    row : int
        The row.
    path : str or pathlib.Path
        The PNG file, written atomically.
    title : str
        The figure's title.
    max_display : int, default 12
        Features shown; the rest are summed.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    one = explanation[row]
    # An unknown value (a structure the query does not give) reads "unknown", not "nan".
    one.display_data = np.array(["unknown" if isinstance(v, float) and v != v else
                                 (f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)) for v in one.data],
                                dtype=object)
    shap.plots.waterfall(one, max_display=max_display, show=False)
    figure = plt.gcf()
    figure.suptitle(title, fontsize=10)
    figure.set_size_inches(9.5, 6)
    figure.tight_layout()
    # Room on the right for SHAP's f(x) label, which tight_layout does not count.
    figure.subplots_adjust(right=0.88, top=0.9)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    plt.close(figure)
    return Path(path)


def global_importance(explanation, raw_names: list[str]) -> pd.DataFrame:
    """Return the mean |SHAP| per feature over the rows of an explanation.

    Parameters
    ----------
    explanation : shap.Explanation
        From :func:`shap_explanation`.
    raw_names : list of str
        The model's feature column names, in the explanation's order.

    Returns
    -------
    pandas.DataFrame
        ``feature`` (readable name), ``group`` and ``mean_abs_shap`` (the target's unit), largest first.
    """
    mean_abs = np.abs(explanation.values).mean(axis=0)
    frame = pd.DataFrame({"feature": [readable_name(n) for n in raw_names],
                          "group": [feature_group(n) for n in raw_names], "mean_abs_shap": mean_abs})
    return frame.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)


def global_pngs(explanation, importance: pd.DataFrame, out_dir: str | Path, target: str) -> list[Path]:
    """Write a beeswarm and a mean-|SHAP| bar chart of the top 20 features as PNG files.

    Parameters
    ----------
    explanation : shap.Explanation
        From :func:`shap_explanation`.
    importance : pandas.DataFrame
        From :func:`global_importance`.
    out_dir : str or pathlib.Path
        The directory for ``shap_beeswarm_<target>.png`` and ``shap_bar_<target>.png``.
    target : str
        The target's name (e.g. ``sigma``, ``ea``), for the file names and the axis label.

    Returns
    -------
    list of pathlib.Path
        The two files.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    out_dir = Path(out_dir)
    written = []
    unit = Target.named(target).unit
    shap.plots.beeswarm(explanation, max_display=20, show=False)
    figure = plt.gcf()
    figure.axes[0].set_xlabel(f"SHAP contribution to {LABELS[Target.named(target)]} ({unit})")
    figure.suptitle(f"What moves the model's {LABELS[Target.named(target)]}, over the training compositions "
                    "(colour: the feature's value, high to low)", fontsize=10)
    figure.set_size_inches(10, 8)
    figure.tight_layout()
    with atomic_path(out_dir / f"shap_beeswarm_{target}.png") as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
    written.append(out_dir / f"shap_beeswarm_{target}.png")
    top = importance.head(20).iloc[::-1]
    figure, ax = plt.subplots(figsize=(9, 7))
    ax.barh(top["feature"], top["mean_abs_shap"])
    ax.set_xlabel(f"mean |SHAP| on {LABELS[Target.named(target)]} ({unit})")
    ax.set_title(f"The 20 features that move the model's {LABELS[Target.named(target)]} most", fontsize=10)
    figure.tight_layout()
    with atomic_path(out_dir / f"shap_bar_{target}.png") as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
    written.append(out_dir / f"shap_bar_{target}.png")
    return written


def global_explanation_path(predictor, target: str) -> Path:
    """Return where a model's global explanation of a target is cached: one file per model and target.

    The key is the model's metadata (which records its training data's hash, its batches and its parameters),
    so another model, or the same name retrained, never reads this one's file.

    Parameters
    ----------
    predictor : Predictor
        The model.
    target : str
        ``sigma`` or ``ea``.

    Returns
    -------
    pathlib.Path
        ``$MLSSE_HOME/cache/explain/<key>.npz``.
    """
    key = hashlib.sha256(json.dumps([predictor.metadata, target], sort_keys=True, default=str).encode()).hexdigest()
    return cache_dir() / "explain" / f"{key[:32]}.npz"


def save_explanation(explanation, path: str | Path) -> Path:
    """Write an explanation's values, base values, data and feature names to an ``.npz`` file, atomically.

    Parameters
    ----------
    explanation : shap.Explanation
        From :func:`shap_explanation`.
    path : str or pathlib.Path
        The file.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, values=explanation.values, base_values=explanation.base_values, data=explanation.data,
                 feature_names=np.array(explanation.feature_names, dtype=str))
    return Path(path)


def load_explanation(path: str | Path):
    """Read an explanation :func:`save_explanation` wrote.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    shap.Explanation or None
        None when the file is missing or unreadable (it is then computed again; a cache is never trusted
        over the model).
    """
    import shap

    try:
        with np.load(path, allow_pickle=False) as stored:
            return shap.Explanation(values=stored["values"], base_values=stored["base_values"],
                                    data=stored["data"], feature_names=[str(n) for n in stored["feature_names"]])
    except (OSError, ValueError, KeyError, EOFError):  # missing, truncated or not an npz: recompute
        return None
