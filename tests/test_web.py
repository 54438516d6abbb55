"""``mlsse serve``'s pages and JSON API through FastAPI's TestClient, on the shipped model: good input gives what
the CLI and the Python API give, each kind of bad input a 422 naming its field, limits a 422 or 413 that says
them, and no request takes the server down."""

from __future__ import annotations

import io
import math
import socket

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mlsse.web.service import MAX_FORMULAS, MAX_RANK_ROWS, MAX_SCAN_CANDIDATES


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from mlsse.web.app import create_app

    with pytest.MonkeyPatch.context() as patch:  # a module-wide home: the app and the checks below share it
        patch.setenv("MLSSE_HOME", str(tmp_path_factory.mktemp("web_home")))
        yield TestClient(create_app(), raise_server_exceptions=False)


def problems(response) -> list[tuple[list, str]]:
    assert response.status_code == 422, response.text
    return [(item["loc"], item["msg"]) for item in response.json()["detail"]]


# -- JSON API: good input ---------------------------------------------------------------------------------------
def test_health_and_models_name_the_served_model(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["model"] == "default"
    assert "sigma_S_cm" in health["columns"]
    models = client.get("/api/models").json()
    assert models["serving"] == "default"
    (default,) = [m for m in models["models"] if m["name"] == "default"]
    assert default["active"] and default["problem"] is None
    assert 0 < default["mae_log10_sigma"] < 3 and 0 < default["mae_ea_eV"] < 0.3


def test_api_predict_gives_what_mlsse_predict_gives(client):
    from mlsse.api import predict

    formulas = ["Li6PS5Cl", "Li2.3ZrCl5.85N0.15"]
    body = client.post("/api/predict", json={"formulas": formulas, "temperature_c": 60, "reasons": 3}).json()
    expected = predict(formulas, temperature_c=60)
    assert [row["composition"] for row in body["rows"]] == formulas
    for row, (_, want) in zip(body["rows"], expected.iterrows()):
        assert row["temperature_C"] == 60
        assert row["log10_sigma"] == pytest.approx(want["log10_sigma"], abs=1e-4)
        assert row["ea_eV"] == pytest.approx(want["ea_eV"], abs=1e-4)
        assert row["sigma_S_cm"] == pytest.approx(10 ** want["log10_sigma"], rel=1e-3)
        assert row["in_domain"] == bool(want["in_domain"])
        assert row["measured_references"] == want["measured_references"]
    assert [len(r) for r in body["reasons"]] == [3, 3]
    present = [abs(r["contribution_log10_sigma"]) for r in body["reasons"][0] if r["value"] != 0]
    assert present == sorted(present, reverse=True)  # what it has, largest first; absent elements after
    assert all(math.isfinite(r["contribution_log10_sigma"]) for r in body["reasons"][0])
    assert body["warnings"] == []


def test_api_predict_composite_and_kelvin_like_warning(client):
    plain = client.post("/api/predict", json={"formulas": ["Li2.5Y0.5Zr0.5Cl6"]}).json()["rows"][0]
    composite = client.post("/api/predict", json={"formulas": ["Li2.5Y0.5Zr0.5Cl6"], "additive": "BaTiO3",
                                                  "additive_wt_pct": 5}).json()["rows"][0]
    assert composite["additive"] == "BaTiO3" and composite["additive_wt_pct"] == 5
    assert composite["log10_sigma"] != plain["log10_sigma"]
    warned = client.post("/api/predict", json={"formulas": ["Li6PS5Cl"], "temperature_c": 300}).json()
    assert warned["rows"][0]["temperature_C"] == 300
    assert warned["warnings"] == ["σ predicted at 300 °C; if that is kelvin, it is 26.85 °C: give °C"]


def test_api_dope_ranks_as_the_scan_and_the_csv_is_the_same_table(client):
    from mlsse.doping.scanning import scan

    body = client.post("/api/dope", json={"host": "Li2ZrCl6", "site": "Cl", "dopants": ["N"],
                                          "levels": "0:0.2:0.1"}).json()
    rows = pd.DataFrame(body["rows"])
    expected = scan("Li2ZrCl6", "Cl", ["N"], "0:0.2:0.1")
    assert sorted(rows["composition"]) == sorted(expected["composition"])
    assert list(rows["rank"]) == sorted(rows["rank"])
    ranks = dict(zip(expected["composition"], expected["rank"]))
    assert all(ranks[c] == r for c, r in zip(rows["composition"], rows["rank"]))
    csv = client.get("/dope.csv", params={"host": "Li2ZrCl6", "site": "Cl", "dopants": "N", "levels": "0:0.2:0.1"})
    assert csv.headers["content-type"].startswith("text/csv")
    downloaded = pd.read_csv(io.StringIO(csv.text))
    assert list(downloaded["composition"]) == list(rows["composition"])
    assert downloaded["relative_log10_sigma"].to_numpy() == pytest.approx(rows["relative_log10_sigma"].to_numpy())


def test_api_rank_orders_candidates_against_the_first(client):
    body = client.post("/api/rank", json={"rows": [{"composition": "Li3YCl6"}, {"composition": "Li3Y0.9Zr0.1Cl6"},
                                                   {"composition": "Li3InCl6"}]}).json()
    rows = pd.DataFrame(body["rows"])
    assert sorted(rows["rank"]) == [1, 2, 3]
    assert rows.set_index("composition").loc["Li3YCl6", "versus_reference"] == "reference"
    assert (rows["reference"] == "Li3YCl6").all()


# -- JSON API: bad input and limits -------------------------------------------------------------------------------
@pytest.mark.parametrize("body, loc, message", [
    ({"formulas": ["Li6PS5Cl", "Xx2O"]}, ["body", "formulas", 1], "Xx2O: unknown element 'Xx' in 'Xx2O'"),
    ({"formulas": []}, ["body", "formulas"], "give at least one formula"),
    ({"formulas": ["Li6PS5Cl"], "temperature_c": 298.15}, ["body", "temperature_c"],
     "temperature 298.15 °C is kelvin (298.15 K = 25 °C): give °C"),
    ({"formulas": ["Li6PS5Cl"], "temperature_c": 700}, ["body", "temperature_c"],
     "temperature 700 °C outside -100–600 °C (kelvin? give °C)"),
    ({"formulas": ["Li6PS5Cl"], "additive": "BaTiO3", "additive_wt_pct": 120}, ["body", "additive_wt_pct"],
     "outside [0, 100)"),
    ({"formulas": ["Li6PS5Cl"], "additive": "(Li)" * 40000, "additive_wt_pct": 5}, ["body", "additive"],
     "more than 200"),
    ({"formulas": ["Li6PS5Cl"] * (MAX_FORMULAS + 1)}, ["body", "formulas"], f"more than {MAX_FORMULAS}"),
    ({"formulas": ["Li" * 150]}, ["body", "formulas"], "more than 200"),
])
def test_api_predict_refuses_bad_input_naming_the_field(client, body, loc, message):
    (found,) = problems(client.post("/api/predict", json=body))
    assert found[0] == loc
    if message is not None:
        assert message in found[1]


def test_api_predict_malformed_bodies_are_422_and_a_huge_body_413(client):
    assert client.post("/api/predict", json={"formulas": "Li6PS5Cl"}).status_code == 422
    assert client.post("/api/predict", json={"formula": ["Li6PS5Cl"]}).status_code == 422
    assert client.post("/api/predict", content=b"{not json", headers={"content-type": "application/json"}
                       ).status_code == 422
    huge = client.post("/api/predict", content=b'{"formulas": ["' + b"Li" * 600_000 + b'"]}',
                       headers={"content-type": "application/json"})
    assert huge.status_code == 413
    assert "1,000,000 bytes" in huge.json()["detail"][0]["msg"]

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"formulas": ["'
        for _ in range(40):
            yield b"Li" * 20_000
        yield b'"]}'

    chunked = client.post("/api/predict", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413
    assert client.get("/api/health").status_code == 200


@pytest.mark.parametrize("body, field, message", [
    ({"host": "Li2ZrCl6", "site": "Cl", "dopants": "N", "levels": "0:0.3:0"}, "levels", "the step is 0"),
    ({"host": "Li2ZrCl7q", "site": "Cl", "dopants": "N"}, "host", "host:"),
    ({"host": "Li2ZrCl6", "site": "Cl", "dopants": "N", "temperature_c": 373.15}, "temperature_c", "kelvin"),
    ({"host": "Li2ZrCl6", "site": "Cl", "dopants": "N", "levels": f"0:{MAX_SCAN_CANDIDATES}:1"}, "levels",
     f"more than the web app's {MAX_SCAN_CANDIDATES:,}"),
    ({"host": "Li2ZrCl6", "site": "Cl", "dopants": "N", "wt": "0:x"}, "wt", "cannot read wt"),
    ({"host": "Li2ZrCl6", "site": "Br", "dopants": "N"}, "site", "site Br is not in host"),
    # errors the scan itself raises carry their field: a site message naming the dopant, a level naming the site
    ({"host": "Li2ZrCl6", "site": "Cl", "dopants": "Xx"}, "dopants", "unknown dopant 'Xx'"),
    ({"host": "Li2ZrCl6", "site": "Zr", "dopants": "Y", "levels": "2"}, "levels", "exceeds the 1 Zr"),
    ({"host": "Li2ZrCl6", "site": "Zr", "dopants": "Cl"}, "dopants", "Cl is"),
])
def test_api_dope_refuses_bad_input_naming_the_field(client, body, field, message):
    (found,) = problems(client.post("/api/dope", json=body))
    assert found[0] == ["body", field]
    assert message in found[1]


def test_api_rank_refuses_many_column_names_before_building_a_table(client):
    rows = [{"composition": "Li3YCl6", **{f"k{i}_{j}": 1 for j in range(40)}} for i in range(5)]
    ((loc, message),) = problems(client.post("/api/rank", json={"rows": rows}))
    assert loc == ["body", "rows"] and "more than 50 column names" in message
    ((loc, message),) = problems(client.post("/api/rank", json={"rows": [{"composition": "Li3YCl6",
                                                                          "note": "x" * 300}]}))
    assert "text over 200 characters in 'note', row 1" in message


def test_pasted_csv_header_may_be_quoted_or_capitalised(client):
    from mlsse.web.service import read_candidates

    assert list(read_candidates('"Composition","batch"\nLi3YCl6,a\n')["composition"]) == ["Li3YCl6"]
    assert list(read_candidates("Li3YCl6\nLi3InCl6")["composition"]) == ["Li3YCl6", "Li3InCl6"]


def test_api_rank_refuses_paths_oversize_lists_and_unknown_groups(client):
    ((loc, message),) = problems(client.post("/api/rank", json={"rows": [{"composition": "Li3YCl6",
                                                                          "cif": "/etc/passwd"}]}))
    assert loc == ["body", "rows"] and "'cif' names a file" in message
    ((loc, message),) = problems(client.post("/api/rank", json={
        "rows": [{"composition": "Li3YCl6"}] * (MAX_RANK_ROWS + 1)}))
    assert loc[:2] == ["body", "rows"] and f"at most {MAX_RANK_ROWS} items" in message  # pydantic says it
    ((loc, message),) = problems(client.post("/api/rank", json={"rows": [{"composition": "Li3YCl6"}],
                                                               "group": "series"}))
    assert loc == ["body", "group"] and "names no column" in message


def test_no_request_takes_the_server_down(client, monkeypatch):
    from mlsse.web.service import Service

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(Service, "predict", broken)
    assert client.post("/api/predict", json={"formulas": ["Li6PS5Cl"]}).status_code == 500
    monkeypatch.undo()
    for bad in ({"formulas": ["((("]}, {"formulas": [""]}, {"formulas": ["Li6PS5Cl"], "temperature_c": -500}):
        assert client.post("/api/predict", json=bad).status_code == 422
    assert client.get("/api/health").json()["status"] == "ok"
    assert client.post("/api/predict", json={"formulas": ["Li6PS5Cl"]}).status_code == 200


# -- pages --------------------------------------------------------------------------------------------------------
def test_predict_page_shows_a_card_per_formula_with_evidence_and_reasons(client):
    page = client.get("/", params={"formulas": "Li6PS5Cl\nLi2.3ZrCl5.85N0.15\n"})
    assert page.status_code == 200
    assert page.text.count('<article class="card"') == 2
    assert "S/cm" in page.text and "Nearest measured" in page.text
    assert page.text.count("data:image/svg+xml;base64,") == 2  # the reasons' bar charts
    assert "cdn" not in page.text.lower() and "<script" not in page.text


def test_pages_show_an_error_beside_its_field_with_422(client):
    page = client.get("/", params={"formulas": "Li6PS5Cl\nXx2O"})
    assert page.status_code == 422
    assert 'data-field="formulas"' in page.text and "unknown element" in page.text
    page = client.get("/dope", params={"host": "Li2ZrCl6", "site": "Cl", "dopants": "N", "levels": "1:0:0.1"})
    assert page.status_code == 422 and 'data-field="levels"' in page.text and "runs backwards" in page.text
    page = client.get("/", params={"formulas": "Li6PS5Cl", "temperature_c": "warm"})
    assert page.status_code == 422 and 'data-field="temperature_c"' in page.text


def test_dope_page_shows_the_table_the_figure_and_a_csv_link(client):
    page = client.get("/dope", params={"host": "Li2ZrCl6", "site": "Cl", "dopants": "N,F", "levels": "0:0.2:0.1"})
    assert page.status_code == 200
    assert 'class="ranked"' in page.text and "data:image/svg+xml;base64," in page.text
    assert "/dope.csv?host=Li2ZrCl6" in page.text
    assert '<td class="formula">Li2.4ZrN0.2Cl5.8</td>' in page.text


def test_rank_page_takes_pasted_text_and_an_uploaded_csv(client):
    pasted = client.post("/rank", data={"candidates": "Li3YCl6\nLi3InCl6\n"})
    assert pasted.status_code == 200 and '<td class="formula">Li3InCl6</td>' in pasted.text
    assert "<td>reference</td>" in pasted.text or ">reference<" in pasted.text
    upload = client.post("/rank", data={"group": "series"}, files={"upload": (
        "mine.csv", b"composition,series\nLi3YCl6,a\nLi3InCl6,a\nLi2ZrCl6,b\n", "text/csv")})
    assert upload.status_code == 200 and '<td class="formula">Li2ZrCl6</td>' in upload.text
    bad = client.post("/rank", files={"upload": ("mine.csv", b"\xff\xfe\x00bad", "text/csv")})
    assert bad.status_code == 422 and 'data-field="upload"' in bad.text and "not UTF-8" in bad.text


def test_models_page_and_offline_api_docs(client):
    page = client.get("/models")
    assert page.status_code == 200 and "default" in page.text and "active" in page.text
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    schema = client.get("/openapi.json").json()
    assert {"/api/predict", "/api/dope", "/api/rank", "/api/models", "/api/health"} <= set(schema["paths"])


# -- the command ----------------------------------------------------------------------------------------------------
def test_serve_refuses_a_port_in_use_in_one_line():
    from typer.testing import CliRunner

    from mlsse.cli import app

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


def test_docs_api_names_every_endpoint_and_request_field(client):
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    schema = client.get("/openapi.json").json()
    for path in schema["paths"]:
        assert f"`{path}`" in page or f" {path}`" in page, path
    for name in ("PredictRequest", "DopeRequest", "RankRequest"):
        for field in schema["components"]["schemas"][name]["properties"]:
            assert f"`{field}`" in page, (name, field)
