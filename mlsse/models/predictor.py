"""The trained predictor: σ and Ea models, applicability domain, and how they are saved and loaded.

A saved model is a directory: ``sigma-0.ubj.gz``, ``sigma-1.ubj.gz``, ``sigma-2.ubj.gz``, ``sigma-censored.ubj.gz``,
``ea-0.ubj.gz`` (XGBoost's native binary JSON, gzipped with a zero timestamp so equal models give equal bytes; one
per member of a model, boosters then forests, then the censor classifier if the model has one; a fifth of the size
of text JSON), ``metadata.json`` (feature names, interval widths,
domain state, library versions, data hash, seed, metrics) and ``MODEL_CARD.md``. Nothing is pickled.
"""

from __future__ import annotations

import glob
import gzip
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.io import atomic_directory, atomic_path, write_text_atomic
from mlsse.errors import ModelError
from mlsse.models.domain import ApplicabilityDomain, MeasuredCompositions
from mlsse.models.training_data import DETECTION_LIMIT_LOG10_SIGMA
from mlsse.temperature import (MIN_EA_FOR_TEMPERATURE_EV, ROOM_TEMPERATURE_C, log10_sigma_at,
                               temperature_half_width_extra)

#: Version of the saved-model layout; loading refuses other major versions.
MODEL_FORMAT = "mlsse-model/4"
#: File suffix of each saved booster.
BOOSTER_SUFFIX = ".ubj.gz"
#: File stem (after ``sigma-`` / ``ea-``) of a model's censor classifier.
CENSOR_STEM = "censored"
#: Prediction columns: log10 σ (S/cm) at the asked temperature with its 80 % interval, σ (S/cm), Ea (eV) with its
#: interval, the probability that σ at 25 °C is below the detection limit 1e-10 S/cm (what papers report as
#: "<1E-10"), the domain flag and a note.
OUTPUT_COLUMNS = ["log10_sigma", "log10_sigma_lo", "log10_sigma_hi", "sigma_S_cm", "ea_eV", "ea_lo", "ea_hi",
                  "p_sigma_below_detection", "in_domain", "note"]


