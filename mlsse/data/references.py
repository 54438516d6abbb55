"""References: normalised DOIs, and which references name one paper (the groups no split may cut)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd


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
