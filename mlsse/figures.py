"""Figures of predictions that are not a doping scan: the Arrhenius view of one composition, and the features that
pushed one prediction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.doping.plot import formula_mathtext
from mlsse.io import atomic_path
from mlsse.temperature import ROOM_TEMPERATURE_C


def plot_arrhenius(result: pd.DataFrame, label: str, path: str | Path) -> Path:
    """Draw log10 σ against 1000/T for one composition predicted at several temperatures, with its 80 % band.

    A room-temperature measurement the training data holds for the composition is drawn as a black diamond.

    Parameters
    ----------
    result : pandas.DataFrame
        ``mlsse.predict`` output for one composition at several ``temperature_C`` (°C).
    label : str
        The composition as the title names it.
    path : str or pathlib.Path
        The figure file, written atomically in the format its suffix names (.png, .svg, .pdf, …).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result.dropna(subset=["log10_sigma"]).sort_values("temperature_C")
    inverse = 1000.0 / (rows["temperature_C"].to_numpy(dtype=float) + 273.15)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.fill_between(inverse, rows["log10_sigma_lo"], rows["log10_sigma_hi"], color="tab:blue", alpha=0.15,
                    label="80 % interval")
    ax.plot(inverse, rows["log10_sigma"], marker="o", ms=3, color="tab:blue", label="predicted")
    measured = rows["measured_log10_sigma"].dropna() if "measured_log10_sigma" in rows else pd.Series(dtype=float)
    if len(measured) and measured.iloc[0] > -10:
        ax.scatter([1000.0 / (ROOM_TEMPERATURE_C + 273.15)], [measured.iloc[0]], marker="D", color="black",
                   zorder=4, label="measured near 25 °C (training data)")
    ax.set(xlabel="1000 / T (1/K)", ylabel="log10 σ (log10 S/cm)",
           title=f"{formula_mathtext(label)}: Arrhenius view, Ea = {rows['ea_eV'].iloc[0]:.2f} eV")
    top = ax.secondary_xaxis("top", functions=(lambda x: 1000.0 / np.maximum(x, 1e-9) - 273.15,
                                               lambda t: 1000.0 / (np.asarray(t) + 273.15)))
    top.set_xlabel("T (°C)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lower().lstrip(".") or "png", dpi=110)
    plt.close(fig)
    return Path(path)


def contributions_figure(reasons: list[tuple[str, float, float]], label: str):
    """Draw the features that pushed one prediction's log10 σ most, as horizontal bars.

    Parameters
    ----------
    reasons : list of (str, float, float)
        ``(readable feature name, the formula's value, SHAP contribution to log10 σ in log10 S/cm)``, largest
        in :meth:`~mlsse.models.predictor.Predictor.top_contributions`' order (what the composition has, largest
        first, then its absent elements).
    label : str
        The formula, for the title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not registered with pyplot, so threads of a server can draw at once).
    """
    from matplotlib.figure import Figure

    names = [f"{name} = {'unknown' if value is None or value != value else f'{value:.3g}'}"
             for name, value, _ in reasons][::-1]
    pushes = [push for _, _, push in reasons][::-1]
    fig = Figure(figsize=(6.4, 0.5 + 0.42 * max(1, len(reasons))))
    ax = fig.subplots()
    ax.barh(range(len(pushes)), pushes, color=["tab:red" if p > 0 else "tab:blue" for p in pushes])
    ax.set_yticks(range(len(pushes)), names, fontsize=8)
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.set_xlabel("contribution to log10 σ (log10 S/cm; + raises σ)", fontsize=8)
    ax.set_title(f"{formula_mathtext(label)}: what pushed the prediction (SHAP)", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig
