"""The work behind each page and endpoint of ``mlsse serve``: check a request's fields, then predict, scan or rank
with the one model the server holds.

Every problem is raised as a :class:`FieldError` that names the request field it is about, with the message the
CLI prints for it, so the API answers 422 with the field and the page shows the message beside its field.
"""

from __future__ import annotations

import csv
import io
import threading
import warnings
from dataclasses import dataclass, field

import pandas as pd

from mlsse.chemistry import echo, parse_composition
from mlsse.data.schema import additive_problem
from mlsse.doping.plot import scan_figure
from mlsse.doping.ranking import rank
from mlsse.doping.scanning import parse_levels, scan
from mlsse.doping.substitution import Compensation, DopingError
from mlsse.errors import MlsseError, MlsseWarning
from mlsse.figures import contributions_figure
from mlsse.query import predict_query, rounded_predictions
from mlsse.temperature import temperature_problem

#: Largest request body, bytes (a pasted list of 2,000 candidates is ~100 kB).
MAX_BODY_BYTES = 1_000_000
#: The dope form's fields a scan's error can be shown beside (:attr:`DopingError.field`).
DOPE_FIELDS = ("host", "site", "dopants", "levels", "compensation", "additive", "wt", "temperature_c")
#: Formulas per predict request (a file of more: ``mlsse predict --input``, streamed).
MAX_FORMULAS = 200
#: Candidates per rank request.
MAX_RANK_ROWS = 2_000
#: Candidates per dope scan (dopants × levels × wt%); a larger space: ``mlsse screen``.
MAX_SCAN_CANDIDATES = 2_000
#: Column names over all rows of a rank request.
MAX_COLUMNS = 50
#: Longest formula, cell or field text, characters.
MAX_TEXT_LENGTH = 200
#: Features shown per formula in the reasons of a prediction.
N_REASONS = 5
#: Columns a request may not carry: they name files on the server's disk.
PATH_COLUMNS = ("cif",)


class FieldError(MlsseError):
    """A request the server refuses: per problem, the request field (``loc``, as FastAPI's validation errors give
    it) and the one-line message.

    Parameters
    ----------
    problems : list of (tuple, str)
        ``(loc, message)`` pairs, e.g. ``(("body", "formulas", 2), "Li2ZrCl: ...")``.
    """

    def __init__(self, problems: list[tuple[tuple, str]]):
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))

    def field_messages(self) -> dict[str, str]:
        """Return one message per top-level field (the page shows it beside that field; ``""``: the form's)."""
        out: dict[str, str] = {}
        for loc, message in self.problems:
            name = str(loc[1]) if len(loc) > 1 else ""
            out[name] = f"{out[name]}; {message}" if name in out else message
        return out


@dataclass
class Prediction:
    """A predict request's answer.

    Attributes
    ----------
    table : pandas.DataFrame
        :func:`mlsse.predict`'s columns, one row per formula, at a sensible precision.
    reasons : list of list of dict
        Per formula, the features that pushed its log10 σ most: ``feature``, ``value`` and
        ``contribution_log10_sigma`` (log10 S/cm).
    warnings : list of str
        What the CLI would warn of (e.g. a temperature that may be kelvin).
    """

    table: pd.DataFrame
    reasons: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


