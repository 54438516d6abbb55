"""mlsse: machine-learning property predictor for lithium solid-state electrolytes.

Predicts log10 ionic conductivity (S/cm) and activation energy (eV) from composition and, where known,
structure. Heavy libraries load on first use so that ``import mlsse`` and ``mlsse --help`` stay fast.
"""

__version__ = "0.1.0"

__all__ = ["predict", "rank", "__version__"]


def __getattr__(name):
    # Lazy so that `import mlsse` stays light: pymatgen, matminer and xgboost load on first prediction.
    if name == "predict":
        from mlsse.api import predict

        return predict
    if name == "rank":
        from mlsse.doping.ranking import rank

        return rank
    if name == "doping":
        import importlib

        return importlib.import_module("mlsse.doping")
    raise AttributeError(f"module 'mlsse' has no attribute {name!r}")
