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
    temperature_c : array_like of float
        Measurement temperatures, °C.
    sigma_s_cm : array_like of float
        Conductivities at those temperatures, S/cm.

    Returns
    -------
    ea_eV : float
        Activation energy, eV.
    log10_prefactor : float
        log10 of the prefactor A, A in S·K/cm.
    r2 : float
        R² of the fit (NaN if log10(σT) does not vary).
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
    """Carry log10 σ from one temperature to another through Arrhenius's law.

    Ea is floored at :data:`MIN_EA_FOR_TEMPERATURE_EV`, so the result rises with temperature. Arguments broadcast.

    Parameters
    ----------
    log10_sigma_ref : float or array_like
        log10 σ at ``reference_c``, log10 S/cm.
    ea_ev : float or array_like
        Activation energy, eV.
    temperature_c : float or array_like
        Temperature wanted, °C.
    reference_c : float, default ROOM_TEMPERATURE_C
        Temperature of ``log10_sigma_ref``, °C.

    Returns
    -------
    numpy.ndarray
        log10 σ at ``temperature_c``, log10 S/cm.
    """
    ea = np.maximum(np.asarray(ea_ev, dtype=float), MIN_EA_FOR_TEMPERATURE_EV)
    t = np.asarray(temperature_c, dtype=float) + KELVIN_OFFSET
    t_ref = float(reference_c) + KELVIN_OFFSET
    return (np.asarray(log10_sigma_ref, dtype=float) + math.log10(t_ref) - np.log10(t)
            - ea / (BOLTZMANN_EV_K * math.log(10.0)) * (1.0 / t - 1.0 / t_ref))


def temperature_half_width_extra(ea_half_width, temperature_c, reference_c=ROOM_TEMPERATURE_C):
    """Return what an Ea uncertainty adds to the log10 σ interval when σ is carried to another temperature.

    The addition is |ΔEa|/(k_B ln 10)·|1/T − 1/T_ref|: zero at ``reference_c``, growing away from it.

    Parameters
    ----------
    ea_half_width : float or array_like
        Half-width ΔEa of the Ea interval, eV.
    temperature_c : float or array_like
        Temperature σ is wanted at, °C.
    reference_c : float, default ROOM_TEMPERATURE_C
        Temperature σ is predicted at before it is carried, °C.

    Returns
    -------
    numpy.ndarray
        Extra half-width of the log10 σ interval, log10 S/cm.
    """
    t, t_ref = np.asarray(temperature_c, dtype=float) + KELVIN_OFFSET, reference_c + KELVIN_OFFSET
    return np.asarray(ea_half_width, dtype=float) / (BOLTZMANN_EV_K * math.log(10.0)) * np.abs(1.0 / t - 1.0 / t_ref)