class Service:
    """One loaded model and the checks and work of every request; model work runs one request at a time.

    Parameters
    ----------
    predictor : Predictor
        The loaded model.
    model_name : str
        Its name (a version, or the directory it was loaded from), shown on pages and in ``/api/health``.
    """

    def __init__(self, predictor, model_name: str):
        self.predictor = predictor
        self.model_name = model_name
        # XGBoost, the feature caches and warnings capture are shared state: one request's model work at a time.
        self.lock = threading.Lock()

    def predict(self, formulas: list[str], temperature_c: float | None = None, additive: str | None = None,
                additive_wt_pct: float | None = None, n_reasons: int = N_REASONS) -> Prediction:
        """Predict σ (S/cm), log10 σ, Ea (eV) and the evidence for each formula, with its reasons.

        Parameters
        ----------
        formulas : list of str
            At most :data:`MAX_FORMULAS`.
        temperature_c : float, optional
            Temperature for σ, °C (default 25 °C).
        additive : str, optional
            Composite additive of every formula, e.g. BaTiO3.
        additive_wt_pct : float, optional
            Its share, wt%.
        n_reasons : int, default N_REASONS
            Features per formula in the reasons (0: none).

        Returns
        -------
        Prediction

        Raises
        ------
        FieldError
            Naming the formula, temperature or additive that cannot be predicted.
        """
        formulas = [str(f).strip() for f in formulas]
        problems = []
        if not formulas:
            problems.append((("body", "formulas"), "give at least one formula"))
        if len(formulas) > MAX_FORMULAS:
            problems.append((("body", "formulas"), f"{len(formulas):,} formulas, more than {MAX_FORMULAS:,} per "
                             "request: split them, or use 'mlsse predict --input FILE' for a table"))
        problems += _long_texts("formulas", formulas) + _long_texts("additive", [additive or ""])
        if temperature_c is not None and (problem := temperature_problem(float(temperature_c))) is not None:
            problems.append((("body", "temperature_c"), problem))
        additive = (additive or "").strip()
        wt = float("nan") if additive_wt_pct is None else float(additive_wt_pct)
        if (additive or additive_wt_pct is not None) and not _long_texts("additive", [additive]):
            if (problem := additive_problem(additive, wt)) is not None:
                # The share's own problem is its field's; a missing partner is the field left empty.
                share_at_fault = (wt == wt and not 0 <= wt < 100) or (bool(additive) and wt != wt)
                problems.append((("body", "additive_wt_pct" if share_at_fault else "additive"), problem))
        if problems:
            raise FieldError(problems)
        query = pd.DataFrame({"composition": formulas})
        if additive:
            query["additive"], query["additive_wt_pct"] = additive, wt
        with self.lock, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MlsseWarning)
            predicted = predict_query(self.predictor, query, temperature_c)
            refused = [((("body", "formulas", i)), f"{echo(formulas[i], quoted=False)}: {note}")
                       for i, note in enumerate(predicted.refused) if note]
            if refused:
                raise FieldError(refused)
            reasons = (self.predictor.top_contributions(query, k=n_reasons, features=predicted.features)
                       if n_reasons > 0 else [[] for _ in formulas])
        return Prediction(
            table=rounded_predictions(predicted.table),
            reasons=[[{"feature": name, "value": None if value != value else round(value, 4),
                       "contribution_log10_sigma": round(push, 4)} for name, value, push in row] for row in reasons],
            warnings=[str(w.message) for w in caught if issubclass(w.category, MlsseWarning)])

    def reasons_svg(self, formula: str, reasons: list[dict]) -> str:
        """Return an SVG bar chart of one formula's reasons (contributions to log10 σ, log10 S/cm)."""
        figure = contributions_figure([(r["feature"], r["value"], r["contribution_log10_sigma"]) for r in reasons],
                                      formula)
        return _svg_text(figure)

    def dope(self, host: str, site: str | None = None, dopants: list[str] | str | None = None,
             levels: str = "0:0.3:0.05", compensation: str = "li", additive: str | None = None,
             wt: str | None = None, temperature_c: float | None = None) -> pd.DataFrame:
        """Scan and rank the candidate dopings of a host, as ``mlsse dope`` does.

        Parameters
        ----------
        host, site, dopants, levels, compensation, additive, wt, temperature_c
            As ``mlsse dope`` (``levels`` per formula unit and ``wt`` in wt%, each ``start:stop:step`` or a
            comma list; ``temperature_c`` in °C). At most :data:`MAX_SCAN_CANDIDATES` candidates.

        Returns
        -------
        pandas.DataFrame
            :func:`mlsse.doping.scan`'s table, sorted by rank.

        Raises
        ------
        FieldError
            Naming the field at fault.
        """
        host, site, additive = (host or "").strip(), (site or "").strip(), (additive or "").strip()
        if isinstance(dopants, str):
            dopants = [d.strip() for d in dopants.split(",")]
        dopants = [d.strip() for d in dopants or [] if d and d.strip()]
        problems = _long_texts("host", [host]) + _long_texts("site", [site]) + _long_texts("dopants", dopants) \
            + _long_texts("additive", [additive]) + _long_texts("levels", [levels or ""]) + _long_texts("wt", [wt or ""])
        if not host:
            problems.append((("body", "host"), "give a host composition, e.g. Li2ZrCl6"))
        else:
            try:
                parse_composition(host)
            except ValueError as exc:
                problems.append((("body", "host"), f"host: {exc}"))
        try:
            compensation = Compensation(compensation).value
        except ValueError:
            problems.append((("body", "compensation"), f"compensation {echo(str(compensation))}: give li or "
                             "vacancy"))
        level_values = _levels("levels", levels or "", problems)
        wt_values = _levels("wt", wt, problems) if wt else []
        if temperature_c is not None and (problem := temperature_problem(float(temperature_c))) is not None:
            problems.append((("body", "temperature_c"), problem))
        count = max(1, len(dopants)) * max(1, len(level_values)) * max(1, len(wt_values))
        if count > MAX_SCAN_CANDIDATES:
            problems.append((("body", "levels"), f"{count:,} candidates, more than the web app's "
                             f"{MAX_SCAN_CANDIDATES:,} per scan: use fewer dopants, levels or wt% values, or "
                             "'mlsse dope' / 'mlsse screen' on the command line"))
        if problems:
            raise FieldError(problems)
        with self.lock, warnings.catch_warnings():
            warnings.simplefilter("ignore", MlsseWarning)
            try:
                result = scan(host, site, dopants, level_values, compensation, additive or None,
                              wt_values or None, temperature_c, self.predictor)
            except DopingError as exc:
                raise FieldError([(("body", exc.field if exc.field in DOPE_FIELDS else "host"), str(exc))]) from None
        return result.sort_values(["rank", "dopant", "level"], kind="stable").reset_index(drop=True)

    def scan_svg(self, result: pd.DataFrame) -> str:
        """Return the scan figure ``mlsse dope`` writes, as SVG text."""
        return _svg_text(scan_figure(result))

    def rank(self, rows: pd.DataFrame, group: str | None = None, reference: str | None = None) -> pd.DataFrame:
        """Rank a list of candidates per group against a reference, as ``mlsse rank`` does.

        Parameters
        ----------
        rows : pandas.DataFrame
            The candidates: a ``composition`` column and any ``mlsse rank`` reads; at most
            :data:`MAX_RANK_ROWS`; no ``cif`` column (a request names no file on the server).
        group, reference : str, optional
            As ``mlsse rank --group/--reference``.

        Returns
        -------
        pandas.DataFrame
            :func:`mlsse.rank`'s table at a sensible precision.

        Raises
        ------
        FieldError
            Naming the field at fault.
        """
        problems = []
        if "composition" not in rows.columns:
            problems.append((("body", "rows"), f"missing column 'composition'; found {list(rows.columns)}"))
        if len(rows) == 0:
            problems.append((("body", "rows"), "give at least one candidate"))
        if len(rows) > MAX_RANK_ROWS:
            problems.append((("body", "rows"), f"{len(rows):,} candidates, more than {MAX_RANK_ROWS:,} per "
                             "request: use 'mlsse rank --input FILE'"))
        for column in PATH_COLUMNS:
            if column in rows.columns:
                problems.append((("body", "rows"), f"column {column!r} names a file, which the server does not "
                                 "read from a request: rank with 'mlsse rank --input' to use CIFs"))
        problems += _long_texts("group", [group or ""]) + _long_texts("reference", [reference or ""])
        if len(rows.columns) > MAX_COLUMNS:
            problems.append((("body", "rows"), f"{len(rows.columns):,} columns, more than {MAX_COLUMNS}"))
        else:
            long_cells = [f"{column!r}, row {i + 1}" for column in rows.columns
                          for i, cell in enumerate(rows[column]) if isinstance(cell, str) and len(cell) > MAX_TEXT_LENGTH]
            long_cells += [repr(str(c)[:40]) for c in rows.columns if len(str(c)) > MAX_TEXT_LENGTH]
            if long_cells:
                problems.append((("body", "rows"), f"text over {MAX_TEXT_LENGTH} characters in {long_cells[0]}"
                                 + (f" and {len(long_cells) - 1} more" if len(long_cells) > 1 else "")))
        if problems:
            raise FieldError(problems)
        with self.lock, warnings.catch_warnings():
            warnings.simplefilter("ignore", MlsseWarning)
            try:
                ranked = rank(rows.reset_index(drop=True), group=group or None, reference=reference or None,
                              model=self.predictor)
            except DopingError as exc:
                raise FieldError([(("body", exc.field if exc.field in ("group", "reference") else "rows"),
                                   str(exc))]) from None
            except MlsseError as exc:
                raise FieldError([(("body", "rows"), str(exc))]) from None
        return rounded_predictions(ranked)


