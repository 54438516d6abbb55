"""Features for Li solid-state electrolytes: composition, process, lattice and structure blocks.

- :mod:`~mlsse.features.preset`: the frozen feature preset (``FEATURIZER_VERSION``), its columns and settings;
- :mod:`~mlsse.features.composition`: the composition blocks for many formulas at once (vectorised);
- :mod:`~mlsse.features.featurizers`: the same blocks with matminer's featurizer contract;
- :mod:`~mlsse.features.process`, :mod:`~mlsse.features.structure`: process, lattice and structure blocks;
- :mod:`~mlsse.features.table`: the whole feature table of curated rows (:func:`featurize_table`);
- :mod:`~mlsse.features.elements`, :mod:`~mlsse.features.cache`, :mod:`~mlsse.features.names`: element tables, the
  on-disk cache, and the names a chemist reads.

Layer: this package imports ``mlsse.data`` and the modules under ``mlsse`` that import nothing of it.
"""

from mlsse.features.composition import featurize_compositions
from mlsse.features.preset import FEATURIZER_VERSION
from mlsse.features.table import featurize_table

__all__ = ["FEATURIZER_VERSION", "featurize_compositions", "featurize_table"]
