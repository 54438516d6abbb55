"""References: normalised DOIs, and which references name one paper (the groups no split may cut)."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from mlsse.paths import DATASETS_DIR

#: The seed papers' DOIs, as printed in the dumps in ``../shared/seeds/`` (transcribed into ``datasets/``).
SEED_PAPERS_PATH = DATASETS_DIR / "seed_papers.csv"


def normalize_doi(doi: object) -> str:
    """Return a DOI in lower case without a resolver prefix.

    Parameters
    ----------
    doi : object
        A DOI as a source gives it (``https://doi.org/10.1021/IC030208W``, ``doi:…``), or None/NaN.

    Returns
    -------
    str
        E.g. ``10.1021/ic030208w``; ``""`` if empty.
    """
    text = "" if doi is None or (isinstance(doi, float) and pd.isna(doi)) else str(doi).strip()
    for prefix in ("https://doi.org/", "http://doi.org/", "http://dx.doi.org/", "doi:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix):]
    return text.lower()


_DOI = re.compile(r"10\.\d{4,9}/[^\s;,]+")
#: Supporting-information DOIs (``10.1021/acs.chemmater.7b05139.s006``) name a file of the paper they extend.
_SUPPORTING_INFO_SUFFIX = re.compile(r"\.s\d{3}$")


def reference_keys(reference: str) -> list[str]:
    """Return the keys of the papers a reference names.

    Parameters
    ----------
    reference : str
        A curated ``reference`` cell: one or more DOIs, a seed file and location, or free text.

    Returns
    -------
    list of str
        Its DOIs (lower case, without a supporting-information ``.sNNN`` suffix, each once); else the seed file
        for rows transcribed from ``../shared/seeds/`` (``003_x.txt Table 2`` → ``003_x.txt``); else the whole
        reference in lower case (``"unknown"`` if empty).
    """
    reference = str(reference).strip()
    dois = [_SUPPORTING_INFO_SUFFIX.sub("", doi.lower().rstrip(".")) for doi in _DOI.findall(reference)]
    if dois:
        return list(dict.fromkeys(dois))
    first_word = reference.split(" ", 1)[0]
    if first_word.endswith(".txt"):
        return [first_word]
    return [reference.lower() or "unknown"]


def paper_group_map(references) -> dict[str, str]:
    """Map each reference to its paper group, so one paper never lands on both sides of a split.

    References that share any key (:func:`reference_keys`) are one group, also through chains (``A; B`` joins
    ``A`` and ``B``). Build the map over every table whose rows meet in one split.

    Parameters
    ----------
    references : iterable
        Reference cells (converted with ``str``); repeats are fine.

    Returns
    -------
    dict of str to str
        Each distinct reference → its group's name, the group's alphabetically first key, so the same
        references always give the same names.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    unique = sorted(set(map(str, references)))
    keys_of = {reference: reference_keys(reference) for reference in unique}
    keys = sorted({key for ks in keys_of.values() for key in ks})
    index = {key: i for i, key in enumerate(keys)}
    # Each reference links its first key to the others; a component is a set of keys naming one paper.
    edges = [(index[ks[0]], index[k]) for ks in keys_of.values() for k in ks]
    rows, cols = zip(*edges) if edges else ((), ())
    _, label = connected_components(coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(len(keys),) * 2),
                                    directed=False)
    name = {}
    for key, component in zip(keys, label):
        name.setdefault(component, key)  # keys are sorted, so the first seen is the smallest
    return {reference: name[label[index[ks[0]]]] for reference, ks in keys_of.items()}


@lru_cache(maxsize=1)
def seed_paper_dois() -> dict[str, str]:
    """Return {seed file name: its paper's DOI} from :data:`SEED_PAPERS_PATH` (empty if the file is absent)."""
    if not SEED_PAPERS_PATH.is_file():
        return {}
    papers = pd.read_csv(SEED_PAPERS_PATH, dtype=str).fillna("")
    return {row.seed_file: row.doi for row in papers.itertuples() if row.doi}


def reference_label(references: object) -> str:
    """Return a "; "-separated list of paper groups as a reader looks them up: a seed file by its paper's DOI.

    Training rows transcribed from ``../shared/seeds/`` are grouped under the file they came from
    (``000_878e6fb3c4b52443.txt``), a name that means nothing outside this project; the label names the paper.

    Parameters
    ----------
    references : object
        Group names as :func:`paper_group_map` gives them, "; "-separated (an evidence column's cell); blank or
        NaN gives ``""``.

    Returns
    -------
    str
        The same list with each seed file replaced by its paper's DOI (``000_878e6fb3c4b52443.txt`` →
        ``10.1039/d5eb00116a``), as the other sources' papers are named; the file stays in the data's ``reference``.
    """
    if references is None or (isinstance(references, float) and pd.isna(references)):
        return ""
    dois = seed_paper_dois()
    parts = []
    for part in str(references).split("; "):
        # "X and 2 more": the count after the last name stays as it is.
        name, _, rest = part.partition(" and ")
        label = dois.get(name, name)
        parts.append(label + (f" and {rest}" if rest else ""))
    return "; ".join(parts)
