"""The ASGI application of ``mlsse serve``: server-rendered pages and a JSON API over one loaded model.

:func:`create_app` loads the model once; :mod:`mlsse.web.service` does each request's checks and work. A
refused request is answered 422 with the field named (the API, as FastAPI's own validation errors) or shown
beside its field (the pages); a request body over :data:`~mlsse.web.service.MAX_BODY_BYTES` is refused 413
before it is read whole.
"""

from __future__ import annotations

import base64
import importlib.metadata
import math
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field

from mlsse.models.predictor import OUTPUT_COLUMNS
from mlsse.query import rounded_predictions
from mlsse.web.service import (
    MAX_BODY_BYTES,
    MAX_COLUMNS,
    MAX_FORMULAS,
    MAX_RANK_ROWS,
    MAX_SCAN_CANDIDATES,
    FieldError,
    Service,
    candidate_frame,
    read_candidates,
    table_records,
)
from mlsse.workspace.registry import active_model_name, load_predictor, model_summaries

HERE = Path(__file__).parent
#: The columns of a dope scan the page shows (the CSV download has them all).
DOPE_PAGE_COLUMNS = ["rank", "dopant_species", "level", "additive_wt_pct", "composition", "delta_log10_sigma",
                     "delta_log10_sigma_lo", "delta_log10_sigma_hi", "sigma_S_cm", "p_beats_host", "versus_host",
                     "in_domain", "measured_log10_sigma", "reasons_up"]
#: The columns of a ranking the page shows.
RANK_PAGE_COLUMNS = ["group", "rank", "composition", "rank_score", "delta_log10_sigma", "delta_log10_sigma_lo",
                     "delta_log10_sigma_hi", "p_beats_reference", "versus_reference", "sigma_S_cm", "ea_eV",
                     "in_domain", "measured_log10_sigma", "note"]


class PredictRequest(BaseModel):
    """``POST /api/predict``: the formulas and, for all of them, the temperature and the additive."""

    formulas: list[str] = Field(description=f"Compositions, e.g. Li6PS5Cl; at most {MAX_FORMULAS}.",
                                examples=[["Li6PS5Cl", "Li2.3ZrCl5.85N0.15"]])
    temperature_c: float | None = Field(None, description="Temperature for σ, °C (default 25 °C).")
    additive: str | None = Field(None, description="Composite additive of every formula, e.g. BaTiO3.")
    additive_wt_pct: float | None = Field(None, description="The additive's share, wt%.")
    reasons: int = Field(0, ge=0, le=10, description="Features per formula that pushed log10 σ most (SHAP).")


class DopeRequest(BaseModel):
    """``POST /api/dope``: a doping scan, as ``mlsse dope``'s options."""

    host: str = Field(description="Host composition, e.g. Li2ZrCl6.", examples=["Li2ZrCl6"])
    site: str | None = Field(None, description="Element whose site is doped, e.g. Cl.", examples=["Cl"])
    dopants: list[str] | str | None = Field(None, description="Dopants, a list or comma-separated, e.g. N,F.",
                                            examples=[["N", "F"]])
    levels: str = Field("0:0.3:0.05", description="Dopant levels per formula unit: start:stop:step or a list.")
    compensation: Literal["li", "vacancy"] = Field("li", description="Charge compensation.")
    additive: str | None = Field(None, description="Composite additive, e.g. BaTiO3.")
    wt: str | None = Field(None, description="Additive wt%: start:stop:step or a list, e.g. 0:20:2.5.")
    temperature_c: float | None = Field(None, description="Also predict σ at this temperature, °C.")


class RankRequest(BaseModel):
    """``POST /api/rank``: candidates as rows (a ``composition`` and the columns ``mlsse rank`` reads)."""

    rows: list[dict[str, str | float | int | bool | None]] = Field(
        max_length=MAX_RANK_ROWS,
        description=f"Candidates, at most {MAX_RANK_ROWS}; each a composition and optional columns (at most "
                    f"{MAX_COLUMNS} names over all rows).",
        examples=[[{"composition": "Li3YCl6"}, {"composition": "Li3Y0.9Zr0.1Cl6"}]])
    group: str | None = Field(None, description="Column whose values group the candidates.")
    reference: str | None = Field(None, description="Reference formula, or a column marking each group's one.")