def candidate_frame(rows: list[dict]) -> pd.DataFrame:
    """Turn a rank request's rows into a table, refusing more than :data:`MAX_COLUMNS` column names over all rows
    before the table is built (every name in any row becomes a column of every row).

    Parameters
    ----------
    rows : list of dict
        The request's rows.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    FieldError
        For too many column names.
    """
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
        if len(names) > MAX_COLUMNS:
            raise FieldError([(("body", "rows"), f"more than {MAX_COLUMNS} column names over the rows: give each "
                               "row the same few columns")])
    return pd.DataFrame(rows, columns=list(names))


def read_candidates(text: str) -> pd.DataFrame:
    """Read pasted or uploaded candidates: a CSV with a ``composition`` header, or one formula per line.

    Parameters
    ----------
    text : str
        The text.

    Returns
    -------
    pandas.DataFrame
        The candidates, every cell as text.

    Raises
    ------
    FieldError
        If the text is not such a table.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise FieldError([(("body", "rows"), "give at least one candidate")])
    header = [cell.strip() for cell in next(csv.reader([lines[0]]))]
    if "composition" not in (cell.lower() for cell in header):  # a bare list of formulas
        return pd.DataFrame({"composition": [line.strip() for line in lines]})
    try:
        table = pd.read_csv(io.StringIO("\n".join(lines)), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise FieldError([(("body", "rows"), f"cannot read the candidates as CSV: {exc}")]) from None
    # "Composition" as a spreadsheet writes it is the column mlsse reads.
    return table.rename(columns={c: "composition" for c in table.columns if str(c).strip().lower() == "composition"})


def table_records(frame: pd.DataFrame) -> list[dict]:
    """Return a table's rows as JSON-ready dicts (NaN → None), with its column names."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return [{key: (value.item() if hasattr(value, "item") else value) for key, value in row.items()}
            for row in cleaned.to_dict(orient="records")]


def _long_texts(name: str, texts: list[str]) -> list[tuple[tuple, str]]:
    return [(("body", name, i) if len(texts) > 1 else ("body", name),
             f"{name}: {len(text):,} characters, more than {MAX_TEXT_LENGTH}")
            for i, text in enumerate(texts) if len(text) > MAX_TEXT_LENGTH]


def _levels(name: str, spec: str, problems: list) -> list[float]:
    try:
        return parse_levels(spec, field=name)
    except DopingError as exc:
        problems.append((("body", name), str(exc)))
        return []


def _svg_text(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    return buffer.getvalue()
