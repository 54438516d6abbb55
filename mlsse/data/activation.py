"""Activation energies derived from conductivities measured at several temperatures (Arrhenius fits,
:func:`mlsse.temperature.fit_arrhenius`)."""

from __future__ import annotations

import pandas as pd

from mlsse.chemistry import composition_key
from mlsse.data.schema import to_curated_frame
from mlsse.temperature import fit_arrhenius

#: Fewest distinct temperatures a fit needs.
MIN_TEMPERATURES = 3


def derive_activation_energies(frame: pd.DataFrame) -> pd.DataFrame:
    """Derive one Ea row per material measured at ≥ 3 distinct temperatures in one paper.

    Rows are grouped by (composition up to scaling, reference); rows without a positive σ or a temperature are
    left out.

    Parameters
    ----------
    frame : pandas.DataFrame
        Curated rows with σ (S/cm) at temperatures (°C).

    Returns
    -------
    pandas.DataFrame
        Curated rows, one per group with at least :data:`MIN_TEMPERATURES` distinct temperatures: ``ea_eV``
        (eV) from :func:`~mlsse.temperature.fit_arrhenius`, ``value_origin = 'arrhenius-fit'``, the fit's R² in
        ``arrhenius_r2``, ``temperature_C`` = the lowest fitted temperature (°C), and the fitted range and
        prefactor in ``note``.
    """
    usable = frame[(frame["sigma_S_cm"] > 0) & frame["temperature_C"].notna()].copy()
    usable["_key"] = usable["composition"].map(composition_key)
    records = []
    for (_, reference), group in usable.groupby(["_key", "reference"], sort=True):
        group = group.sort_values(["temperature_C", "source_line"])
        if group["temperature_C"].nunique() < MIN_TEMPERATURES:
            continue
        ea, log10_a, r2 = fit_arrhenius(group["temperature_C"].to_numpy(), group["sigma_S_cm"].to_numpy())
        first = group.iloc[0]
        t_lo, t_hi = group["temperature_C"].min(), group["temperature_C"].max()
        records.append({
            "composition": first["composition"],
            "material": first["material"],
            "temperature_C": t_lo,
            "ea_eV": round(ea, 6),
            "family": first["family"],
            "source": first["source"],
            "reference": reference,
            "value_origin": "arrhenius-fit",
            "arrhenius_r2": round(r2, 6),
            "source_file": first["source_file"],
            "source_line": int(first["source_line"]),
            "note": (f"Arrhenius fit of log10(sigma*T) vs 1/T over {len(group)} points, {t_lo:g}-{t_hi:g} °C "
                     f"(lines {', '.join(str(int(v)) for v in group['source_line'])}); "
                     f"log10 prefactor {log10_a:.4f} S K/cm"),
        })
    return to_curated_frame(records)
