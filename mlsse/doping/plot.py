"""Plots of a doping scan: σ and Ea against level, one curve per dopant, with intervals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def plot_formats() -> list[str]:
    """Return the figure suffixes matplotlib writes here (``.png``, ``.svg``, ``.pdf``, …), sorted; not ``.pgf``,
    which needs a LaTeX installation."""
    from matplotlib.figure import Figure

    return sorted(f".{kind}" for kind in Figure().canvas.get_supported_filetypes() if kind != "pgf")


def plot_scan(scan: pd.DataFrame, path: str | Path) -> Path:
    """Draw log10 σ (25 °C) and Ea versus dopant level, one curve per dopant with its 80 % band.

    With additive wt% values, the x axis is the wt% instead, at each dopant's highest level.

    Parameters
    ----------
    scan : pandas.DataFrame
        A doping scan (:func:`mlsse.doping.scanning.scan`).
    path : str or pathlib.Path
        The figure file, written atomically in the format its suffix names (any matplotlib writes: .png,
        .svg, .pdf, …; :func:`plot_formats`).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mlsse.io import atomic_path

    fig, (ax_sigma, ax_ea) = plt.subplots(1, 2, figsize=(11, 4.2))
    x_column = "level" if scan["additive_wt_pct"].isna().all() else "additive_wt_pct"
    for dopant, group in scan.groupby("dopant", sort=False):
        if x_column == "additive_wt_pct":
            group = group[group["level"] == group["level"].max()]
        group = group.sort_values(x_column)
        x = group[x_column]
        line, = ax_sigma.plot(x, group["log10_sigma"], marker="o", ms=3, label=dopant)
        ax_sigma.fill_between(x, group["log10_sigma_lo"], group["log10_sigma_hi"], color=line.get_color(), alpha=0.12)
        ax_ea.plot(x, group["ea_eV"], marker="o", ms=3, color=line.get_color(), label=dopant)
        ax_ea.fill_between(x, group["ea_lo"], group["ea_hi"], color=line.get_color(), alpha=0.12)
    xlabel = "dopant level x (per formula unit)" if x_column == "level" else "additive (wt%)"
    host = scan["host"].iloc[0]
    ax_sigma.set(xlabel=xlabel, ylabel="predicted log10 σ at 25 °C (S/cm)", title=f"{host}: conductivity")
    ax_ea.set(xlabel=xlabel, ylabel="predicted Ea (eV)", title=f"{host}: activation energy")
    ax_sigma.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lower().lstrip(".") or "png", dpi=110)
    plt.close(fig)
    return Path(path)
