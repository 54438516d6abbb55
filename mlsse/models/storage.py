"""Saved models: how a :class:`~mlsse.models.predictor.Predictor` is written to a directory and read back.

A saved model is a directory: ``sigma-0.ubj.gz``, ``sigma-1.ubj.gz``, ``sigma-2.ubj.gz``, ``sigma-censored.ubj.gz``,
``ea-0.ubj.gz`` (XGBoost's native binary JSON, gzipped with a zero timestamp so equal models give equal bytes; one
per member of a model, boosters then forests, then the censor classifier if the model has one), ``metadata.json``
(feature names, interval widths, domain state, measured σ of the training compositions, library versions, data
hash, seed, metrics) and ``MODEL_CARD.md``. Nothing is pickled. Loading checks the layout's format and the feature
preset, and names what is missing or damaged.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import re
import zlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from mlsse.errors import ModelError
from mlsse.features import FEATURIZER_VERSION
from mlsse.io import atomic_directory, atomic_path, write_text_atomic
from mlsse.models.card import model_card
from mlsse.models.domain import ApplicabilityDomain
from mlsse.models.ensemble import checked_view_columns, forest_columns
from mlsse.models.estimator import ConformalBoostedRegressor
from mlsse.models.evidence import MeasuredCompositions
from mlsse.models.predictor import Predictor
from mlsse.models.ranking import SeriesRanker

#: Version of the saved-model layout; loading refuses other major versions.
MODEL_FORMAT = "mlsse-model/6"
#: Formats this mlsse loads: 5 adds the optional ranking member to 4; 6 lets the Ea model read the σ model's
#: prediction (``ea_reads_predicted_log10_sigma``), which an older mlsse would not give it.
READABLE_FORMATS = ("mlsse-model/4", "mlsse-model/5", MODEL_FORMAT)


#: File suffix of each saved booster.
BOOSTER_SUFFIX = ".ubj.gz"


#: File stem (after ``sigma-`` / ``ea-``) of a model's censor classifier.
CENSOR_STEM = "censored"
#: File stem (after ``sigma-``) of the σ model's ranking member.
RANKER_STEM = "ranker"


#: Files a saved model directory may hold (besides these, nothing: anything else means it is not only a model).
_MODEL_FILE = re.compile(r"(metadata\.json|MODEL_CARD\.md|(sigma|ea)-(\d+|" + CENSOR_STEM + "|" + RANKER_STEM + r")"
                         + re.escape(BOOSTER_SUFFIX) + ")")


def is_model_directory(directory: str | Path) -> bool:
    """Return whether a directory holds a saved mlsse model and nothing else, so a new save may replace it whole.

    Parameters
    ----------
    directory : str or pathlib.Path
        The directory.

    Returns
    -------
    bool
        True if it has a ``metadata.json`` of an ``mlsse-model/`` format and otherwise only a card and booster
        files.
    """
    directory = Path(directory)
    try:
        metadata = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(metadata, dict) and str(metadata.get("format", "")).startswith("mlsse-model/")
            and not _foreign_entries(directory))


def _foreign_entries(directory: Path) -> list[str]:
    """Names in ``directory`` that a saved model does not have (sorted)."""
    return sorted(p.name for p in directory.iterdir() if not (p.is_file() and _MODEL_FILE.fullmatch(p.name)))


def check_model_target(directory: str | Path) -> None:
    """Check that a model can be saved at a directory.

    Called before training, so a long run does not end in this error.

    Parameters
    ----------
    directory : str or pathlib.Path
        Where the model would be saved.

    Raises
    ------
    ModelError
        If it is a file, a symbolic link, the working directory or one of its parents, or a directory holding
        anything but an mlsse model (which a save replaces whole).
    """
    directory = Path(directory)
    problem = None
    if directory.is_symlink():
        raise ModelError(f"cannot save a model at {directory}: it is a symbolic link; give the directory it "
                         "points to, or a new one")
    if directory.exists() and not directory.is_dir():
        problem = "a file"
    elif directory.exists() and (Path.cwd() == directory.resolve() or directory.resolve() in Path.cwd().parents):
        problem = "the working directory or one of its parents"
    elif directory.exists() and any(directory.iterdir()) and not is_model_directory(directory):
        foreign = _foreign_entries(directory)
        problem = ("a directory holding " + ", ".join(foreign[:3]) + (" and more" if len(foreign) > 3 else "")
                   if foreign else "a directory whose metadata.json is not an mlsse model's")
    if problem:
        raise ModelError(f"cannot save a model at {directory}: it is {problem}, which a save would replace; "
                         "name a new or empty directory")


def _load_booster(path: Path, booster):
    """Load a gzipped UBJ file written by :func:`save_model` into ``booster``; ``ModelError`` if missing."""
    if not path.is_file():
        raise ModelError(f"model at {path.parent} is incomplete: {path.name} missing")
    try:
        booster.load_model(bytearray(gzip.decompress(path.read_bytes())))
    # XGBoostError is a ValueError; a corrupted gzip stream raises zlib.error, a truncated one EOFError.
    except (ValueError, OSError, EOFError, zlib.error) as exc:
        raise ModelError(f"model at {path.parent} is damaged: {path.name} cannot be read "
                         f"({type(exc).__name__}: {_first_line(exc)}); retrain it or use another "
                         "(mlsse models list)") from None
    return booster


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def save_model(predictor, directory: str | Path) -> Path:
    """Write a predictor to a model directory.

    The files are written into a new directory that then takes ``directory``'s name, so an earlier model
    there is replaced whole (never mixed with the new files, never left with stale members).

    Parameters
    ----------
    predictor : Predictor
        The trained predictor (its models fitted with ``calibrate=True``).
    directory : str or pathlib.Path
        The model directory.

    Returns
    -------
    pathlib.Path
        ``directory``.

    Raises
    ------
    ModelError
        Before anything is written, if ``directory`` cannot take a model (:func:`check_model_target`).
    """
    directory = Path(directory)
    check_model_target(directory)
    with atomic_directory(directory, replaceable=is_model_directory) as staging:
        _write_files(predictor, staging)
    return directory


def _write_files(predictor, directory: Path) -> None:
    for name, model in (("sigma", predictor.sigma_model), ("ea", predictor.ea_model)):
        classifier = getattr(model, "censor_classifier_", None)
        files = [(f"{name}-{i}", booster) for i, booster in enumerate(model.boosters_)]
        if classifier is not None:
            files.append((f"{name}-{CENSOR_STEM}", classifier))
        if name == "sigma" and predictor.ranker is not None:
            files.append((f"{name}-{RANKER_STEM}", predictor.ranker.booster_))
        for stem, booster in files:
            with atomic_path(directory / f"{stem}{BOOSTER_SUFFIX}") as tmp:
                raw = tmp.with_suffix(".ubj")  # XGBoost picks the format by suffix
                booster.save_model(raw)
                tmp.write_bytes(gzip.compress(raw.read_bytes(), mtime=0))
                raw.unlink()
    metadata = dict(predictor.metadata)
    metadata.update({
        "format": MODEL_FORMAT,
        "feature_names": predictor.feature_names,
        "domain_features": predictor.domain_features,
        "domain": predictor.domain.to_dict(),
        "sigma_interval_half_width": predictor.sigma_model.interval_half_width_,
        "ea_interval_half_width": predictor.ea_model.interval_half_width_,
        "interval_half_widths": predictor.half_widths,
        "sigma_params": predictor.sigma_model.get_params(),
        "ea_params": predictor.ea_model.get_params(),
        "sigma_censor_classifier": getattr(predictor.sigma_model, "censor_classifier_", None) is not None,
        "ea_censor_classifier": getattr(predictor.ea_model, "censor_classifier_", None) is not None,
        "measured_log10_sigma": predictor.measured.values if predictor.measured is not None else None,
        "sigma_ranker": predictor.ranker is not None,
        "ea_reads_predicted_log10_sigma": predictor.ea_reads_predicted_log10_sigma,
    })
    write_text_atomic(json.dumps(metadata, indent=1, sort_keys=True) + "\n", directory / "metadata.json")
    write_text_atomic(model_card(metadata), directory / "MODEL_CARD.md")


def load_model(directory: str | Path):
    """Load a model directory written by :func:`save_model`.

    Parameters
    ----------
    directory : str or pathlib.Path
        The model directory.

    Returns
    -------
    Predictor
        The predictor.

    Raises
    ------
    ModelError
        If the model is missing (with a hint when an interrupted save left the earlier one aside), incomplete
        or inconsistent, was written in another format or on other features, or a file is damaged.
    """
    directory = Path(directory)
    meta_path = directory / "metadata.json"
    if not meta_path.is_file():
        aside = sorted(directory.parent.glob(f".{glob.escape(directory.name)}.*.old"))
        hint = (f"; a save killed half-way left the earlier model at {aside[-1]}: rename it back to "
                f"{directory.name}" if aside and not directory.exists() else "")
        raise ModelError(f"no model at {directory} (metadata.json missing){hint}")
    try:
        metadata = _trusted_metadata(directory)
    except _Untrusted as exc:
        raise ModelError(f"model at {directory} is damaged: {exc}; retrain it or use another "
                         "(mlsse models list)") from None
    try:
        return _load(directory, metadata)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # the boosters name their own files
        raise ModelError(f"model at {directory} is damaged: metadata.json has a missing or wrong field "
                         f"({type(exc).__name__}: {_first_line(exc)}); retrain it or use another "
                         "(mlsse models list)") from None


class _Untrusted(Exception):
    """Why a model directory's files cannot be trusted; the text names the file."""


