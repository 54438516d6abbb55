"""Activation energies from temperature-resolved conductivities (Arrhenius fits).

σT = A · exp(−Ea / (k_B T)), so log10(σT) is linear in 1/T with slope −Ea / (k_B ln 10).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlsse.data.schema import KELVIN_OFFSET, composition_key, to_curated_frame

#: Boltzmann constant, eV/K.
BOLTZMANN_EV_K = 8.617333262e-5
#: Fewest distinct temperatures a fit needs.
MIN_TEMPERATURES = 3


def fit_arrhenius(temperature_c: np.ndarray, sigma_s_cm: np.ndarray) -> tuple[float, float, float]:
    """Fit log10(σT) against 1/T by least squares.

    Returns ``(ea_eV, log10_prefactor, r2)`` where the prefactor is A in S·K/cm. Temperatures in °C, σ in S/cm.
    """
    t_k = np.asarray(temperature_c, dtype=float) + KELVIN_OFFSET
    y = np.log10(np.asarray(sigma_s_cm, dtype=float) * t_k)
    x = 1.0 / t_k
    slope, intercept = np.polyfit(x, y, 1)
    predicted = slope * x + intercept
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - predicted) ** 2)) / total if total > 0 else math.nan
    return -slope * BOLTZMANN_EV_K * math.log(10.0), float(intercept), r2


def sigma_at_temperature(ea_ev, log10_prefactor, temperature_c):
    """Return σ (S/cm) at ``temperature_c`` (°C) from an Arrhenius law σT = A exp(−Ea/k_B T)."""
    t_k = np.asarray(temperature_c, dtype=float) + KELVIN_OFFSET
    return 10.0 ** (log10_prefactor - np.asarray(ea_ev) / (BOLTZMANN_EV_K * math.log(10.0) * t_k)) / t_k


def derive_activation_energies(frame: pd.DataFrame) -> pd.DataFrame:
    """Derive one Ea row per material measured at ≥ 3 distinct temperatures in one paper.

    Groups are (composition, reference). Each output row has ``value_origin = 'arrhenius-fit'``, the fit's R²
    in ``arrhenius_r2``, ``temperature_C`` = the lowest fitted temperature, and the fitted range in ``note``.
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
