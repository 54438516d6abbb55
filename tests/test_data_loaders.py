"""Loaders for the seed transcription, OBELiX and Liverpool, on the real files and on bad input."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Composition

from mlsse.chemistry import composition_key, normalize_formula
from mlsse.data.activation import derive_activation_energies
from mlsse.data.cif import read_cif_structure
from mlsse.data.liverpool import LIVERPOOL_FILE, load_liverpool
from mlsse.data.obelix import OBELIX_FILE, load_obelix
from mlsse.data.schema import CURATED_COLUMNS
from mlsse.data.seed import SEED_COLUMNS, load_seed, read_seed_table
from mlsse.errors import DataError
from mlsse.io import read_table
from mlsse.temperature import BOLTZMANN_EV_K, KELVIN_OFFSET, fit_arrhenius


def test_seed_table_has_every_series_point_with_explicit_composition():
    seed = read_seed_table()
    assert list(seed.columns) == SEED_COLUMNS
    lzc = seed[seed["dopant"].eq("N") & seed["dopant_site"].eq("Cl")].sort_values("dopant_level")
    assert lzc["dopant_level"].tolist() == [0.0, 0.05, 0.1, 0.15, 0.2, 0.25]
    for x, formula in zip(lzc["dopant_level"], lzc["composition"]):
        expected = Composition({"Li": 2 + 2 * x, "Zr": 1, "Cl": 6 - x, "N": x})
        assert Composition(formula).almost_equals(expected), formula
    best = lzc.loc[lzc["sigma_S_cm"].idxmax()]
    assert best["dopant_level"] == 0.15 and math.isclose(best["sigma_S_cm"], 1.5e-3)
    bto = seed[seed["additive"].eq("BaTiO3")]
    assert set(bto["additive_wt_pct"]) >= {0.0, 5.0}
    assert (bto["composition"] == "Li2.5Y0.5Zr0.5Cl6").all()


def test_seed_rows_carry_provenance_and_units():
    seed = read_seed_table()
    assert seed["source"].str.match(r"^00[024]_[0-9a-f]+\.txt ").all()
    assert seed["value_origin"].isin({"table", "text", "figure", "derived", "extrapolated-from-Arrhenius"}).all()
    assert (seed["sigma_S_cm"].dropna() > 0).all() and (seed["sigma_S_cm"].dropna() < 1).all()
    assert seed["ea_eV"].dropna().between(0, 2.5).all()
    for formula in seed["composition"][seed["composition"].ne("")]:
        Composition(formula)  # raises if pymatgen cannot parse it


def test_seed_review_tables_are_all_present():
    seed = read_seed_table()
    review = seed[seed["source"].str.startswith("002_")]
    for table in ("Table 1", "Table 2", "Table 3", "Table 4"):
        assert review["source"].str.contains(table).sum() >= 4, table
    assert review["synthesis"].ne("").mean() > 0.5


def test_seed_loader_keeps_only_measured_rows_with_compositions():
    frame, skipped = load_seed()
    assert list(frame.columns) == CURATED_COLUMNS
    assert frame["composition"].ne("").all() and frame["source"].eq("seed").all()
    reasons = " ".join(p.problem for p in skipped)
    assert "no composition for 'LiBPON'" in reasons
    assert "calculation value" in reasons
    assert all(p.line is not None for p in skipped)


def test_seed_bad_cell_is_reported_with_line_and_column(tmp_path):
    seed = read_table(__import__("mlsse.paths", fromlist=["x"]).DATASETS_DIR / "seed_literature.csv")
    seed.loc[3, "sigma_S_cm"] = "1.2e-3 S/cm"
    path = tmp_path / "seed.csv"
    seed.to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        read_seed_table(path)
    assert str(info.value) == f"{path}, line 5, column 'sigma_S_cm': '1.2e-3 S/cm' is not a number"


def test_obelix_loader_reads_all_rows_with_censoring_and_cifs(external_dir):
    frame, problems = load_obelix(external_dir)
    assert problems == []
    assert len(frame) == 478
    assert frame["censored"].sum() == 29
    assert sorted(frame.loc[frame["censored"], "sigma_S_cm"].value_counts().items()) == [(1e-10, 28), (1e-08, 1)]
    assert frame["cif"].ne("").sum() == 254
    assert frame["reference"].str.startswith("10.").all()
    first = frame.iloc[0]
    assert first["composition"] == "Li7BiO6" and first["space_group_number"] == 2
    assert math.isclose(first["log10_sigma"], math.log10(1.58489e-06))


def test_obelix_cif_parses_with_pymatgen(external_dir):
    frame, _ = load_obelix(external_dir)
    row = frame[frame["cif"].ne("")].iloc[0]
    structure = read_cif_structure(row["cif"])
    assert structure.composition.reduced_composition.almost_equals(Composition(row["composition"]).reduced_composition)


def test_liverpool_loader_parses_every_row_including_mixtures(external_dir):
    frame, problems = load_liverpool(external_dir)
    assert problems == []
    assert len(frame) == 670
    mixture = frame[frame["source_line"] == 52].iloc[0]
    expected = Composition("Li2S") * 0.5 + (Composition("P2S5") * 0.4 + Composition("Sb2S3") * 0.6) * 0.5
    assert Composition(mixture["composition"]).almost_equals(expected)
    assert frame["temperature_C"].max() > 200  # temperature-resolved


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataError, match=r"obelix_train.csv: file not found"):
        load_obelix(tmp_path)


def test_malformed_csv_names_file_and_line(tmp_path, external_dir):
    lines = (external_dir / LIVERPOOL_FILE).read_text(encoding="utf-8").splitlines()
    lines[9] = lines[9] + ",extra,cells"
    (tmp_path / LIVERPOOL_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_liverpool(tmp_path)
    assert info.value.line == 10 and info.value.problem == "the row has a value beyond the header's 8 columns"


def test_a_trailing_comma_does_not_shift_the_columns(tmp_path):
    # pandas would otherwise take the first column for the index and shift every name by one
    (tmp_path / "t.csv").write_text("composition,temperature_C\nLiCl,25,\nLi3PS4,100,\n", encoding="utf-8")
    frame = read_table(tmp_path / "t.csv")
    assert frame.columns.tolist() == ["composition", "temperature_C"]
    assert frame["composition"].tolist() == ["LiCl", "Li3PS4"] and frame["temperature_C"].tolist() == ["25", "100"]


def test_extra_fields_and_repeated_columns_are_refused(tmp_path):
    (tmp_path / "x.csv").write_text("composition,x\nLiCl,1,2\nLiBr,3\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_table(tmp_path / "x.csv")
    assert str(info.value) == f"{tmp_path / 'x.csv'}, line 2: the row has a value beyond the header's 2 columns"
    # empty extra fields (trailing commas, also only on a later row) are harmless; a blank first line shifts lines
    (tmp_path / "t.csv").write_text("\ncomposition,x\nLiCl,1\nLiBr,1,,\n", encoding="utf-8")
    assert read_table(tmp_path / "t.csv")["composition"].tolist() == ["LiCl", "LiBr"]
    (tmp_path / "t.csv").write_text("\ncomposition,x\nLiCl,1\nLiBr,1,5\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 4: the row has a value beyond the header's 2 columns"):
        read_table(tmp_path / "t.csv")
    (tmp_path / "d.csv").write_text("composition,composition\nLiCl,NaCl\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 1: column\(s\) 'composition' appear more than once"):
        read_table(tmp_path / "d.csv")


def test_a_missing_or_unreadable_cif_archive_is_a_problem_not_silence(tmp_path, external_dir):
    (tmp_path / OBELIX_FILE).symlink_to(external_dir / OBELIX_FILE)
    frame, problems = load_obelix(tmp_path)
    assert (frame["cif"] == "").all() and len(frame) == 478
    assert [str(p) for p in problems if "CIF archive" in str(p)] == [
        f"{tmp_path / 'obelix_train_cifs.tar.gz'}: CIF archive not found: OBELiX rows get no CIF"]
    (tmp_path / "obelix_train_cifs.tar.gz").write_bytes(b"garbage")
    frame, problems = load_obelix(tmp_path)
    assert any("CIF archive unreadable (" in str(p) for p in problems) and len(frame) == 478


def test_non_numeric_conductivity_is_reported_not_dropped(tmp_path, external_dir):
    raw = pd.read_csv(external_dir / LIVERPOOL_FILE, dtype=str, keep_default_na=False)
    raw.loc[4, "target"] = "high"
    raw.to_csv(tmp_path / LIVERPOOL_FILE, index=False)
    frame, problems = load_liverpool(tmp_path)
    assert len(frame) == 669
    assert [str(p) for p in problems] == [f"{tmp_path / LIVERPOOL_FILE}, line 6, column 'target': 'high' is not a number"]


def test_non_utf8_file_is_refused_with_a_clear_message(tmp_path, external_dir):
    text = (external_dir / OBELIX_FILE).read_text(encoding="utf-8")
    (tmp_path / OBELIX_FILE).write_bytes(text.replace("Li7BiO6", "Li7BiO6\u00e9").encode("latin-1", "replace"))
    with pytest.raises(DataError, match="not UTF-8"):
        load_obelix(tmp_path)


def test_arrhenius_fit_recovers_a_known_activation_energy():
    temperature = np.array([25.0, 60.0, 100.0, 150.0])
    kelvin = temperature + KELVIN_OFFSET  # σ = (A/T)·exp(−Ea/k_BT) with Ea 0.42 eV, log10 A = 5
    sigma = 10.0 ** (5.0 - 0.42 / (BOLTZMANN_EV_K * math.log(10.0) * kelvin)) / kelvin
    ea, log10_a, r2 = fit_arrhenius(temperature, sigma)
    assert math.isclose(ea, 0.42, abs_tol=1e-9) and math.isclose(log10_a, 5.0, abs_tol=1e-9)
    assert math.isclose(r2, 1.0, abs_tol=1e-12)
    # independent check of the slope: two points of log10(σT) vs 1/T
    t = temperature + 273.15
    slope = (np.log10(sigma[1] * t[1]) - np.log10(sigma[0] * t[0])) / (1 / t[1] - 1 / t[0])
    assert math.isclose(-slope * BOLTZMANN_EV_K * math.log(10), 0.42, rel_tol=1e-9)


def test_liverpool_materials_with_three_temperatures_get_fitted_ea(external_dir):
    frame, _ = load_liverpool(external_dir)
    fits = derive_activation_energies(frame)
    keys = frame.assign(k=frame["composition"].map(composition_key))
    expected = (keys.groupby(["k", "reference"])["temperature_C"].nunique() >= 3).sum()
    assert len(fits) == expected > 40
    assert fits["value_origin"].eq("arrhenius-fit").all()
    assert fits["arrhenius_r2"].between(-1, 1).all()
    assert fits["ea_eV"].median() == pytest.approx(0.44, abs=0.1)


def test_normalize_formula_handles_quotes_spaces_and_scaling():
    assert normalize_formula('"(LiCl)0.5 (P2O5)0.5"') == normalize_formula("(LiCl)0.5(P2O5)0.5")
    assert composition_key("FeO") == composition_key("Fe2O2") == composition_key("Fe0.5O0.5")
    with pytest.raises(ValueError):
        normalize_formula("Xx2O")


@pytest.mark.parametrize("label, family", [("Argyrodites", "argyrodite"), ("NASICON", "nasicon"),
                                           ("Anti-Perovskite", "anti-perovskite"), ("antiperovskite", "anti-perovskite"),
                                           (" thio-LISICON ", "thio-lisicon"), ("", "")])
def test_family_names_have_one_spelling(label, family):
    from mlsse.data.schema import family_name

    assert family_name(label) == family


def test_curated_cache_is_reused_until_an_input_changes(tmp_path, external_dir, monkeypatch):
    import mlsse.data.build as build

    external = tmp_path / "external"
    external.mkdir()
    for name in ("obelix_train.csv", "liverpool_ionics.csv", "laskowski_semi_formatted.csv", "laskowski_doi_lookup.csv"):
        lines = (external_dir / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (external / name).write_text("".join(lines[:120]), encoding="utf-8")
    (external / "obelix_train_cifs.tar.gz").symlink_to(external_dir / "obelix_train_cifs.tar.gz")
    first = build.load_curated(tmp_path / "cache", external_dir=external)

    def no_rebuild(**_):
        raise AssertionError("rebuilt although nothing changed")

    with monkeypatch.context() as patch:
        patch.setattr(build, "build_curated", no_rebuild)
        cached = build.load_curated(tmp_path / "cache", external_dir=external)
    pd.testing.assert_frame_equal(cached, first)
    # exactly, not within a tolerance: the table's SHA-256 is the data version a model records
    assert build.table_sha256(cached) == build.table_sha256(first)
    before = build.inputs_fingerprint(external)
    # Changed loading code: the fingerprint hashes the data layer's modules, here a copy with one edit.
    code = tmp_path / "data_code"
    shutil.copytree(Path(build.__file__).parent, code, ignore=shutil.ignore_patterns("__pycache__"))
    with open(code / "build.py", "a", encoding="utf-8") as handle:
        handle.write("# edited\n")
    with monkeypatch.context() as patch:
        patch.setattr(build, "__file__", str(code / "build.py"))
        assert build.inputs_fingerprint(external) != before
    # Changed input: the next load rebuilds.
    with open(external / "liverpool_ionics.csv", "a", encoding="utf-8") as handle:
        handle.write("\n")
    assert build.inputs_fingerprint(external) != before
    rebuilt = []
    real_build = build.build_curated
    with monkeypatch.context() as patch:
        patch.setattr(build, "build_curated", lambda **kw: rebuilt.append(1) or real_build(**kw))
        build.load_curated(tmp_path / "cache", external_dir=external)
    assert rebuilt == [1]
