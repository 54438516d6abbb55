"""Doping: charge-balanced substituted compositions and ranked, explained scans."""

from mlsse.doping.scan import scan
from mlsse.doping.substitution import Compensation, DopingError, dope

__all__ = ["scan", "dope", "Compensation", "DopingError"]