def _trusted_metadata(directory: Path) -> dict:
    """Return a model directory's metadata, after the checks :func:`load_model` and :func:`model_problem` share:
    no file is a symlink (it would load another model's member without a word), and ``metadata.json`` is a
    readable JSON object. Raises :class:`_Untrusted` otherwise."""
    for path in sorted(directory.iterdir()):
        if path.is_symlink():
            raise _Untrusted(f"{path.name} is a symlink (to {os.readlink(path)}); a model's files are its own")
    try:
        metadata = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise _Untrusted(f"metadata.json cannot be read ({type(exc).__name__}: {_first_line(exc)})") from None
    if not isinstance(metadata, dict):
        raise _Untrusted(f"metadata.json holds a {type(metadata).__name__}, not an object")
    return metadata


def model_problem(directory: str | Path) -> str | None:
    """Return why a model directory cannot be trusted, without loading its boosters into XGBoost, or None.

    Checks what :func:`load_model` would trip on first: ``metadata.json`` missing, unreadable or not an object, a
    file that is a symlink, a booster file that does not decompress (truncated, garbage). A field of the wrong
    type is found only by :func:`load_model`.

    Parameters
    ----------
    directory : str or pathlib.Path
        The model directory.

    Returns
    -------
    str or None
        The problem, naming the file.
    """
    directory = Path(directory)
    if not (directory / "metadata.json").is_file():
        return "metadata.json missing"
    try:
        _trusted_metadata(directory)
    except _Untrusted as exc:
        return str(exc)
    for path in sorted(directory.glob(f"*{BOOSTER_SUFFIX}")):
        try:
            gzip.decompress(path.read_bytes())
        except (OSError, EOFError, zlib.error) as exc:
            return f"{path.name} cannot be read ({type(exc).__name__})"
    return None


