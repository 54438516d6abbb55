"""Temperatures: units, what room temperature means, and Arrhenius's law σT = A·exp(−Ea/k_BT) between them.

Temperatures are in °C wherever mlsse reads or writes them; kelvin only inside these formulas.

Layer: imports nothing from mlsse, so every layer may use it.
"""

from __future__ import annotations

import math

import numpy as np

#: 0 °C in kelvin: T(K) = T(°C) + KELVIN_OFFSET.
KELVIN_OFFSET = 273.15
#: Boltzmann constant, eV/K.
BOLTZMANN_EV_K = 8.617333262e-5
#: The one room temperature, °C: σ "at room temperature" is predicted here, and a source that says "room
#: temperature" without a number is read as this.
ROOM_TEMPERATURE_C = 25.0
#: Measurement temperatures (°C, bounds included) counted as room temperature: a σ measured there trains the
#: room-temperature σ model.
ROOM_TEMPERATURE_RANGE_C = (15.0, 35.0)
#: Ea is floored here when σ is carried to another temperature, so that σ(T) = (A/T)·exp(−Ea/k_BT) rises with T
#: over the whole range users ask for (it does whenever Ea > k_B·T; 0.1 eV holds up to ~900 °C).
MIN_EA_FOR_TEMPERATURE_EV = 0.1


def fit_arrhenius(temperature_c, sigma_s_cm) -> tuple[float, float, float]:
    """Fit log10(σT) against 1/T by least squares.

    Parameters
    ----------
    temperature_c : array of float
        Measurement temperatures, °C.
    sigma_s_cm : array of float
        Conductivities at those temperatures, S/cm.

    Returns
    -------
    (ea_eV, log10_prefactor, r2)
        Ea in eV, log10 of A in S·K/cm, and the fit's R² (NaN if log10(σT) does not vary).
    """
    t_k = np.asarray(temperature_c, dtype=float) + KELVIN_OFFSET
    y = np.log10(np.asarray(sigma_s_cm, dtype=float) * t_k)
    x = 1.0 / t_k
    slope, intercept = np.polyfit(x, y, 1)
    predicted = slope * x + intercept
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - predicted) ** 2)) / total if total > 0 else math.nan
    return -slope * BOLTZMANN_EV_K * math.log(10.0), float(intercept), r2


def log10_sigma_at(log10_sigma_ref, ea_ev, temperature_c, reference_c=ROOM_TEMPERATURE_C):
    """Return log10 σ (S/cm) at ``temperature_c`` (°C) from log10 σ at ``reference_c`` (°C) and Ea (eV).

    Ea is floored at :data:`MIN_EA_FOR_TEMPERATURE_EV`, so the result rises with temperature. Arguments broadcast.
    """
    ea = np.maximum(np.asarray(ea_ev, dtype=float), MIN_EA_FOR_TEMPERATURE_EV)
    t = np.asarray(temperature_c, dtype=float) + KELVIN_OFFSET
    t_ref = float(reference_c) + KELVIN_OFFSET
    return (np.asarray(log10_sigma_ref, dtype=float) + math.log10(t_ref) - np.log10(t)
            - ea / (BOLTZMANN_EV_K * math.log(10.0)) * (1.0 / t - 1.0 / t_ref))


def temperature_half_width_extra(ea_half_width, temperature_c, reference_c=ROOM_TEMPERATURE_C):
    """Return what an Ea uncertainty of ±``ea_half_width`` (eV) adds to the log10 σ interval at ``temperature_c``
    (°C) when σ comes from σ(``reference_c``) through Arrhenius: |ΔEa|/(k_B ln 10)·|1/T − 1/T_ref| (log10 S/cm)."""
    t, t_ref = np.asarray(temperature_c, dtype=float) + KELVIN_OFFSET, reference_c + KELVIN_OFFSET
    return np.asarray(ea_half_width, dtype=float) / (BOLTZMANN_EV_K * math.log(10.0)) * np.abs(1.0 / t - 1.0 / t_ref)
