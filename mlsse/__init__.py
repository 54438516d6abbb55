"""mlsse: machine-learning property predictor for lithium solid-state electrolytes.

Predicts log10 ionic conductivity (S/cm) and activation energy (eV) from composition and, where known,
structure. Heavy libraries load on first use so that ``import mlsse`` and ``mlsse --help`` stay fast.
"""

__version__ = "0.1.0"