def create_app(model: str | Path | None = None) -> FastAPI:
    """Build the application around one model, loaded now.

    Parameters
    ----------
    model : str or pathlib.Path, optional
        A model directory; default the active model.

    Returns
    -------
    fastapi.FastAPI
        The application (serve it with uvicorn, or test it with ``fastapi.testclient.TestClient``).

    Raises
    ------
    ModelError
        If the model is missing, damaged or incompatible.
    """
    service = Service(load_predictor(model), str(model) if model is not None else active_model_name())
    version = importlib.metadata.version("mlsse")
    # FastAPI's /docs and /redoc load Swagger UI and ReDoc from a CDN; FastAPIOffline serves them from the package.
    app = FastAPIOffline(title="mlsse", version=version,
                  description="Ionic conductivity (log10 σ, S/cm) and activation energy (eV) of lithium solid "
                              "electrolytes, with 80 % intervals, the model's domain and what it was trained on. "
                              "Field names and units are the CLI's columns.")
    app.state.service = service
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["num"] = _number
    templates.env.filters["fixed"] = _fixed
    templates.env.globals.update(model_name=service.model_name, version=version, limits={
        "formulas": MAX_FORMULAS, "rank_rows": MAX_RANK_ROWS, "scan": MAX_SCAN_CANDIDATES,
        "body_kb": MAX_BODY_BYTES // 1000})

    @app.exception_handler(FieldError)
    async def refused(request: Request, exc: FieldError):  # noqa: ARG001 - FastAPI's handler signature
        return JSONResponse(status_code=422, content={"detail": [
            {"loc": list(loc), "msg": message, "type": "value_error"} for loc, message in exc.problems]})

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"page": name.split(".")[0], **context},
                                          status_code=status)

    # -- pages ----------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def predict_page(request: Request, formulas: str = "", temperature_c: str = "", additive: str = "",
                     additive_wt_pct: str = ""):
        form = {"formulas": formulas, "temperature_c": temperature_c, "additive": additive,
                "additive_wt_pct": additive_wt_pct}
        if not formulas.strip():
            return page(request, "predict.html", form=form)
        try:
            result = service.predict([line for line in formulas.splitlines() if line.strip()],
                                     _form_float(temperature_c, "temperature_c"), additive or None,
                                     _form_float(additive_wt_pct, "additive_wt_pct"))
        except FieldError as exc:
            return page(request, "predict.html", 422, form=form, errors=exc.field_messages())
        cards = []
        for (_, row), reasons in zip(result.table.iterrows(), result.reasons):
            label = row["composition"] + (f" + {row['additive_wt_pct']:g} wt% {row['additive']}"
                                          if additive else "")
            cards.append({"label": label, "row": row.to_dict(), "nearest": _nearest(row),
                          "chart": _data_uri(service.reasons_svg(label, reasons)) if reasons else None})
        return page(request, "predict.html", form=form, cards=cards, warnings=result.warnings)

    @app.get("/dope", response_class=HTMLResponse, include_in_schema=False)
    def dope_page(request: Request, host: str = "", site: str = "", dopants: str = "", levels: str = "0:0.3:0.05",
                  compensation: str = "li", additive: str = "", wt: str = "", temperature_c: str = ""):
        form = {"host": host, "site": site, "dopants": dopants, "levels": levels, "compensation": compensation,
                "additive": additive, "wt": wt, "temperature_c": temperature_c}
        if not host.strip():
            return page(request, "dope.html", form=form)
        try:
            result = service.dope(host, site, dopants, levels, compensation, additive, wt,
                                  _form_float(temperature_c, "temperature_c"))
        except FieldError as exc:
            return page(request, "dope.html", 422, form=form, errors=exc.field_messages())
        return page(request, "dope.html", form=form,
                    rows=result.reindex(columns=DOPE_PAGE_COLUMNS + ["temperature_C", "log10_sigma_at_T"]
                                        ).to_dict(orient="records"),
                    chart=_data_uri(service.scan_svg(result)), csv_query=request.url.query, n=len(result))

    @app.get("/dope.csv", summary="Dope scan as CSV", response_class=Response)
    def dope_csv(host: str, site: str = "", dopants: str = "", levels: str = "0:0.3:0.05",
                 compensation: str = "li", additive: str = "", wt: str = "", temperature_c: str = ""):
        result = service.dope(host, site, dopants, levels, compensation, additive, wt,
                              _form_float(temperature_c, "temperature_c"))
        return Response(result.to_csv(index=False), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="scan.csv"'})

    @app.get("/rank", response_class=HTMLResponse, include_in_schema=False)
    def rank_form(request: Request):
        return page(request, "rank.html", form={"candidates": "", "group": "", "reference": ""})

    @app.post("/rank", response_class=HTMLResponse, include_in_schema=False)
    async def rank_page(request: Request, candidates: Annotated[str, Form()] = "",
                        group: Annotated[str, Form()] = "", reference: Annotated[str, Form()] = "",
                        upload: Annotated[UploadFile | None, File()] = None):
        form = {"candidates": candidates, "group": group, "reference": reference}
        try:
            text = candidates
            if upload is not None and upload.filename:
                try:
                    text = (await upload.read()).decode("utf-8-sig")
                except UnicodeDecodeError:
                    raise FieldError([(("body", "upload"), f"{upload.filename}: not UTF-8 text (save it as CSV "
                                       "UTF-8)")]) from None
            # In a worker thread, as FastAPI runs a plain endpoint: on the event loop it would stall every request.
            ranked = await run_in_threadpool(service.rank, read_candidates(text), group, reference)
        except FieldError as exc:
            return page(request, "rank.html", 422, form=form, errors=exc.field_messages())
        return page(request, "rank.html", form=form,
                    rows=ranked.reindex(columns=RANK_PAGE_COLUMNS).to_dict(orient="records"),
                    csv=ranked.to_csv(index=False))

    @app.get("/models", response_class=HTMLResponse, include_in_schema=False)
    def models_page(request: Request):
        return page(request, "models.html", models=model_summaries())

    # -- JSON API --------------------------------------------------------------------------------------
    @app.post("/api/predict", summary="Predict σ, Ea and the evidence for formulas")
    def api_predict(body: PredictRequest) -> dict:
        """One row per formula with the CLI's columns (log10 S/cm, S/cm, eV, °C); ``reasons`` per formula when
        asked; ``warnings`` as the CLI would print them."""
        result = service.predict(body.formulas, body.temperature_c, body.additive, body.additive_wt_pct,
                                 body.reasons)
        out = {"model": service.model_name, "rows": table_records(result.table), "warnings": result.warnings}
        if body.reasons:
            out["reasons"] = result.reasons
        return out

    @app.post("/api/dope", summary="Scan and rank the dopings of a host")
    def api_dope(body: DopeRequest) -> dict:
        """Every candidate with ``mlsse dope``'s columns, sorted by rank."""
        result = service.dope(body.host, body.site, body.dopants, body.levels, body.compensation, body.additive,
                              body.wt, body.temperature_c)
        return {"model": service.model_name, "rows": table_records(rounded_predictions(result))}

    @app.post("/api/rank", summary="Rank a list of candidates")
    def api_rank(body: RankRequest) -> dict:
        """The candidates with ``mlsse rank``'s columns, sorted by group and rank."""
        rows = candidate_frame(body.rows)
        ranked = service.rank(rows, body.group, body.reference)
        return {"model": service.model_name, "rows": table_records(ranked)}

    @app.get("/api/models", summary="Model versions and their measured figures")
    def api_models() -> dict:
        """Per version: name, created, lab batches, active, σ rows, grouped-CV MAE of log10 σ and of Ea."""
        return {"serving": service.model_name, "models": model_summaries()}

    @app.get("/api/health", summary="Is the server up, and with which model")
    def api_health() -> dict:
        return {"status": "ok", "model": service.model_name, "version": version,
                "columns": OUTPUT_COLUMNS}

    return app


class BodyLimit:
    """ASGI middleware refusing (413) a request body over ``limit`` bytes, by its Content-Length or as it
    arrives, so that one request cannot fill the server's memory."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await _too_large(self.limit, send)
        received, overflow = 0, False

        async def limited_receive():
            nonlocal received, overflow
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:  # a chunked body has no Content-Length: counted as it arrives
                overflow = True
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not overflow:  # after an overflow the 413 below is the answer, not what the app makes of it
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:  # noqa: BLE001 - the app's reaction to the cut body; anything else is re-raised
            if not overflow:
                raise
        if overflow:
            await _too_large(self.limit, send)


async def _too_large(limit: int, send) -> None:
    response = JSONResponse(status_code=413, content={"detail": [
        {"loc": ["body"], "msg": f"request body over {limit:,} bytes: send fewer rows per request", "type":
         "value_error"}]})
    await response({"type": "http"}, None, send)


def _form_float(text: str, name: str) -> float | None:
    """A number typed into a form field, None when left empty."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise FieldError([(("body", name), f"{name} {text!r} is not a number")]) from None
    if not math.isfinite(value):
        raise FieldError([(("body", name), f"{name} {text!r} is not a finite number")])
    return value


def _nearest(row: pd.Series) -> list[dict]:
    out = []
    for k in range(1, 4):
        formula = row.get(f"nearest_{k}")
        if isinstance(formula, str) and formula:
            out.append({"formula": formula, "log10_sigma": row.get(f"nearest_{k}_log10_sigma"),
                        "reference": row.get(f"nearest_{k}_reference"), "distance": row.get(f"nearest_{k}_distance")})
    return out


def _data_uri(svg: str) -> str:
    # An <img> of its own per figure: matplotlib's SVG ids would clash if several were inlined in one page.
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _fixed(value, decimals: int = 2) -> str:
    """Jinja filter: a number with ``decimals`` decimals, '–' for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{decimals}f}"


def _number(value, digits: int = 3) -> str:
    """Jinja filter: a number at ``digits`` significant digits, '–' for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.{digits}g}"