def _load(directory: Path, metadata: dict):
    from xgboost import XGBClassifier, XGBRegressor

    if metadata.get("format") not in READABLE_FORMATS:
        raise ModelError(f"model at {directory} has format {metadata.get('format')!r}; this mlsse reads "
                         f"{MODEL_FORMAT!r}: retrain it with this version (mlsse train)")
    if metadata.get("featurizer_version") != FEATURIZER_VERSION:
        raise ModelError(f"model at {directory} was trained on features {metadata.get('featurizer_version')!r}, "
                         f"this mlsse computes {FEATURIZER_VERSION!r}: retrain it (mlsse train)")
    models = {}
    ea_reads_sigma = bool(metadata.get("ea_reads_predicted_log10_sigma", False))
    for name in ("sigma", "ea"):
        estimator = ConformalBoostedRegressor(**metadata[f"{name}_params"])
        n_features = len(metadata["feature_names"]) + (1 if name == "ea" and ea_reads_sigma else 0)
        estimator.view_columns_ = checked_view_columns(estimator.views, n_features)
        estimator.forest_columns_ = forest_columns(estimator.forest_views, n_features)
        estimator.boosters_ = [_load_booster(directory / f"{name}-{i}{BOOSTER_SUFFIX}", XGBRegressor())
                               for i in range(len(estimator.members()))]
        classifier_path = directory / f"{name}-{CENSOR_STEM}{BOOSTER_SUFFIX}"
        has_classifier = metadata.get(f"{name}_censor_classifier")
        # Without the classifier such a model would load and predict other numbers, silently.
        if has_classifier is None or (not has_classifier and classifier_path.exists()):
            raise ModelError(f"model at {directory} is inconsistent: metadata.json says "
                             f"{name}_censor_classifier={has_classifier!r} but {classifier_path.name} "
                             f"{'exists' if classifier_path.exists() else 'is absent'}; retrain it")
        estimator.censor_classifier_ = _load_booster(classifier_path, XGBClassifier()) if has_classifier else None
        estimator.interval_half_width_ = float(metadata[f"{name}_interval_half_width"])
        estimator.n_features_in_ = n_features
        models[name] = estimator
    ranker = None
    if metadata.get("sigma_ranker"):
        from xgboost import XGBRanker

        ranker = SeriesRanker()
        ranker.booster_ = _load_booster(directory / f"sigma-{RANKER_STEM}{BOOSTER_SUFFIX}", XGBRanker())
        ranker.n_features_in_ = len(metadata["feature_names"])
    # Models of format 5 saved before distance classes hold one paired width per target: one class of all distances.
    paired = metadata.get("paired_half_widths") or {}
    for target, widths in paired.items():
        if widths is not None and not isinstance(widths, dict):
            paired[target] = {"distance_edges": [], "half_widths": [float(widths)]}
    return Predictor(sigma_model=models["sigma"], ea_model=models["ea"], feature_names=metadata["feature_names"],
               domain=ApplicabilityDomain.from_dict(metadata["domain"]),
               domain_features=metadata["domain_features"], metadata=metadata,
               half_widths=metadata.get("interval_half_widths"),
               measured=(MeasuredCompositions(metadata["measured_log10_sigma"])
                         if metadata.get("measured_log10_sigma") is not None else None), ranker=ranker,
               ea_reads_predicted_log10_sigma=ea_reads_sigma)


_PACKAGES = ["mlsse", "xgboost", "xgboost-cpu", "scikit-learn", "matminer", "pymatgen", "numpy", "pandas", "optuna"]


def library_versions() -> dict[str, str]:
    """Return the versions of the installed packages that shape a model's predictions.

    Returns
    -------
    dict of str to str
        Package → version, for those installed.
    """
    found = {}
    for package in _PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found
