"""Doping: charge-balanced substituted compositions and ranked, explained scans.

``mlsse.doping.scan`` and ``mlsse.doping.dope`` load on first use, so the command line starts fast.
"""

__all__ = ["scan", "dope", "Compensation", "DopingError"]


def __getattr__(name):
    if name == "scan":
        from mlsse.doping.scanning import scan

        return scan
    if name in ("dope", "Compensation", "DopingError"):
        from mlsse.doping import substitution

        return getattr(substitution, name)
    raise AttributeError(f"module 'mlsse.doping' has no attribute {name!r}")
