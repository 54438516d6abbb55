"""Merge every source into one curated table, de-duplicate it, and describe it in a data card."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.chemistry import composition_key
from mlsse.data.activation import derive_activation_energies
from mlsse.data.laskowski import LASKOWSKI_DOI_FILE, LASKOWSKI_FILE, load_laskowski
from mlsse.data.liverpool import LIVERPOOL_FILE, load_liverpool
from mlsse.data.obelix import OBELIX_CIF_ARCHIVE, OBELIX_FILE, load_obelix
from mlsse.data.schema import CURATED_COLUMNS, family_name
from mlsse.data.seed import SEED_FILE, load_seed
from mlsse.errors import DataError
from mlsse.io import write_csv_atomic, write_text_atomic
from mlsse.paths import DATASETS_DIR, cache_dir, external_data_dir
from mlsse.temperature import ROOM_TEMPERATURE_RANGE_C

CURATED_FILE = "curated.csv"
DATA_CARD_FILE = "data_card.json"
PROBLEMS_FILE = "problems.csv"
#: Preference when two sources hold the same measurement and are equally complete.
SOURCE_PRIORITY = {"seed": 0, "obelix": 1, "laskowski": 2, "liverpool": 3, "user": 4}
#: Temperatures closer than this (°C) count as the same measurement temperature.
SAME_TEMPERATURE_C = 2.0
#: Fields that make a record more complete.
_COMPLETENESS = ["sigma_S_cm", "ea_eV", "temperature_C", "space_group_number", "a", "cif", "family"]
#: Fields a kept record takes from the duplicates it replaces when it lacks them.
_FILLABLE = ["ea_eV", "space_group", "space_group_number", "a", "b", "c", "alpha", "beta", "gamma", "cif", "family"]
#: The curated table's row order (a stable sort, so rows equal in these keep the order they were loaded in).
ROW_ORDER = ["source", "source_file", "source_line", "value_origin"]


@dataclass
class BuildResult:
    """The curated table, what was dropped as duplicate, and what could not be read.

    Attributes
    ----------
    table : pandas.DataFrame
        The curated rows (:data:`~mlsse.data.schema.CURATED_COLUMNS`).
    duplicates_removed : int
        Rows dropped as the same measurement held by another source.
    problems : list of DataError
        Source rows not used, each with its file and line.
    card : dict
        The data card (:func:`data_card`) with the inputs' fingerprint under ``inputs_sha256``.
    """

    table: pd.DataFrame
    duplicates_removed: int
    problems: list[DataError] = field(default_factory=list)
    card: dict = field(default_factory=dict)


def default_data_dir() -> Path:
    """Return where ``mlsse data build`` writes by default: ``<MLSSE_HOME>/cache/data``."""
    return cache_dir() / "data"


def build_curated(external_dir: str | Path | None = None, seed_path: str | Path | None = None,
                  extra: pd.DataFrame | None = None) -> BuildResult:
    """Load seed, OBELiX, Liverpool (+ Arrhenius Ea) and Laskowski rows, merge and de-duplicate them.

    Parameters
    ----------
    external_dir : str or pathlib.Path, optional
        Directory of the public data files (:func:`mlsse.paths.external_data_dir`).
    seed_path : str or pathlib.Path, optional
        The seed transcription; default ``datasets/seed_literature.csv``.
    extra : pandas.DataFrame, optional
        More rows with the curated columns (e.g. the user's own measurements), merged in the same way.

    Returns
    -------
    BuildResult
        The table sorted by source, file, line and value origin, with its data card.

    Raises
    ------
    DataError
        If a source file is missing or cannot be read at all.
    """
    problems: list[DataError] = []
    frames = []
    for loader, kwargs in ((load_seed, {"path": seed_path}), (load_obelix, {"external_dir": external_dir}),
                           (load_liverpool, {"external_dir": external_dir}),
                           (load_laskowski, {"external_dir": external_dir})):
        frame, found = loader(**kwargs)
        frames.append(frame)
        problems.extend(found)
        if loader is load_liverpool:
            frames.append(derive_activation_energies(frame))
    if extra is not None and len(extra):
        frames.append(extra[CURATED_COLUMNS])
    frames = [f.astype(object) for f in frames if len(f)]  # uniform dtype: concat never guesses from empties
    table = pd.concat(frames, ignore_index=True)
    table = _with_numeric_types(table)
    before = len(table)
    table = deduplicate(table)
    table = table.sort_values(ROW_ORDER, kind="stable")
    table = table.reset_index(drop=True)
    result = BuildResult(table=table, duplicates_removed=before - len(table), problems=problems)
    result.card = data_card(table, duplicates_removed=result.duplicates_removed, problems=problems)
    result.card["inputs_sha256"] = inputs_fingerprint(external_dir, seed_path)
    return result


def merge_curated(table: pd.DataFrame, extra: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Merge more rows into a built curated table as :func:`build_curated` would, without reading the sources.

    ``build_curated(extra=extra).table`` is ``build_curated().table`` with the ``extra`` rows typed and sorted in,
    as long as no ``extra`` row is a duplicate candidate of a table row (:func:`deduplicate`: same composition
    and DOI reference) and no two ``extra`` rows of different sources are; then this returns that table, equal
    cell for cell (and so the same :func:`table_sha256`), in milliseconds instead of a rebuild. Otherwise only a
    rebuild from the sources de-duplicates them (the rows a build dropped are not in ``table``), and it returns
    None.

    Parameters
    ----------
    table : pandas.DataFrame
        A built curated table without extra rows (:func:`build_curated` or :func:`load_curated`).
    extra : pandas.DataFrame
        Rows with the curated columns (as ``build_curated``'s ``extra``), e.g. the lab batches.

    Returns
    -------
    (pandas.DataFrame, numpy.ndarray) or None
        The merged table (RangeIndex) and, for each of its rows, its position in ``table`` followed by ``extra``
        (so a row-for-row companion of the two, such as a feature table, is merged with ``companion[order]``);
        None when only a rebuild gives the merged table.
    """
    combined = pd.concat([table[CURATED_COLUMNS].astype(object), extra[CURATED_COLUMNS].astype(object)],
                         ignore_index=True)
    combined = _with_numeric_types(combined)
    added = combined.iloc[len(table):]
    candidates = added[added["reference"].str.startswith("10.")]
    if len(candidates):
        keys = candidates["composition"].map(composition_key)
        if candidates.groupby([keys, candidates["reference"]])["source"].nunique().gt(1).any():
            return None
        base = combined.iloc[:len(table)]
        base = base[base["reference"].isin(set(candidates["reference"]))]
        if set(zip(keys, candidates["reference"])) & set(zip(base["composition"].map(composition_key),
                                                                base["reference"])):
            return None
    order = combined.sort_values(ROW_ORDER, kind="stable").index.to_numpy()
    return combined.loc[order].reset_index(drop=True), order


def _with_numeric_types(table: pd.DataFrame) -> pd.DataFrame:
    numeric = ["sigma_S_cm", "log10_sigma", "temperature_C", "ea_eV", "space_group_number", "a", "b", "c",
               "alpha", "beta", "gamma", "additive_wt_pct", "dopant_level", "arrhenius_r2", "source_line"]
    for column in numeric:
        # Python's float() reads back exactly what to_csv wrote; pd.to_numeric's faster parser can be one ulp off,
        # which would make the table's SHA-256 (a model's data version) differ between a cached and a fresh table.
        converted = pd.to_numeric(table[column], errors="coerce")
        if converted.dtype.kind == "f" and table[column].dtype == object:
            parsed = converted.notna()
            converted[parsed] = table[column][parsed].astype(float)
        table[column] = converted
    text = [c for c in CURATED_COLUMNS if c not in numeric and c != "censored"]
    table[text] = table[text].astype(object).where(table[text].notna(), "").astype(str)
    table["censored"] = table["censored"].astype(bool)
    table["family"] = table["family"].map(family_name)
    return table


def deduplicate(table: pd.DataFrame) -> pd.DataFrame:
    """Drop the same measurement held by several sources.

    Records are the same measurement when they share the composition (up to scaling), the reference (a DOI),
    the temperature (a chain of values at most :data:`SAME_TEMPERATURE_C` apart) and the kind of value
    (measured σ vs fitted Ea). Of such records from several sources, the most complete is kept (ties go by
    :data:`SOURCE_PRIORITY`), takes missing fields (Ea, structure, CIF, family) from the ones it drops, and
    names them in its ``note``; the other records of its own source are kept too (they are separate
    measurements in that source).

    Parameters
    ----------
    table : pandas.DataFrame
        Curated rows with numeric columns parsed.

    Returns
    -------
    pandas.DataFrame
        The rows kept, with the curated columns, in their order.
    """
    work = table.copy()
    work["_key"] = work["composition"].map(composition_key)
    work["_fit"] = work["value_origin"].eq("arrhenius-fit")
    work["_complete"] = sum(_present(work[c]) for c in _COMPLETENESS)
    work["_priority"] = work["source"].map(SOURCE_PRIORITY).fillna(9)
    work["_cluster"] = _temperature_clusters(work)
    keep = np.ones(len(work), dtype=bool)
    present = pd.DataFrame({column: _present(work[column]) for column in _FILLABLE})
    has_reference = work["reference"].str.startswith("10.")
    groups = work[has_reference].groupby(["_key", "reference", "_fit", "_cluster"], sort=False).groups
    for _, index in groups.items():
        if len(index) < 2:
            continue
        group = work.loc[index]
        if group["source"].nunique() < 2:
            continue
        best = group.sort_values(["_complete", "_priority"], ascending=[False, True]).index[0]
        best_source = work.at[best, "source"]
        dropped = group[group["source"] != best_source]
        for column in _FILLABLE:
            if not present.at[best, column]:
                donors = dropped.index[present.loc[dropped.index, column].to_numpy()]
                if len(donors):
                    work.at[best, column] = work.at[donors[0], column]
        merged = ", ".join(f"{s} line {int(line)}" for s, line in zip(dropped["source"], dropped["source_line"]))
        work.at[best, "note"] = "; ".join(x for x in (work.at[best, "note"], f"merged duplicate: {merged}") if x)
        keep[work.index.get_indexer(dropped.index)] = False
    return work.loc[keep, CURATED_COLUMNS]


def _present(values: pd.Series) -> pd.Series:
    return values.notna() & values.astype(str).str.strip().ne("") & values.astype(str).ne("nan")


def _temperature_clusters(work: pd.DataFrame) -> pd.Series:
    """Label temperatures within one (composition, reference) so that values ≤ 2 °C apart share a label."""
    clusters = pd.Series(0, index=work.index)
    temperature = work["temperature_C"].fillna(-1000.0)
    for _, index in work.groupby(["_key", "reference"], sort=False).groups.items():
        ordered = temperature.loc[index].sort_values()
        label, previous = 0, None
        for row, value in ordered.items():
            if previous is not None and value - previous > SAME_TEMPERATURE_C:
                label += 1
            clusters.at[row] = label
            previous = value
    return clusters


def data_card(table: pd.DataFrame, duplicates_removed: int = 0, problems: list[DataError] | None = None) -> dict:
    """Summarise the curated table in a data card.

    Parameters
    ----------
    table : pandas.DataFrame
        The curated table.
    duplicates_removed : int, default 0
        Rows :func:`deduplicate` dropped.
    problems : list of DataError, optional
        Source rows not used.

    Returns
    -------
    dict
        ``data_sha256`` (:func:`table_sha256`, the data version), ``rows``, ``unique_compositions``,
        ``duplicates_removed``, ``problems`` (a count), ``per_source`` (rows, with σ, with Ea, with a CIF, off
        room temperature, censored, unique compositions) and ``per_family`` (rows).
    """
    lo, hi = ROOM_TEMPERATURE_RANGE_C
    off_rt = table["temperature_C"].notna() & ~table["temperature_C"].between(lo, hi)
    per_source = {}
    for source, group in table.groupby("source", sort=True):
        per_source[source] = {
            "rows": int(len(group)),
            "with_sigma": int(group["sigma_S_cm"].notna().sum()),
            "with_ea": int(group["ea_eV"].notna().sum()),
            "with_cif": int(group["cif"].ne("").sum()),
            "non_room_temperature": int(off_rt[group.index].sum()),
            "censored": int(group["censored"].sum()),
            "unique_compositions": int(group["composition"].map(composition_key).nunique()),
        }
    families = table["family"].replace("", "(none)").str.lower().value_counts()
    return {
        "data_sha256": table_sha256(table),
        "rows": int(len(table)),
        "unique_compositions": int(table["composition"].map(composition_key).nunique()),
        "duplicates_removed": int(duplicates_removed),
        "problems": len(problems or []),
        "per_source": per_source,
        "per_family": {k: int(v) for k, v in families.items()},
    }


def table_sha256(table: pd.DataFrame) -> str:
    """Return the SHA-256 of the table's CSV text: the version of the data a model was trained on.

    Parameters
    ----------
    table : pandas.DataFrame
        The table.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    return hashlib.sha256(table.to_csv(index=False).encode("utf-8")).hexdigest()


def write_build(result: BuildResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``curated.csv``, ``problems.csv`` and ``data_card.json`` into ``out_dir``, each atomically.

    The card's input fingerprint is what marks the table current (:func:`load_curated`), so the old card goes
    first and the new one comes last: an interrupted write leaves a table that is rebuilt, never one trusted
    under another build's card.

    Parameters
    ----------
    result : BuildResult
        What :func:`build_curated` returned.
    out_dir : str or pathlib.Path
        The directory; created if missing.

    Returns
    -------
    dict of str to pathlib.Path
        The files written, keyed ``curated``, ``problems`` and ``card``.
    """
    out_dir = Path(out_dir)
    problems = pd.DataFrame([{"file": str(p.path or ""), "line": p.line, "column": p.column or "",
                              "problem": p.problem} for p in result.problems],
                            columns=["file", "line", "column", "problem"])
    (out_dir / DATA_CARD_FILE).unlink(missing_ok=True)
    written = {"curated": write_csv_atomic(result.table, out_dir / CURATED_FILE),
               "problems": write_csv_atomic(problems, out_dir / PROBLEMS_FILE)}
    written["card"] = write_text_atomic(json.dumps(result.card, indent=2) + "\n", out_dir / DATA_CARD_FILE)
    return written


def inputs_fingerprint(external_dir: str | Path | None = None, seed_path: str | Path | None = None) -> str:
    """Return a fingerprint of everything a curated table is built from.

    A cached table built from other inputs, or by other loading code, is stale.

    Parameters
    ----------
    external_dir : str or pathlib.Path, optional
        Directory of the public data files (:func:`mlsse.paths.external_data_dir`).
    seed_path : str or pathlib.Path, optional
        The seed transcription; default ``datasets/seed_literature.csv``.

    Returns
    -------
    str
        SHA-256 hex digest over the package version, the input files (a missing one counts as missing) and the
        source of the modules in ``mlsse/data``.

    Raises
    ------
    DataError
        If the external data directory does not exist.
    """
    directory = external_data_dir(external_dir)
    paths = [Path(seed_path) if seed_path else DATASETS_DIR / SEED_FILE] + [
        directory / name for name in (OBELIX_FILE, OBELIX_CIF_ARCHIVE, LIVERPOOL_FILE, LASKOWSKI_FILE,
                                      LASKOWSKI_DOI_FILE)]
    digest = hashlib.sha256(importlib.metadata.version("mlsse").encode())
    # The loaders' code too, and the shared modules they read with (formulas, tables, temperatures): a fix in how a
    # source is read must reach tables cached before it.
    package = Path(__file__).parent.parent
    code = sorted(Path(__file__).parent.glob("*.py"))
    for name in ("chemistry", "io", "temperature"):  # a module, or a package of them
        code += sorted((package / name).glob("*.py")) if (package / name).is_dir() else [package / f"{name}.py"]
    for path in paths + code:
        digest.update((str(path.relative_to(package)) if path in code else path.name).encode())
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
    return digest.hexdigest()


def load_curated(data_dir: str | Path | None = None, external_dir: str | Path | None = None) -> pd.DataFrame:
    """Return the curated table, from the cache when it is current.

    Parameters
    ----------
    data_dir : str or pathlib.Path, optional
        Where the table is cached; default ``<MLSSE_HOME>/cache/data`` (:func:`default_data_dir`).
    external_dir : str or pathlib.Path, optional
        Directory of the public data files (:func:`mlsse.paths.external_data_dir`).

    Returns
    -------
    pandas.DataFrame
        The curated table, rebuilt and cached when absent or built from other inputs
        (:func:`inputs_fingerprint`).
    """
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    path = data_dir / CURATED_FILE
    fingerprint = inputs_fingerprint(external_dir)
    card_path = data_dir / DATA_CARD_FILE
    try:
        cached = json.loads(card_path.read_text(encoding="utf-8")).get("inputs_sha256") == fingerprint
    except (OSError, ValueError, AttributeError):  # absent or damaged card: the table is not trusted
        cached = False
    if not (cached and path.is_file()):
        result = build_curated(external_dir=external_dir)
        write_build(result, data_dir)
        return result.table
    return _with_numeric_types(pd.read_csv(path, dtype=str, keep_default_na=False).assign(
        censored=lambda f: f["censored"].eq("True")))
