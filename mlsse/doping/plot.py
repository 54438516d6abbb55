"""Plots of a doping scan: σ and Ea against level, one curve per dopant, with intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.io import atomic_path


def plot_formats() -> list[str]:
    """Return the figure suffixes matplotlib writes here (``.png``, ``.svg``, ``.pdf``, …), sorted; not ``.pgf``,
    which needs a LaTeX installation."""
    from matplotlib.figure import Figure

    return sorted(f".{kind}" for kind in Figure().canvas.get_supported_filetypes() if kind != "pgf")


def formula_mathtext(formula: str) -> str:
    """Return a formula with its amounts as matplotlib mathtext subscripts: ``Li2ZrCl6`` → ``Li$_{2}$ZrCl$_{6}$``."""
    import re

    # Only an amount after an element or a bracket: "+ 5 wt%" and a glass's mol % stay as written.
    return re.sub(r"(?<=[A-Za-z)])(\d+(?:\.\d+)?)", r"$_{\1}$", formula)


def plot_scan(scan: pd.DataFrame, path: str | Path) -> Path:
    """Write :func:`scan_figure` to a file, atomically, in the format its suffix names.

    Parameters
    ----------
    scan : pandas.DataFrame
        A doping scan (:func:`mlsse.doping.scanning.scan`).
    path : str or pathlib.Path
        The figure file (any format matplotlib writes: .png, .svg, .pdf, …; :func:`plot_formats`).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    fig = scan_figure(scan)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lower().lstrip(".") or "png", dpi=110)
    return Path(path)


def scan_figure(scan: pd.DataFrame):
    """Draw the ranking's log10 σ (25 °C) and Ea versus dopant level, one series per dopant with its 80 % interval.

    The σ panel draws what the table ranks by: the host's prediction plus each candidate's change versus the
    host (``relative_log10_sigma``), with the paired 80 % interval of that change as error bars, so a difference
    read off the plot is the table's Δ. The host is a dashed reference line; compositions the training data
    measured are black diamonds; out-of-domain candidates are hollow. With additive wt% values, the x axis is the
    wt% instead, at each dopant's highest level.

    Parameters
    ----------
    scan : pandas.DataFrame
        A doping scan (:func:`mlsse.doping.scanning.scan`).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not registered with pyplot, so threads of a server can draw at once).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.4))
    ax_sigma, ax_ea = fig.subplots(1, 2)
    x_column = "level" if scan["additive_wt_pct"].isna().all() else "additive_wt_pct"
    n_series = scan["dopant"].nunique()
    host = scan["host"].iloc[0]
    host_rows = scan[scan["versus_host"] == "host"]
    host_sigma = float(host_rows["relative_log10_sigma"].iloc[0]) if len(host_rows) else None
    host_ea = float(host_rows["ea_eV"].iloc[0]) if len(host_rows) else None
    for k, (dopant, group) in enumerate(scan.groupby("dopant", sort=False)):
        if x_column == "additive_wt_pct":
            group = group[group["level"] == group["level"].max()]
        group = group.sort_values(x_column)
        # Series side by side at each x, so that four sets of error bars stay apart.
        step = np.diff(np.unique(scan[x_column].dropna())).min() if scan[x_column].nunique() > 1 else 1.0
        x = group[x_column].to_numpy(dtype=float) + (k - (n_series - 1) / 2) * 0.12 * step
        y = group["relative_log10_sigma"].to_numpy(dtype=float)
        low = y - (group["delta_log10_sigma"] - group["delta_log10_sigma_lo"]).to_numpy(dtype=float)
        high = y + (group["delta_log10_sigma_hi"] - group["delta_log10_sigma"]).to_numpy(dtype=float)
        inside = group["in_domain"].to_numpy(dtype=bool)
        line, = ax_sigma.plot(x, y, lw=1.2, label=dopant)
        color = line.get_color()
        ax_sigma.errorbar(x, y, yerr=[y - low, high - y], fmt="none", ecolor=color, alpha=0.5, capsize=2, lw=0.9)
        ax_sigma.scatter(x[inside], y[inside], color=color, s=16, zorder=3)
        ax_sigma.scatter(x[~inside], y[~inside], facecolors="white", edgecolors=color, s=22, zorder=3,
                         label=f"{dopant}: out of domain" if (~inside).any() else None)
        ea = group["ea_eV"].to_numpy(dtype=float)
        ax_ea.plot(x, ea, lw=1.2, color=color, label=dopant)
        ax_ea.errorbar(x, ea, yerr=[ea - group["ea_lo"].to_numpy(dtype=float),
                                    group["ea_hi"].to_numpy(dtype=float) - ea],
                       fmt="none", ecolor=color, alpha=0.5, capsize=2, lw=0.9)
        ax_ea.scatter(x[inside], ea[inside], color=color, s=16, zorder=3)
        ax_ea.scatter(x[~inside], ea[~inside], facecolors="white", edgecolors=color, s=22, zorder=3)
    measured = scan.dropna(subset=["measured_log10_sigma"]) if "measured_log10_sigma" in scan else scan.iloc[:0]
    if len(measured):
        measured = measured.drop_duplicates(subset=["composition", "additive_wt_pct"])
        ax_sigma.scatter(measured[x_column], measured["measured_log10_sigma"], marker="D", s=28, color="black",
                         zorder=4, label="measured (training data)")
    if host_sigma is not None:
        ax_sigma.axhline(host_sigma, color="grey", ls="--", lw=0.8, label=f"host {formula_mathtext(host)}")
        ax_ea.axhline(host_ea, color="grey", ls="--", lw=0.8)
    additive = scan["additive"].dropna()
    additive = additive[additive.astype(str).str.len() > 0]
    xlabel = ("dopant level x (per formula unit)" if x_column == "level"
              else f"{formula_mathtext(str(additive.iloc[0])) if len(additive) else 'additive'} (wt%)")
    named = formula_mathtext(host) + (f" + {formula_mathtext(str(additive.iloc[0]))}" if len(additive) else "")
    ax_sigma.set(xlabel=xlabel, ylabel="log10 σ at 25 °C (log10 S/cm): host + Δ (ranking)",
                 title=f"{named}: conductivity (paired 80 % intervals)")
    ax_ea.set(xlabel=xlabel, ylabel="predicted Ea (eV)", title=f"{named}: activation energy (80 %)")
    ax_sigma.legend(fontsize=7, loc="best")
    ax_ea.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig
