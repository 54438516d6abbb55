"""Temperatures: units, what room temperature means, and Arrhenius's law σT = A·exp(−Ea/k_BT) between them.

Temperatures are in °C wherever mlsse reads or writes them; kelvin only inside these formulas.

Also the checks of a temperature someone gives: the ranges σ is predicted and measured at, and the traces of
kelvin given where °C is asked.

Layer: imports only :mod:`mlsse.errors`, so every layer may use it.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from mlsse.errors import MlsseWarning

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
#: Temperatures (°C) σ may be predicted at; outside, a query row is refused with a note.
PREDICTION_TEMPERATURE_RANGE_C = (-100.0, 600.0)
#: Temperatures (°C) a lab measurement can have: not below absolute zero, and not above where Li-ion conductivities
#: are measured; a 1000 among rows at 25 is a kelvin slip (1000 K = 726.85 °C), not a measurement.
MEASUREMENT_TEMPERATURE_RANGE_C = (-273.15, 600.0)
#: Temperatures (°C) that are room temperature (``ROOM_TEMPERATURE_RANGE_C``, 15–35 °C) if read as kelvin:
#: predicted, since 300 °C is a real measuring temperature, but with a warning.
KELVIN_ROOM_TEMPERATURE = (288.0, 308.15)


def temperature_problem(temperature_c: float, lo: float = PREDICTION_TEMPERATURE_RANGE_C[0],
                        hi: float = PREDICTION_TEMPERATURE_RANGE_C[1]) -> str | None:
    """Return why a temperature is not one to use, or None if it is.

    Parameters
    ----------
    temperature_c : float
        The temperature, °C.
    lo, hi : float, default PREDICTION_TEMPERATURE_RANGE_C
        Accepted range, °C, bounds included (:data:`MEASUREMENT_TEMPERATURE_RANGE_C` for a measurement).

    Returns
    -------
    str or None
        The problem: not finite, outside ``lo``–``hi`` (with a hint when it would fit as kelvin), or surely
        kelvin (:func:`kelvin_temperature_problem`).
    """
    if not math.isfinite(temperature_c):
        return f"temperature {temperature_c:g} °C is not a finite number"
    if not lo <= temperature_c <= hi:
        hint = " (kelvin? give °C)" if lo <= temperature_c - KELVIN_OFFSET <= hi else ""
        return f"temperature {temperature_c:g} °C outside {lo:g}–{hi:g} °C{hint}"
    return kelvin_temperature_problem(temperature_c)


def kelvin_temperature_problem(temperature_c: float) -> str | None:
    """Return why a temperature given in °C is surely in kelvin, or None.

    Parameters
    ----------
    temperature_c : float
        The temperature as given, °C.

    Returns
    -------
    str or None
        The problem when it is at least 273.15 and a whole number of degrees above it (298.15, 373.15), the
        trace of a °C → K conversion; else None.
    """
    celsius = temperature_c - KELVIN_OFFSET
    if celsius >= 0 and abs(celsius - round(celsius)) < 1e-6:
        return f"temperature {temperature_c:g} °C is kelvin ({temperature_c:g} K = {celsius:g} °C): give °C"
    return None


def kelvin_like_rows(temperature, skip=None) -> list[int]:
    """Return the 0-based rows whose temperature is in :data:`KELVIN_ROOM_TEMPERATURE`, leaving out ``skip``'s.

    Parameters
    ----------
    temperature : array_like of float
        One temperature per row, °C.
    skip : sequence, optional
        Per row, a truthy value for rows to leave out (already refused).

    Returns
    -------
    list of int
        The rows.
    """
    lo, hi = KELVIN_ROOM_TEMPERATURE
    return [i for i, t in enumerate(np.atleast_1d(np.asarray(temperature, dtype=float)))
            if lo <= t <= hi and not (skip is not None and skip[i])]


def warn_if_kelvin_like(temperature, skip=None, stacklevel: int = 3) -> None:
    """Warn (``MlsseWarning``) if a temperature may be room temperature given in kelvin.

    A temperature in :data:`KELVIN_ROOM_TEMPERATURE` is predicted (300 °C is a real measuring temperature), but
    the user is told how it would read as kelvin.

    Parameters
    ----------
    temperature : float or array_like
        Temperature(s), °C: one, or one per query row.
    skip : sequence, optional
        Per row, a truthy value for rows to leave out (already refused).
    stacklevel : int, default 3
        Passed to :func:`warnings.warn`: 3 points at the caller of the function that calls this one.
    """
    temperature = np.atleast_1d(np.asarray(temperature, dtype=float))
    suspect = kelvin_like_rows(temperature, skip)
    if suspect:
        t = temperature[suspect[0]]
        rows = "" if len(temperature) == 1 else (" (query row(s) " + ", ".join(str(i + 1) for i in suspect[:5])
                                                 + (" …" if len(suspect) > 5 else "") + ")")
        warnings.warn(f"σ predicted at {t:g} °C{rows}; if that is kelvin, it is {t - KELVIN_OFFSET:g} °C: give °C",
                      MlsseWarning, stacklevel=stacklevel)


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