@dataclass
class Predictor:
    """Fitted σ (log10 S/cm at 25 °C) and Ea (eV) regressors sharing one feature list and domain."""

    sigma_model: object          # ConformalBoostedRegressor-like: predict, contributions, interval_half_width_
    ea_model: object
    feature_names: list[str]
    domain: ApplicabilityDomain
    domain_features: list[str]
    metadata: dict = field(default_factory=dict)
    #: Interval half-widths per target and domain class, ``{"log10_sigma": {"in_domain": …, "out_of_domain": …},
    #: "ea_eV": {…}}`` (:func:`~mlsse.models.domain.domain_half_widths`); None: each model's one width for all.
    half_widths: dict | None = None
    #: The σ measured for each training composition (None for models saved before it was recorded).
    measured: MeasuredCompositions | None = None

    def half_width(self, target: str, in_domain) -> np.ndarray:
        """Return the 80 % interval half-width of ``target`` ("log10_sigma" or "ea_eV") for each query, by its
        in-domain flag (log10 S/cm or eV)."""
        in_domain = np.asarray(in_domain, dtype=bool)
        if self.half_widths is None:
            model = self.sigma_model if target == "log10_sigma" else self.ea_model
            return np.full(len(in_domain), float(model.interval_half_width_))
        widths = self.half_widths[target]
        return np.where(in_domain, widths["in_domain"], widths["out_of_domain"])

    # -- prediction -------------------------------------------------------------------------------------
    def predict_features(self, features: pd.DataFrame, elements: list[set[str]],
                         temperature_c=None, compositions=None) -> pd.DataFrame:
        """Predict from a feature frame (columns ⊇ ``feature_names``); returns the ``OUTPUT_COLUMNS`` frame.

        ``temperature_c``: None (σ at 25 °C), a number, or one value per row (°C). ``compositions``: the rows'
        formulas; with them, a query whose composition was measured in training far from its prediction (outside
        the in-domain interval) is out of domain, and its note gives the measured value and the papers.
        """
        X = features.reindex(columns=self.feature_names).to_numpy(dtype=float)
        sigma_rt = self.sigma_model.predict(X)
        ea = self.ea_model.predict(X)
        inside, reasons = self.domain.assess(features.reindex(columns=self.domain_features).to_numpy(dtype=float),
                                             elements)
        if compositions is not None and self.measured is not None:
            contradicted = self.measured.disagreements(compositions, sigma_rt,
                                                       float(self.half_width("log10_sigma", [True])[0]),
                                                       DETECTION_LIMIT_LOG10_SIGMA)
            for i, note in enumerate(contradicted):
                if note:
                    inside[i] = False
                    reasons[i] = "; ".join(r for r in (reasons[i], note) if r)
        # Out-of-domain queries err about twice as much, so they get their own, wider interval.
        sigma_hw, ea_hw = self.half_width("log10_sigma", inside), self.half_width("ea_eV", inside)
        out = pd.DataFrame(index=features.index)
        if temperature_c is None:
            temperature = np.full(len(X), ROOM_TEMPERATURE_C)
        else:
            temperature = np.broadcast_to(np.asarray(temperature_c, dtype=float), (len(X),)).copy()
            temperature = np.where(np.isnan(temperature), ROOM_TEMPERATURE_C, temperature)
        log10_sigma = log10_sigma_at(sigma_rt, ea, temperature)
        extra = temperature_half_width_extra(ea_hw, temperature)
        out["log10_sigma"] = log10_sigma
        out["log10_sigma_lo"] = log10_sigma - sigma_hw - extra
        out["log10_sigma_hi"] = log10_sigma + sigma_hw + extra
        out["sigma_S_cm"] = 10.0 ** log10_sigma
        out["ea_eV"] = ea
        out["ea_lo"] = np.maximum(ea - ea_hw, 0.0)  # an activation energy is positive (wide out-of-domain widths)
        out["ea_hi"] = ea + ea_hw
        # From the same mixture as the σ prediction, so a σ₂₅ predicted below the limit reads as likelier than not.
        out["p_sigma_below_detection"] = self.sigma_model.predict_probability_below(X, DETECTION_LIMIT_LOG10_SIGMA)
        out["in_domain"] = inside
        out["note"] = reasons
        return out

    def contributions(self, features: pd.DataFrame, target: str = "log10_sigma") -> pd.DataFrame:
        """Return per-row SHAP contributions (XGBoost's exact TreeSHAP) to ``target`` with a ``bias`` column;
        each row sums to the prediction."""
        model = self.sigma_model if target == "log10_sigma" else self.ea_model
        values = model.contributions(features.reindex(columns=self.feature_names).to_numpy(dtype=float))
        return pd.DataFrame(values, columns=[*self.feature_names, "bias"], index=features.index)

    def top_contributions(self, formulas, k: int = 3,
                          target: str = "log10_sigma") -> list[list[tuple[str, float, float]]]:
        """For each formula, the ``k`` features with the largest |SHAP contribution| to ``target``, as
        ``(readable name, the formula's feature value, contribution)``; the value says why, e.g. an O content
        of 0 can push σ up."""
        from mlsse.features import featurize_table
        from mlsse.features.names import readable_name

        features = featurize_table(pd.DataFrame({"composition": list(formulas)})).reindex(columns=self.feature_names)
        contributions = self.contributions(features, target).drop(columns="bias")
        ranked = []
        for (_, row), (_, values) in zip(contributions.iterrows(), features.iterrows()):
            order = row.abs().sort_values(ascending=False, kind="stable").index[:k]
            ranked.append([(readable_name(name), float(values[name]), float(row[name])) for name in order])
        return ranked

    # -- persistence ------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the model directory and return its path.

        The files are written into a new directory that then takes ``directory``'s name, so an earlier model
        there is replaced whole (never mixed with the new files, never left with stale members). A ``directory``
        that holds anything other than a model is refused (``ModelError``) before anything is written.
        """
        directory = Path(directory)
        check_model_target(directory)
        with atomic_directory(directory, replaceable=is_model_directory) as staging:
            self._write_files(staging)
        return directory

    def _write_files(self, directory: Path) -> None:
        for name, model in (("sigma", self.sigma_model), ("ea", self.ea_model)):
            classifier = getattr(model, "censor_classifier_", None)
            files = [(f"{name}-{i}", booster) for i, booster in enumerate(model.boosters_)]
            for stem, booster in files + ([(f"{name}-{CENSOR_STEM}", classifier)] if classifier is not None else []):
                with atomic_path(directory / f"{stem}{BOOSTER_SUFFIX}") as tmp:
                    raw = tmp.with_suffix(".ubj")  # XGBoost picks the format by suffix
                    booster.save_model(raw)
                    tmp.write_bytes(gzip.compress(raw.read_bytes(), mtime=0))
                    raw.unlink()
        metadata = dict(self.metadata)
        metadata.update({
            "format": MODEL_FORMAT,
            "feature_names": self.feature_names,
            "domain_features": self.domain_features,
            "domain": self.domain.to_dict(),
            "sigma_interval_half_width": self.sigma_model.interval_half_width_,
            "ea_interval_half_width": self.ea_model.interval_half_width_,
            "interval_half_widths": self.half_widths,
            "sigma_params": self.sigma_model.get_params(),
            "ea_params": self.ea_model.get_params(),
            "sigma_censor_classifier": getattr(self.sigma_model, "censor_classifier_", None) is not None,
            "ea_censor_classifier": getattr(self.ea_model, "censor_classifier_", None) is not None,
            "measured_log10_sigma": self.measured.values if self.measured is not None else None,
        })
        write_text_atomic(json.dumps(metadata, indent=1, sort_keys=True) + "\n", directory / "metadata.json")
        write_text_atomic(model_card(metadata), directory / "MODEL_CARD.md")

    @classmethod
    def load(cls, directory: str | Path) -> "Predictor":
        """Load a model directory written by :meth:`save`; a clear ``ModelError`` if it is missing, incomplete
        or was written by an incompatible version, and a ``ModelError`` naming the problem if a file is damaged."""
        directory = Path(directory)
        meta_path = directory / "metadata.json"
        if not meta_path.is_file():
            aside = sorted(directory.parent.glob(f".{glob.escape(directory.name)}.*.old"))
            hint = (f"; a save killed half-way left the earlier model at {aside[-1]}: rename it back to "
                    f"{directory.name}" if aside and not directory.exists() else "")
            raise ModelError(f"no model at {directory} (metadata.json missing){hint}")
        try:
            return cls._load(directory, json.loads(meta_path.read_text(encoding="utf-8")))
        # XGBoostError is a ValueError; a corrupted gzip stream raises zlib.error, a truncated one EOFError.
        except (KeyError, TypeError, ValueError, OSError, EOFError, zlib.error) as exc:
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"model at {directory} is damaged ({type(exc).__name__}: {detail}); retrain it or "
                             "use another (mlsse models list)") from None

    @classmethod
    def _load(cls, directory: Path, metadata: dict) -> "Predictor":
        from xgboost import XGBClassifier, XGBRegressor

        from mlsse.models.estimator import ConformalBoostedRegressor, checked_view_columns, forest_columns

        if metadata.get("format") != MODEL_FORMAT:
            raise ModelError(f"model at {directory} has format {metadata.get('format')!r}; this mlsse reads "
                             f"{MODEL_FORMAT!r}: retrain it with this version (mlsse train)")
        from mlsse.features import FEATURIZER_VERSION

        if metadata.get("featurizer_version") != FEATURIZER_VERSION:
            raise ModelError(f"model at {directory} was trained on features {metadata.get('featurizer_version')!r}, "
                             f"this mlsse computes {FEATURIZER_VERSION!r}: retrain it (mlsse train)")
        models = {}
        for name in ("sigma", "ea"):
            estimator = ConformalBoostedRegressor(**metadata[f"{name}_params"])
            n_features = len(metadata["feature_names"])
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
            estimator.n_features_in_ = len(metadata["feature_names"])
            models[name] = estimator
        return cls(sigma_model=models["sigma"], ea_model=models["ea"], feature_names=metadata["feature_names"],
                   domain=ApplicabilityDomain.from_dict(metadata["domain"]),
                   domain_features=metadata["domain_features"], metadata=metadata,
                   half_widths=metadata.get("interval_half_widths"),
                   measured=(MeasuredCompositions(metadata["measured_log10_sigma"])
                             if metadata.get("measured_log10_sigma") is not None else None))


#: Files a saved model directory may hold (besides these, nothing: anything else means it is not only a model).
_MODEL_FILE = re.compile(r"(metadata\.json|MODEL_CARD\.md|(sigma|ea)-(\d+|" + CENSOR_STEM + r")"
                         + re.escape(BOOSTER_SUFFIX) + ")")


def is_model_directory(directory: str | Path) -> bool:
    """Return whether ``directory`` holds a saved mlsse model and nothing else (a ``metadata.json`` of an
    ``mlsse-model/`` format, a card and booster files), so that a new save may replace it whole."""
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
    """Raise ``ModelError`` if a model cannot be saved at ``directory``: it is a file, a symbolic link, the
    working directory or one of its parents, or a directory holding anything but an mlsse model (which a save
    replaces whole). Called before training, so a long run does not end in this error."""
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
    """Load a gzipped UBJ file written by :meth:`Predictor.save` into ``booster``; ``ModelError`` if missing."""
    if not path.is_file():
        raise ModelError(f"model at {path.parent} is incomplete: {path.name} missing")
    booster.load_model(bytearray(gzip.decompress(path.read_bytes())))
    return booster


def _n_views(metadata: dict, model: str, key: str = "views") -> int:
    views = metadata.get(f"{model}_params", {}).get(key) or []
    return len(views) if key == "forest_views" else max(1, len(views))


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def model_card(metadata: dict) -> str:
    """Return the Markdown model card for a saved model's metadata."""
    metrics = metadata.get("metrics", {})
    lines = [
        f"# mlsse model card: {metadata.get('name', 'model')}",
        "",
        f"- created by mlsse {metadata.get('mlsse_version')} with seed {metadata.get('seed')}; "
        f"features `{metadata.get('featurizer_version')}` ({len(metadata.get('feature_names', []))} columns)",
        f"- data: SHA-256 `{metadata.get('data_sha256', '')[:16]}…`, {metadata.get('n_sigma_rows')} σ rows "
        f"({metadata.get('n_sigma_groups')} papers), {metadata.get('n_ea_rows')} Ea rows "
        f"({metadata.get('n_ea_groups')} papers)",
        f"- libraries: {', '.join(f'{k} {v}' for k, v in sorted(metadata.get('library_versions', {}).items()))}",
        "- σ at temperature T: predicted log10 σ(25 °C) and Ea combined through σT = A·exp(−Ea/k_BT) "
        f"(Ea floored at {MIN_EA_FOR_TEMPERATURE_EV} eV, so σ rises with T)",
        "- censored σ (<1E-10) labelled 1e-15 S/cm (OBELiX convention, as the public benchmarks score it)"
        + (f"; a classifier gives the probability p of a censored σ, and the predicted log10 σ is the median of "
           f"the mixture (−15 with probability p, else normal around the members' mean with standard deviation "
           f"{metadata.get('sigma_params', {}).get('censored_scale')} log10 units)"
           if metadata.get("sigma_censor_classifier") else ""),
        f"- log10 σ: mean of {_n_views(metadata, 'sigma')} XGBoost boosters, one per feature view (descriptors; "
        f"element fractions + crystal system, space group, cell volume and volume per atom), and "
        f"{_n_views(metadata, 'sigma', 'forest_views')} "
        "random forest(s) on element amounts + space group + lattice constants"
        + (", fitted to the measured rows" if metadata.get("sigma_censor_classifier") else "") + "; Ea: "
        f"{_n_views(metadata, 'ea')} booster(s) on the descriptors; objectives "
        f"{metadata.get('sigma_params', {}).get('objective')} (σ) and {metadata.get('ea_params', {}).get('objective')} (Ea)",
        "",
        "## Paper-grouped cross-validation (no paper on both sides of a split)",
        "",
        "| target | rows | MAE | RMSE | R² | Spearman ρ | 80 % interval coverage | in domain: rows, MAE, coverage "
        "| out of domain: rows, MAE, coverage |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    # metadata.json stores keys sorted; the card lists σ first whatever the order it is given in.
    for target in sorted(metrics, key=lambda name: (name != "log10_sigma", name != "ea_eV", name)):
        m = metrics[target]
        n_out = m.get("n_out_of_domain")
        by_domain = ("| n/a | n/a" if n_out is None else
                     f"| {m['n'] - n_out}, {m['mae_in_domain']:.3f}, {m['coverage_in_domain']:.3f} "
                     f"| {n_out}, {_number(m['mae_out_of_domain'])}, {_number(m['coverage_out_of_domain'])}")
        lines.append(f"| {target} | {m.get('n')} | {m.get('mae', float('nan')):.3f} | {m.get('rmse', float('nan')):.3f} "
                     f"| {m.get('r2', float('nan')):.3f} | {m.get('spearman', float('nan')):.3f} "
                     f"| {m.get('coverage', float('nan')):.3f} {by_domain} |")
    widths = metadata.get("interval_half_widths")
    lines += ["", "Units: log10 σ in log10(S/cm); Ea in eV. In / out of domain: each row as flagged when its paper "
              "is held out."]
    if widths:
        lines.append("80 % interval half-widths (split-conformal per domain class, on the held-out papers' "
                     "residuals): " + "; ".join(f"{t} ±{w['in_domain']:.3f} in domain, ±{w['out_of_domain']:.3f} "
                                                "out of domain" for t, w in sorted(widths.items(), reverse=True)))
    lines.append("")
    return "\n".join(lines)
